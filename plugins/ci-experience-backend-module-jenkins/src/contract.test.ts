import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import {
  DEMO_REPOS,
  JENKINS_SIM_API_KEY,
  JENKINS_SIM_USER,
  JenkinsSimulator,
  SimulatedHistory,
  buildNumberOf,
  jenkinsNotification,
  parseTree,
  TreeField,
} from '@ci-experience/ci-simulator';
import { setupServer } from 'msw/node';
import { hostKeyOf } from './config';
import {
  BUILD_NAMES_READ,
  BUILD_READ,
  JOB_PARAMETERS_READ,
  JOB_READ,
  JsonType,
  NOTIFICATION_READ,
  ReadField,
  SOURCE_INFO_READ,
  TEST_REPORT_READ,
  WFAPI_LOG_READ,
  WFAPI_NODE_READ,
  WFAPI_RUN_READ,
} from './fields';
import { JenkinsProvider } from './JenkinsProvider';
import { TEST_REPORT_TREE } from './testReport';

const server = setupServer();
registerMswTestHooks(server);

const BASE = 'https://jenkins.example.com/ci';
const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
const history = new SimulatedHistory(DEMO_REPOS, { now: () => clock.now });
const sim = new JenkinsSimulator(history, { baseUrl: BASE });
const AUTH = `Basic ${Buffer.from(
  `${JENKINS_SIM_USER}:${JENKINS_SIM_API_KEY}`,
).toString('base64')}`;

const fixture = (name: string) => require(`./__fixtures__/${name}`);
const typeOf = (v: unknown): JsonType =>
  v === null ? 'null' : (typeof v as JsonType);

/** Every value at a path (`a[].b`), through every element of every list. */
function valuesAt(root: unknown, path: string): unknown[] {
  let current: unknown[] = [root];
  for (const part of path.split('.')) {
    const list = part.endsWith('[]');
    const name = list ? part.slice(0, -2) : part;
    const next: unknown[] = [];
    for (const value of current) {
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        const own = (value as Record<string, unknown>)[name];
        if (own === undefined) continue;
        if (list) {
          if (Array.isArray(own)) next.push(...own);
        } else {
          next.push(own);
        }
      }
    }
    current = next;
  }
  return current;
}

/**
 * Checks a field over answers: wherever it is there, it has one of its
 * types; `required` says it must be there at least once.
 */
function check(fields: ReadField[], answers: unknown[], required: boolean) {
  const missing: string[] = [];
  for (const field of fields) {
    const values = answers.flatMap(a => valuesAt(a, field.path));
    for (const value of values) {
      expect({ path: field.path, type: typeOf(value) }).toEqual({
        path: field.path,
        type: expect.toBeOneOf(field.types),
      });
    }
    if (!values.some(v => field.types.includes(typeOf(v)))) {
      missing.push(field.path);
    }
  }
  if (required) {
    expect(missing).toEqual([]);
  }
  return missing;
}

expect.extend({
  toBeOneOf(received: unknown, expected: unknown[]) {
    const pass = expected.includes(received);
    return {
      pass,
      message: () => `${received} is not one of ${expected.join(', ')}`,
    };
  },
});
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    interface Expect {
      toBeOneOf(expected: unknown[]): unknown;
    }
  }
}

async function simGet(path: string): Promise<unknown> {
  const response = await fetch(`${BASE}/${path}`, {
    headers: { authorization: AUTH },
  });
  expect(response.status).toBe(200);
  return response.json();
}

/** The endpoints, their fields, the fixtures that record them. */
const ENDPOINTS: Array<{
  name: string;
  fields: ReadField[];
  recorded: string[];
  handWritten: string[];
  /** Fields only the hand-written fixtures have, said out loud. */
  onlyHandWritten: string[];
  sim: () => Promise<unknown[]>;
}> = [
  {
    name: 'build',
    fields: [...BUILD_READ, ...BUILD_NAMES_READ],
    recorded: ['build-time-in-queue.json', 'build-parameters.json'],
    handWritten: [],
    onlyHandWritten: [],
    sim: async () => {
      const spec = history.repo('demo-org', 'checkout-web')!;
      const runs = history.listRuns(spec);
      // A first build (an SCM cause) and a rebuild (a user's cause).
      const first = runs.find(r => r.status === 'completed')!;
      const again = runs.find(r => r.status === 'completed' && r.attempt > 1)!;
      return [
        await simGet(
          `job/demo-org/job/checkout-web/${buildNumberOf(first)}/api/json`,
        ),
        await simGet(
          `job/demo-org/job/checkout-web/${buildNumberOf(again)}/api/json`,
        ),
      ];
    },
  },
  {
    name: 'job',
    fields: JOB_READ,
    recorded: ['job-parameters.json'],
    handWritten: ['job.json', 'multibranch.json', 'folder.json'],
    // cdancy's recording is of a Jenkins older than `_class` (2.x), and of
    // a plain job (no `jobs`).
    onlyHandWritten: ['_class', 'jobs[].name', 'jobs[].url'],
    sim: async () => {
      // A moment when the newest build still waits in the queue.
      const spec = history.repo('demo-org', 'checkout-web')!;
      const saved = clock.now;
      try {
        clock.now = history.listRuns(spec)[0].createdAt + 1000;
        return [
          await simGet('job/demo-org/job/checkout-web/api/json'),
          await simGet('job/demo-org/job/payments-service/api/json'),
        ];
      } finally {
        clock.now = saved;
      }
    },
  },
  {
    name: 'source info',
    fields: SOURCE_INFO_READ,
    recorded: [],
    handWritten: ['multibranch.json', 'job.json'],
    onlyHandWritten: SOURCE_INFO_READ.map(f => f.path),
    sim: async () => [
      await simGet('job/demo-org/job/payments-service/api/json'),
      await simGet('job/demo-org/job/checkout-web/api/json'),
    ],
  },
  {
    name: 'job parameters',
    fields: JOB_PARAMETERS_READ,
    recorded: ['job-parameters.json'],
    handWritten: [],
    onlyHandWritten: [],
    // The simulated jobs take no parameters: not asked of the simulator.
    sim: async () => [],
  },
  {
    name: 'wfapi run',
    fields: WFAPI_RUN_READ,
    recorded: ['wfapi-describe.json'],
    handWritten: [],
    onlyHandWritten: [],
    sim: async () => {
      const spec = history.repo('demo-org', 'checkout-web')!;
      const run = history.listRuns(spec).find(r => r.status === 'completed')!;
      return [
        await simGet(
          `job/demo-org/job/checkout-web/${buildNumberOf(run)}/wfapi/describe`,
        ),
      ];
    },
  },
  {
    name: 'wfapi stage node',
    fields: WFAPI_NODE_READ,
    recorded: ['wfapi-node-describe.json', 'wfapi-node-describe-failed.json'],
    handWritten: [],
    onlyHandWritten: [],
    sim: async () => {
      const spec = history.repo('demo-org', 'checkout-web')!;
      const run = history.listRuns(spec).find(r => r.status === 'completed')!;
      return [
        await simGet(
          `job/demo-org/job/checkout-web/${buildNumberOf(
            run,
          )}/execution/node/6/wfapi/describe`,
        ),
      ];
    },
  },
  {
    name: 'wfapi log',
    fields: WFAPI_LOG_READ,
    recorded: ['wfapi-node-log.json'],
    handWritten: [],
    onlyHandWritten: [],
    sim: async () => {
      const spec = history.repo('demo-org', 'checkout-web')!;
      const run = history.listRuns(spec).find(r => r.status === 'completed')!;
      return [
        await simGet(
          `job/demo-org/job/checkout-web/${buildNumberOf(
            run,
          )}/execution/node/7/wfapi/log`,
        ),
      ];
    },
  },
  {
    name: 'test report',
    fields: TEST_REPORT_READ,
    recorded: ['test-report.json'],
    handWritten: ['test-report-blueocean.json'],
    // jenkinsapi's recording (of a 2013 Jenkins) has no skippedMessage.
    onlyHandWritten: ['suites[].cases[].skippedMessage'],
    sim: async () => {
      // A build whose tests ran with one failing, and one where all passed
      // (with the tree= the provider sends).
      const spec = history.repo('demo-org', 'checkout-web')!;
      const runs = history.listRuns(spec);
      const failed = runs.find(r => r.jobs.some(j => j.failedTests?.length))!;
      const passed = runs.find(r => r.conclusion === 'success')!;
      return Promise.all(
        [failed, passed].map(run =>
          simGet(
            `job/demo-org/job/checkout-web/${buildNumberOf(
              run,
            )}/testReport/api/json?tree=${encodeURIComponent(
              TEST_REPORT_TREE,
            )}`,
          ),
        ),
      );
    },
  },
  {
    name: 'Notification plugin delivery',
    fields: NOTIFICATION_READ,
    recorded: [],
    handWritten: ['notification.json'],
    onlyHandWritten: NOTIFICATION_READ.map(f => f.path),
    sim: async () => {
      const spec = history.repo('demo-org', 'checkout-web')!;
      const run = history.listRuns(spec).find(r => r.status === 'completed')!;
      return [jenkinsNotification(sim, spec, run, 'COMPLETED')];
    },
  },
];

describe('Jenkins contract: the fields the provider reads', () => {
  beforeEach(() => server.use(...sim.handlers()));

  it.each(ENDPOINTS.map(e => [e.name, e] as const))(
    '%s: every field is in the recordings (or said to be only in hand-written fixtures / the source), with its JSON type',
    (_name, endpoint) => {
      const recorded = endpoint.recorded.map(fixture);
      const written = endpoint.handWritten.map(fixture);
      const missing = check(endpoint.fields, recorded, false);
      const sourceOnly = endpoint.fields
        .filter(f => f.sourceOnly)
        .map(f => f.path);
      // Missing from the recordings: only fields said to be so, and every
      // field said to be only hand-written is (the list stays honest).
      expect(
        missing.filter(
          p => !endpoint.onlyHandWritten.includes(p) && !sourceOnly.includes(p),
        ),
      ).toEqual([]);
      expect(
        endpoint.onlyHandWritten.filter(p => !missing.includes(p)),
      ).toEqual([]);
      // What the hand-written fixtures stand in for, they have.
      check(
        endpoint.fields.filter(f => endpoint.onlyHandWritten.includes(f.path)),
        written,
        true,
      );
    },
  );

  it.each(
    ENDPOINTS.filter(e => e.name !== 'job parameters').map(
      e => [e.name, e] as const,
    ),
  )(
    '%s: the simulator answers every field with the same JSON type',
    async (_name, endpoint) => {
      const answers = await endpoint.sim();
      expect(answers.length).toBeGreaterThan(0);
      check(endpoint.fields, answers, true);
    },
  );

  it('asks Jenkins (tree=) for no field the lists do not name', async () => {
    const provider = new JenkinsProvider({
      instances: [
        {
          name: 'main',
          baseUrl: BASE,
          username: JENKINS_SIM_USER,
          apiKey: JENKINS_SIM_API_KEY,
          hostKey: hostKeyOf(BASE),
        },
      ],
      logger: mockServices.logger.mock(),
    });
    sim.resetStats();
    const src = (name: string) => ({
      provider: 'jenkins',
      key: `jenkins:${hostKeyOf(BASE)}/${name}`,
      source: name,
      host: hostKeyOf(BASE),
    });
    for (const name of ['demo-org/checkout-web', 'demo-org/payments-service']) {
      await provider.getSourceInfo(src(name));
      const { runs, nextPage } = await provider.listRuns(src(name), {});
      await provider.listRuns(src(name), { page: nextPage });
      const done = runs.find(r => r.status !== 'queued')!;
      await provider.getRun(src(name), done.providerRunId, 1);
      await provider.runActions(src(name), {
        ...done,
        attempt: 1,
      });
      await provider.getTestResults(
        src(name),
        { ...done, attempt: 1 },
        { jobs: [], artifactGlobs: [], maxBytes: 1_000_000 },
      );
    }
    const listed = new Set(
      [
        ...BUILD_READ.map(f => `builds[].${f.path}`),
        ...BUILD_READ.map(f => `jobs[].builds[].${f.path}`),
        ...BUILD_READ,
        ...BUILD_NAMES_READ,
        ...JOB_READ,
        ...SOURCE_INFO_READ,
        ...JOB_PARAMETERS_READ,
        ...TEST_REPORT_READ,
      ].map(f => (typeof f === 'string' ? f : f.path).replace(/\[\]/g, '')),
    );
    const asked = new Set<string>();
    for (const request of sim.stats.requests) {
      const tree = new URL(
        `https://x${request.split(' ')[1]}`,
      ).searchParams.get('tree');
      if (!tree) continue;
      const walk = (fields: TreeField[], prefix: string) => {
        for (const field of fields) {
          const path = `${prefix}${field.name}`;
          if (field.children) {
            walk(field.children, `${path}.`);
          } else if (field.name !== '_class' || prefix === '') {
            asked.add(path);
          }
        }
      };
      walk(parseTree(tree), '');
    }
    expect(asked.size).toBeGreaterThan(10);
    expect(
      sim.stats.requests.filter(r => r.includes('/testReport/api/json?tree=')),
    ).toHaveLength(2);
    expect([...asked].filter(p => !listed.has(p))).toEqual([]);
  });
});
