import { registerMswTestHooks } from '@backstage/backend-test-utils';
import {
  CIRCLECI_SIM_TOKEN,
  CircleciSimulator,
  DEMO_REPOS,
  SimulatedHistory,
} from '@ci-experience/ci-simulator';
import { setupServer } from 'msw/node';
import {
  jsonAt as at,
  jsonTypeOf as typeOf,
} from '@ci-experience/plugin-ci-experience-node/testUtils';
import openapi from './__fixtures__/openapi-v2-excerpt.json';
import v1Job from './__fixtures__/v1.1-single-job.json';
import v1Tests from './__fixtures__/v1.1-tests-example.json';
import { CIRCLECI_READ_FIELDS } from './mapping';

const server = setupServer();
registerMswTestHooks(server);

type Group = keyof typeof CIRCLECI_READ_FIELDS;

function mismatches(group: Group, object: unknown): string[] {
  return Object.entries(CIRCLECI_READ_FIELDS[group])
    .filter(([path, type]) => typeOf(at(object, path)) !== type)
    .map(
      ([path, type]) =>
        `${group}.${path}: want ${type}, got ${typeOf(at(object, path))}`,
    );
}

/** The JSON type an OpenAPI property schema describes (`integer` is a number). */
function schemaType(schema: any): string | undefined {
  if (!schema) return undefined;
  if (schema.type === 'integer') return 'number';
  if (schema.description && Object.keys(schema).length === 1) {
    // Left untyped by the description (job `status`): any type is its.
    return 'untyped';
  }
  if (schema.type) return schema.type;
  // `status` has no type in the description, only an enum of strings.
  const values = schema.enum ?? schema.oneOf?.flatMap((s: any) => s.enum);
  return values?.every((v: unknown) => typeof v === 'string')
    ? 'string'
    : undefined;
}

const responseSchema = (path: string): any =>
  (openapi.paths as any)[path].get.responses['200'].content['application/json']
    .schema;

describe('CircleCI contract: fields read vs the published descriptions and the simulator', () => {
  it.each([
    [
      'workflowJob',
      responseSchema('/workflow/{id}/job').properties.items.items,
    ],
    ['jobDetails', responseSchema('/project/{project-slug}/job/{job-number}')],
    [
      'jobTest',
      responseSchema('/project/{project-slug}/{job-number}/tests').properties
        .items.items,
    ],
  ] as Array<[Group, any]>)(
    'the %s fields read are in the OpenAPI description with their JSON types',
    (group, schema) => {
      const wrong = Object.entries(CIRCLECI_READ_FIELDS[group])
        .filter(([path, type]) => {
          const t = schemaType(schema.properties[path]);
          return t !== type && t !== 'untyped';
        })
        .map(([path]) => path);
      expect(wrong).toEqual([]);
    },
  );

  it('the v1.1 job details fields read are in the published example', () => {
    expect(mismatches('v1Job', v1Job)).toEqual([]);
    for (const step of v1Job.steps) {
      expect(mismatches('v1Step', step)).toEqual([]);
      expect(mismatches('v1Action', step.actions[0])).toEqual([]);
    }
  });

  it('the test fields read are in the published example of the same items (API v1.1), message nullable', () => {
    const [first, second] = v1Tests.tests;
    expect(mismatches('jobTest', first)).toEqual([]);
    // `x-nullable` in the OpenAPI description: CircleCI sends null too.
    expect(mismatches('jobTest', second)).toEqual([
      'jobTest.message: want string, got null',
    ]);
  });

  it('the simulator answers the same endpoints with the same fields and types', async () => {
    const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
    const history = new SimulatedHistory(DEMO_REPOS, { now: () => clock.now });
    const sim = new CircleciSimulator(history);
    server.use(...sim.handlers());
    const get = async (url: string) =>
      (
        await fetch(url, { headers: { 'circle-token': CIRCLECI_SIM_TOKEN } })
      ).json();
    const v2 = 'https://circleci.com/api/v2';
    const pipelines = await get(
      `${v2}/project/gh/demo-org/payments-service/pipeline`,
    );
    let found: any;
    for (const p of pipelines.items) {
      const workflows = await get(`${v2}/pipeline/${p.id}/workflow`);
      const done = workflows.items.find((w: any) => w.status === 'success');
      if (!done) continue;
      const jobs = await get(`${v2}/workflow/${done.id}/job`);
      found = jobs.items.find((j: any) => j.dependencies.length > 0);
      if (found) break;
    }
    expect(found).toBeDefined();
    expect(mismatches('workflowJob', found)).toEqual([]);
    const details = await get(
      `${v2}/project/gh/demo-org/payments-service/job/${found.job_number}`,
    );
    expect(mismatches('jobDetails', details)).toEqual([]);
    const v1 = await get(
      `https://circleci.com/api/v1.1/project/github/demo-org/payments-service/${found.job_number}`,
    );
    expect(mismatches('v1Job', v1)).toEqual([]);
    for (const step of v1.steps) {
      expect(mismatches('v1Step', step)).toEqual([]);
      expect(mismatches('v1Action', step.actions[0])).toEqual([]);
    }

    // The tests of a job that ran them (checkout-web's unit tests, one
    // failing): every item, passed, failed or skipped, has the fields read,
    // in the answer's documented shape.
    let tested: any;
    let pageToken: string | null = null;
    for (let i = 0; !tested && i < 10; i++) {
      const page: any = await get(
        `${v2}/project/gh/demo-org/checkout-web/pipeline${
          pageToken ? `?page-token=${pageToken}` : ''
        }`,
      );
      for (const p of page.items) {
        const workflows = await get(`${v2}/pipeline/${p.id}/workflow`);
        for (const w of workflows.items) {
          const jobs = await get(`${v2}/workflow/${w.id}/job`);
          tested = jobs.items.find(
            (j: any) => j.name === 'unit-tests' && j.status === 'failed',
          );
          if (tested) break;
        }
        if (tested) break;
      }
      pageToken = page.next_page_token;
    }
    expect(tested).toBeDefined();
    const schema = responseSchema('/project/{project-slug}/{job-number}/tests');
    const items: any[] = [];
    let token: string | null = null;
    do {
      const page: any = await get(
        `${v2}/project/gh/demo-org/checkout-web/${tested.job_number}/tests${
          token ? `?page-token=${token}` : ''
        }`,
      );
      expect(Object.keys(page).sort()).toEqual([...schema.required].sort());
      items.push(...page.items);
      token = page.next_page_token;
    } while (token);
    expect(new Set(items.map(i => i.result))).toEqual(
      new Set(['success', 'failure', 'skipped']),
    );
    for (const item of items) {
      expect(mismatches('jobTest', item)).toEqual([]);
      expect(Object.keys(item).sort()).toEqual(
        [...schema.properties.items.items.required].sort(),
      );
    }
  });
});
