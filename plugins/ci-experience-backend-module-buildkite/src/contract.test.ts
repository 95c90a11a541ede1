import { registerMswTestHooks } from '@backstage/backend-test-utils';
import {
  BuildkiteSimulator,
  DEMO_REPOS,
  SimulatedHistory,
} from '@ci-experience/ci-simulator';
import { setupServer } from 'msw/node';
import {
  jsonAt as at,
  jsonTypeOf as typeOf,
} from '@ci-experience/plugin-ci-experience-node/testUtils';
import docsArtifacts from './__fixtures__/docs-build-artifacts.json';
import getBuild from './__fixtures__/docs-get-build.json';
import triggerJob from './__fixtures__/docs-trigger-job.json';
import unblockedJob from './__fixtures__/docs-unblocked-job.json';
import roadieBuild137 from './__fixtures__/roadie-build-137.json';
import roadiePipeline from './__fixtures__/roadie-pipeline.json';
import { BUILDKITE_READ_FIELDS, buildkiteArtifactSchema } from './mapping';

const server = setupServer();
registerMswTestHooks(server);

const API = 'https://api.buildkite.com/v2';
const TOKEN = 'bkua_contract_token';

/** The fields of `group` whose value in `object` is missing or of another JSON type. */
function mismatches(
  group: keyof typeof BUILDKITE_READ_FIELDS,
  object: unknown,
): string[] {
  return Object.entries(BUILDKITE_READ_FIELDS[group])
    .filter(([path, type]) => typeOf(at(object, path)) !== type)
    .map(
      ([path, type]) =>
        `${group}.${path}: want ${type}, got ${typeOf(at(object, path))}`,
    );
}

/** The recorded or published object of each kind the provider reads. */
const recorded = {
  build: getBuild,
  job: getBuild.jobs[0],
  manual: unblockedJob,
  waiter: roadieBuild137.jobs.find(j => j.type === 'waiter'),
  trigger: triggerJob,
  pipeline: roadiePipeline,
};

describe('Buildkite contract: fields read vs recordings and simulator', () => {
  it.each(Object.keys(BUILDKITE_READ_FIELDS))(
    'the %s fields read are in the recorded/published fixture with their JSON types',
    group => {
      const g = group as keyof typeof BUILDKITE_READ_FIELDS;
      expect(mismatches(g, recorded[g])).toEqual([]);
    },
  );

  it('the simulator answers the same endpoints with the same fields and types', async () => {
    const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
    const history = new SimulatedHistory(DEMO_REPOS, {
      now: () => clock.now,
      historyMs: 48 * 60 * 60_000,
    });
    const sim = new BuildkiteSimulator(history, {
      apiBaseUrl: API,
      token: TOKEN,
    });
    server.use(...sim.handlers());
    const get = async (path: string) =>
      (
        await fetch(path.startsWith('http') ? path : `${API}${path}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).json();
    const pipeline = await get(
      '/organizations/demo-org/pipelines/payments-service',
    );
    const builds: any[] = await get(
      '/organizations/demo-org/pipelines/payments-service/builds?per_page=100',
    );
    const finished = builds.filter(
      b => b.state === 'passed' && b.jobs.length > 1 && b.creator,
    );
    const jobs = finished.flatMap(b => b.jobs);
    const answer = {
      build: finished[0],
      job: jobs.find(j => j.type === 'script' && j.group_key),
      manual: jobs.find(j => j.type === 'manual'),
      waiter: jobs.find(j => j.type === 'waiter'),
      trigger: jobs.find(j => j.type === 'trigger' && j.state === 'passed'),
      pipeline,
    };
    for (const group of Object.keys(BUILDKITE_READ_FIELDS)) {
      const g = group as keyof typeof BUILDKITE_READ_FIELDS;
      expect(answer[g]).toBeDefined();
      expect(mismatches(g, answer[g])).toEqual([]);
    }

    // The artifacts of a build whose tests ran (getTestResults): the
    // docs' artifact fields, in their order, each with the docs' JSON
    // type; those the provider reads (its schema's) among them.
    const tested = finished.find(b =>
      b.jobs.some((j: any) => j.step_key === 'test'),
    );
    const artifacts: any[] = await get(
      `/organizations/demo-org/pipelines/payments-service/builds/${tested.number}/artifacts`,
    );
    expect(artifacts.length).toBeGreaterThan(0);
    const [published] = docsArtifacts;
    expect(
      Object.keys(buildkiteArtifactSchema.shape).filter(k => !(k in published)),
    ).toEqual([]);
    for (const artifact of artifacts) {
      expect(Object.keys(artifact)).toEqual(Object.keys(published));
      expect(
        Object.entries(published)
          .filter(
            ([key, value]) =>
              typeOf(artifact[key]) !== typeOf(value) &&
              // Null in the docs' example: a string when set.
              !(value === null && typeOf(artifact[key]) === 'string'),
          )
          .map(([key]) => key),
      ).toEqual([]);
    }
  });
});
