import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { ServiceUnavailableError } from '@backstage/errors';
import {
  CiRunRef,
  CiSource,
  CiTestCaseResult,
  CiTestResultsContext,
} from '@ci-experience/plugin-ci-experience-node';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { CircleciProvider } from './CircleciProvider';
import { circleciTestSchema, CircleciJob, toJob, toTestCase } from './mapping';
import mcpTests from './__fixtures__/mcp-server-circleci-tests.json';
import openapi from './__fixtures__/openapi-v2-excerpt.json';
import v1Tests from './__fixtures__/v1.1-tests-example.json';

const server = setupServer();
registerMswTestHooks(server);

const API = 'https://circleci.com/api/v2';
const WORKFLOW = 'fda08377-fe7e-46b1-8992-3a7aaecac9c3';
const src: CiSource = {
  provider: 'circleci',
  key: 'circleci:circleci.com/gh/o/r',
  source: 'gh/o/r',
  host: 'circleci.com',
};
const run: CiRunRef = {
  providerRunId: WORKFLOW,
  attempt: 1,
  runNumber: 130,
  workflow: 'build-test-deploy',
  url: `https://app.circleci.com/pipelines/github/o/r/130/workflows/${WORKFLOW}`,
};

/** CircleCI's published and CircleCI-written answers (see __fixtures__/README.md). */
const published = v1Tests.tests;
const mcpJobTests = mcpTests['src/tools/getJobTestResults/handler.test.ts'];
const mcpFlakyTests = mcpTests['src/tools/getFlakyTests/handler.test.ts'];

function create() {
  const logger = mockServices.logger.mock();
  const provider = new CircleciProvider({
    apiToken: 'CCIPAT_test_token',
    apiBaseUrl: API,
    appBaseUrl: 'https://app.circleci.com',
    limits: { requestsPerHour: 100_000, maxConcurrency: 4 },
    logger,
  });
  return { provider, logger };
}

/** A job as `listJobs` stores it: through `toJob`, the mapping it uses. */
function stored(
  name: string,
  jobNumber: number | undefined,
  type = 'build',
  status = 'success',
) {
  const job: CircleciJob = {
    id: `0b0c0d0e-0000-4000-8000-${String(jobNumber ?? 0).padStart(12, '0')}`,
    name,
    status,
    type,
    job_number: jobNumber,
    started_at: jobNumber ? '2026-11-01T22:49:05Z' : undefined,
    stopped_at: jobNumber ? '2026-11-01T22:49:30Z' : undefined,
    dependencies: [],
  };
  return toJob(
    job,
    { appBaseUrl: 'https://app.circleci.com', slug: src.source },
    run.runNumber,
    WORKFLOW,
  );
}

function context(jobs: ReturnType<typeof stored>[]): CiTestResultsContext {
  return { jobs, artifactGlobs: [], maxBytes: 50 * 1024 * 1024 };
}

/** Serves `GET /project/gh/o/r/{number}/tests`, recording each request. */
function serveTests(
  answer: (number: string, pageToken: string | null) => Response,
) {
  const requests: string[] = [];
  server.use(
    http.get(`${API}/project/gh/o/r/:number/tests`, ({ request, params }) => {
      const url = new URL(request.url);
      requests.push(`${url.pathname}${url.search}`);
      return answer(String(params.number), url.searchParams.get('page-token'));
    }),
  );
  return requests;
}

function countByStatus(cases: CiTestCaseResult[]) {
  const counts: Record<string, number> = {};
  for (const c of cases) {
    counts[c.status] = (counts[c.status] ?? 0) + 1;
  }
  return counts;
}

describe('CircleciProvider.getTestResults', () => {
  it("reads each numbered job's tests page by page, as cases of a suite named after the job", async () => {
    const { provider } = create();
    const requests = serveTests((number, token) => {
      if (number === '102') {
        return HttpResponse.json({ message: 'Job not found' }, { status: 404 });
      }
      return token === null
        ? HttpResponse.json({
            items: [...published, ...mcpJobTests],
            next_page_token: 'page-2',
          })
        : HttpResponse.json({ items: mcpFlakyTests, next_page_token: null });
    });
    const jobs = [
      stored('test', 101),
      stored('hold', 103, 'approval'),
      stored('lint', 102),
      stored('deploy', undefined, 'build', 'blocked'),
    ];
    expect(jobs.map(j => j.url !== undefined)).toEqual([
      true,
      true,
      true,
      false,
    ]);

    const results = await provider.getTestResults(src, run, context(jobs));

    // Two pages of job 101, job 102 (404, left out); not the approval, not
    // the job that never ran.
    expect(requests).toEqual([
      '/api/v2/project/gh/o/r/101/tests',
      '/api/v2/project/gh/o/r/101/tests?page-token=page-2',
      '/api/v2/project/gh/o/r/102/tests',
    ]);
    expect(results).toBeDefined();
    const cases = (results as { cases: CiTestCaseResult[] }).cases;
    expect(countByStatus(cases)).toEqual({ passed: 3, failed: 4 });
    expect(cases).toEqual([
      {
        suite: 'test',
        name: 'Accepting an invitation',
        classname: 'Invitations',
        file: 'features/desktop/invitations.feature',
        status: 'passed',
        durationMs: 2958,
      },
      {
        suite: 'test',
        name: 'Webfinger#intialize sets account ',
        classname: 'spec.lib.webfinger_spec',
        file: 'spec/lib/webfinger_spec.rb',
        status: 'passed',
        durationMs: 11,
      },
      // A pass keeps no message, though CircleCI gives one ("No failures").
      {
        suite: 'test',
        name: 'should pass test 1',
        classname: 'TestClass1',
        file: 'src/test1.js',
        status: 'passed',
        durationMs: 500,
      },
      {
        suite: 'test',
        name: 'should fail test 2',
        classname: 'TestClass2',
        file: 'src/test2.js',
        status: 'failed',
        durationMs: 300,
        message: 'Test failed',
        output: 'Test failed',
      },
      {
        suite: 'test',
        name: 'should fail test 3',
        classname: 'TestClass3',
        file: 'src/test3.js',
        status: 'failed',
        durationMs: 400,
        message: 'Test failed',
        output: 'Test failed',
      },
      // Page 2; `run_time` as a string, as CircleCI's own client accepts it.
      {
        suite: 'test',
        name: 'flakyTest',
        classname: 'TestClass',
        file: 'path/to/file.js',
        status: 'failed',
        durationMs: 1500,
        message: 'Test failure message',
        output: 'Test failure message',
      },
      {
        suite: 'test',
        name: 'anotherFlakyTest',
        classname: 'AnotherClass',
        file: 'path/to/another.js',
        status: 'failed',
        durationMs: 2100,
        message: 'Another test failure',
        output: 'Another test failure',
      },
    ]);
  });

  it('answers undefined when no job has tests, and asks nothing of a run without numbered jobs', async () => {
    const { provider } = create();
    const requests = serveTests(number =>
      number === '102'
        ? HttpResponse.json({ message: 'Job not found' }, { status: 404 })
        : HttpResponse.json({ items: [], next_page_token: null }),
    );
    await expect(
      provider.getTestResults(
        src,
        run,
        context([stored('build', 101), stored('test', 102)]),
      ),
    ).resolves.toBeUndefined();
    expect(requests).toHaveLength(2);

    requests.length = 0;
    await expect(
      provider.getTestResults(
        src,
        run,
        context([
          stored('hold', undefined, 'approval', 'on_hold'),
          stored('deploy', undefined, 'build', 'blocked'),
        ]),
      ),
    ).resolves.toBeUndefined();
    await expect(
      provider.getTestResults(src, run, context([])),
    ).resolves.toBeUndefined();
    expect(requests).toEqual([]);
  });

  it("reads at most 20 pages of a job's tests", async () => {
    const { provider, logger } = create();
    let page = 0;
    const requests = serveTests(() => {
      page += 1;
      return HttpResponse.json({
        items: [{ ...mcpJobTests[0], name: `test ${page}` }],
        next_page_token: `page-${page + 1}`,
      });
    });
    const results = await provider.getTestResults(
      src,
      run,
      context([stored('test', 101)]),
    );
    expect(requests).toHaveLength(20);
    expect(results && 'cases' in results ? results.cases : []).toHaveLength(20);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining(
        'Read the first 20 pages of the tests of job 101 of project gh/o/r',
      ),
    );
  });

  it('fails on an outage, so that the read is tried again', async () => {
    const { provider } = create();
    serveTests(() => HttpResponse.text('oops', { status: 502 }));
    const error = await provider
      .getTestResults(src, run, context([stored('test', 101)]))
      .catch(e => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error.message).toContain('gh/o/r');
    expect(error.message).not.toContain('CCIPAT_test_token');
  });

  it('drops items without a name or of another shape, with a log line', async () => {
    const { provider, logger } = create();
    // The OpenAPI description's example of an item: every field "".
    const schema =
      openapi.paths['/project/{project-slug}/{job-number}/tests'].get.responses[
        '200'
      ].content['application/json'].schema;
    const documented = Object.fromEntries(
      Object.entries(schema.properties.items.items.properties).map(
        ([key, value]) => [key, (value as { example?: unknown }).example],
      ),
    );
    expect(documented).toEqual({
      message: '',
      source: '',
      run_time: '',
      file: '',
      result: '',
      name: '',
      classname: '',
    });
    serveTests(() =>
      HttpResponse.json({
        items: [documented, { result: 'success' }, published[0]],
        next_page_token: null,
      }),
    );
    const results = await provider.getTestResults(
      src,
      run,
      context([stored('test', 101)]),
    );
    expect(
      results && 'cases' in results ? results.cases.map(c => c.name) : [],
    ).toEqual(['Accepting an invitation']);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining(
        'Skipped 2 CircleCI test(s) without a name or of an unexpected shape in the tests of job 101',
      ),
    );
  });
});

describe('toTestCase', () => {
  const failure = circleciTestSchema.parse(mcpJobTests[1]);

  it.each([
    ['success', 'passed'],
    ['system-out', 'passed'],
    ['failure', 'failed'],
    ['error', 'error'],
    ['skipped', 'skipped'],
  ])('maps the result %s to %s', (result, status) => {
    expect(toTestCase({ ...failure, result }, 'job')?.status).toBe(status);
  });

  it('keeps a message for failures, errors and skips, the output for failures and errors', () => {
    expect(toTestCase({ ...failure, result: 'skipped' }, 'job')).toMatchObject({
      message: 'Test failed',
    });
    expect(
      toTestCase({ ...failure, result: 'skipped' }, 'job'),
    ).not.toHaveProperty('output');
    expect(toTestCase({ ...failure, result: 'error' }, 'job')).toMatchObject({
      message: 'Test failed',
      output: 'Test failed',
    });
  });

  it('takes the first line of a long message, keeping the whole as output', () => {
    const message =
      '\nexpected: <1> but was: <2>\n\tat example.ExampleTests.failsAssertionAlways(ExampleTests.java:12)\n';
    expect(toTestCase({ ...failure, message }, 'job')).toMatchObject({
      message: 'expected: <1> but was: <2>',
      output: message.trim(),
    });
    const long = 'x'.repeat(1_500);
    expect(
      toTestCase({ ...failure, message: long }, 'job')?.message,
    ).toHaveLength(1_000);
  });

  it('keeps a test of an unknown result as an error that names it', () => {
    expect(toTestCase({ ...failure, result: 'mystery' }, 'job')).toMatchObject({
      status: 'error',
      message: 'CircleCI reported the result "mystery"',
      output: 'Test failed',
    });
    expect(
      toTestCase({ ...failure, result: 'constructor' }, 'job')?.status,
    ).toBe('error');
  });

  it('leaves out a duration it cannot read', () => {
    for (const runTime of ['', 'soon', -1, null]) {
      expect(
        toTestCase({ ...failure, run_time: runTime }, 'job'),
      ).not.toHaveProperty('durationMs');
    }
  });
});
