import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { setupServer } from 'msw/node';
import { BuildkiteSimulator } from '../buildkite';
import { CIRCLECI_SIM_TOKEN, CircleciSimulator } from '../circleci';
import { example } from '../examples';
import { GitlabSimulator } from '../gitlab';
import { GithubSimulator } from '../handlers';
import {
  DEMO_REPOS,
  INVENTORY_INTEGRATION_TESTS,
  isBrokenAt,
  SimRepoSpec,
  SimRunAttempt,
  SimulatedHistory,
} from '../history';
import {
  buildNumberOf,
  JENKINS_SIM_API_KEY,
  JENKINS_SIM_USER,
  JenkinsSimulator,
} from '../jenkins';
import { jobTestReport } from './report';
import { zipOf } from './zip';

const GITHUB = 'https://api.github.com';
const GITLAB = 'https://gitlab.com/api/v4';
const JENKINS = 'https://jenkins.example.com';
const BUILDKITE = 'https://api.buildkite.com/v2';
const CIRCLECI = 'https://circleci.com/api/v2';
const BK_TOKEN = 'bkua_simulator_token';
const JENKINS_AUTH = `Basic ${Buffer.from(
  `${JENKINS_SIM_USER}:${JENKINS_SIM_API_KEY}`,
).toString('base64')}`;

const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
const history = new SimulatedHistory(DEMO_REPOS, {
  now: () => clock.now,
  historyMs: 12 * 60 * 60_000,
});
const github = new GithubSimulator(history, {
  apiBaseUrl: GITHUB,
  webBaseUrl: 'https://github.com',
  requireAuth: true,
});
const gitlab = new GitlabSimulator(history, {
  apiBaseUrl: GITLAB,
  webBaseUrl: 'https://gitlab.com',
});
const jenkins = new JenkinsSimulator(history, { baseUrl: JENKINS });
const buildkite = new BuildkiteSimulator(history, {
  apiBaseUrl: BUILDKITE,
  token: BK_TOKEN,
});
const circleci = new CircleciSimulator(history, { baseUrl: CIRCLECI });
const server = setupServer(
  ...github.handlers(),
  ...gitlab.handlers(),
  ...jenkins.handlers(),
  ...buildkite.handlers(),
  ...circleci.handlers(),
);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  clock.now = Date.parse('2026-11-20T12:00:00Z');
});
afterAll(() => server.close());

const checkout = history.repo('demo-org', 'checkout-web')!;
const inventory = history.repo('demo-org', 'inventory-api')!;

async function json(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  expect(response.status).toBe(200);
  return response.json();
}

const githubGet = (path: string) =>
  fetch(`${GITHUB}${path}`, {
    headers: { authorization: 'token t' },
    redirect: 'manual',
  });
const gitlabJson = (path: string) =>
  json(`${GITLAB}${path}`, { 'private-token': 'glpat-t' });
const jenkinsGet = (path: string) =>
  fetch(`${JENKINS}${path}`, { headers: { authorization: JENKINS_AUTH } });
const buildkiteGet = (path: string, redirect: RequestRedirect = 'follow') =>
  fetch(path.startsWith('http') ? path : `${BUILDKITE}${path}`, {
    headers: { authorization: `Bearer ${BK_TOKEN}` },
    redirect,
  });
/** A Buildkite artifact's bytes: the download's redirect, then storage (no token). */
async function buildkiteDownload(downloadUrl: string): Promise<Buffer> {
  const redirect = await buildkiteGet(downloadUrl, 'manual');
  expect(redirect.status).toBe(302);
  const location = redirect.headers.get('location')!;
  expect(await redirect.json()).toEqual({ url: location });
  return Buffer.from(await (await fetch(location)).arrayBuffer());
}
const circleciJson = (path: string) =>
  json(`${CIRCLECI}${path}`, { 'circle-token': CIRCLECI_SIM_TOKEN });

/** The entries of a zip, inflated, read through its central directory. */
function unzip(zip: Buffer): Map<string, string> {
  const end = zip.length - 22;
  expect(zip.readUInt32LE(end)).toBe(0x06054b50);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const out = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const packed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const skip = zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const data =
      local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    out.set(
      name,
      zlib.inflateRawSync(zip.subarray(data, data + packed)).toString('utf8'),
    );
    at += 46 + nameLength + skip;
  }
  return out;
}

interface XmlCase {
  name: string;
  classname: string;
  body: string;
  failed: boolean;
  skipped: boolean;
}

/** The `<testcase>`s of a JUnit report, with what they hold. */
function testcases(xml: string): XmlCase[] {
  return [
    ...xml.matchAll(/<testcase ([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g),
  ].map(m => {
    const attrs = Object.fromEntries(
      [...m[1].matchAll(/(\w+)="([^"]*)"/g)].map(a => [a[1], a[2]]),
    );
    const body = m[2] ?? '';
    return {
      name: attrs.name,
      classname: attrs.classname,
      body,
      failed: body.includes('<failure'),
      skipped: body.includes('<skipped'),
    };
  });
}

/** Every attempt of every run of a repository, oldest first. */
function attempts(spec: SimRepoSpec): SimRunAttempt[] {
  return history
    .listRuns(spec)
    .reverse()
    .flatMap(latest =>
      Array.from(
        { length: latest.attempt },
        (_, i) => history.getRun(spec, latest.id, i + 1)!,
      ),
    );
}

/**
 * A run of checkout-web whose first attempt failed a flaky test and whose
 * second (the history's automatic retry) passed it: the flaky test, and
 * the job that ran it.
 */
function flakyRun() {
  for (const run of history.listRuns(checkout)) {
    if (run.attempt !== 2 || run.conclusion !== 'success') continue;
    const first = history.getRun(checkout, run.id, 1)!;
    const index = first.jobs.findIndex(j => j.failedTests?.length === 1);
    if (index >= 0) {
      const test = first.jobs[index].failedTests![0];
      return { first, second: run, index, test };
    }
  }
  throw new Error('no flaky run in the window');
}

describe('test results of the demo services', () => {
  it('runs a stable suite of 20 to 40 tests per run on each service, a few flaky, one broken', () => {
    const perRun = new Map<string, number>();
    for (const spec of DEMO_REPOS.filter(s => !s.forbidden)) {
      for (const workflow of spec.workflows) {
        const suites = workflow.jobs.flatMap(j => (j.tests ? [j.tests] : []));
        if (suites.length === 0) continue;
        const count = suites.reduce((n, s) => n + s.cases.length, 0);
        perRun.set(`${spec.repo} ${workflow.name}`, count);
        for (const suite of suites) {
          const names = suite.cases.map(c => c.name);
          expect(new Set(names).size).toBe(names.length);
          expect(suite.artifact).toMatch(/test/);
          expect(suite.reportPath).toMatch(/junit|test/);
        }
      }
    }
    expect([...perRun.keys()].sort()).toEqual([
      'checkout-web Build and test',
      'inventory-api CI',
      'inventory-api Nightly',
      'payments-service CI',
    ]);
    for (const count of perRun.values()) {
      expect(count).toBeGreaterThanOrEqual(20);
      expect(count).toBeLessThanOrEqual(40);
    }
    const flaky = DEMO_REPOS.flatMap(s =>
      s.workflows.flatMap(w =>
        w.jobs.flatMap(j =>
          (j.tests?.cases ?? [])
            .filter(c => c.flaky)
            .map(c => `${s.repo}: ${c.classname} ${c.name}`),
        ),
      ),
    );
    expect(flaky).toEqual([
      'payments-service: payment gateway client retries a 503 from the gateway with back-off',
      'checkout-web: CartDrawer updates the total when an item is removed',
      'checkout-web: AddressForm fills in the city from the postcode',
      'checkout-web: checkout pays with a saved card',
      'inventory-api: github.com/demo-org/inventory-api/internal/warehouse TestClient_RetriesOnTimeout',
      'inventory-api: com.demo.inventory.it.StockSyncIT toleratesAWarehouseOutage()',
    ]);
    const broken = DEMO_REPOS.flatMap(s =>
      s.workflows.flatMap(w =>
        w.jobs.flatMap(j =>
          (j.tests?.cases ?? [])
            .filter(c => c.broken)
            .map(c => `${s.repo}: ${c.classname} ${c.name}`),
        ),
      ),
    );
    expect(broken).toEqual([
      'inventory-api: com.demo.inventory.it.ReservationExpiryIT releasesExpiredReservationsBackToStock()',
    ]);
  });

  it('fails a flaky test on attempt 1 and passes it on the retry of the same commit', () => {
    const { first, second, index, test } = flakyRun();
    expect(second.sha).toBe(first.sha);
    const failed = jobTestReport(first, first.jobs[index], {
      workspace: '/w',
    })!;
    const passed = jobTestReport(second, second.jobs[index], {
      workspace: '/w',
    })!;
    expect(failed.cases.find(c => c.name === test)?.status).toBe('failed');
    expect(passed.cases.find(c => c.name === test)?.status).toBe('passed');
    expect(failed.cases.filter(c => c.status === 'failed')).toHaveLength(1);
    expect(passed.cases.filter(c => c.status === 'failed')).toHaveLength(0);
    // The same suite both times; only the outcome differs.
    expect(passed.cases.map(c => c.name)).toEqual(
      failed.cases.map(c => c.name),
    );
    // The job's log says which test failed, in jest's words.
    const log = first.jobs[index].log.join('\n');
    expect(log).toContain(`› ${test}`);
    expect(log).toMatch(/Tests: {7}1 failed, /);
  });

  it('fails the broken test on every Nightly run (and retry) of inventory-api since the commit that broke it', () => {
    const nightly = attempts(inventory).filter(
      r => r.workflow.name === 'Nightly' && r.status === 'completed',
    );
    const broken = INVENTORY_INTEGRATION_TESTS.cases.find(c => c.broken)!;
    const pushedAt = (r: SimRunAttempt) =>
      history.getRun(inventory, r.id, 1)!.createdAt;
    const outcomes = nightly.flatMap(r => {
      const report = jobTestReport(r, r.jobs[0], { workspace: '/w' });
      const status = report?.cases.find(c => c.name === broken.name)?.status;
      return status ? [{ run: r, status, at: pushedAt(r) }] : [];
    });
    expect(outcomes.length).toBeGreaterThan(20);
    // Fixed from 00:00 to 02:00 UTC, broken since the first commit after.
    const since = outcomes.find(o => o.status === 'failed')!;
    expect(new Date(since.at).toISOString()).toMatch(/T0[2-3]:/);
    expect(outcomes.filter(o => o.at < since.at).length).toBeGreaterThan(3);
    for (const o of outcomes) {
      expect({
        run: o.run.runNumber,
        attempt: o.run.attempt,
        status: o.status,
      }).toEqual({
        run: o.run.runNumber,
        attempt: o.run.attempt,
        status: isBrokenAt(broken.broken!, o.at) ? 'failed' : 'passed',
      });
    }
    expect(outcomes.filter(o => o.at >= since.at).map(o => o.status)).toEqual(
      outcomes.filter(o => o.at >= since.at).map(() => 'failed'),
    );
  });

  it('fails the broken test again on a rerun asked for', () => {
    const own = { now: Date.parse('2026-11-20T12:00:00Z') };
    const fresh = new SimulatedHistory(DEMO_REPOS, { now: () => own.now });
    const spec = fresh.repo('demo-org', 'inventory-api')!;
    const broken = 'releasesExpiredReservationsBackToStock()';
    const last = fresh
      .listRuns(spec)
      .find(
        r =>
          r.status === 'completed' && r.jobs[0].failedTests?.includes(broken),
      )!;
    expect(fresh.requestRerun(spec, last.id).ok).toBe(true);
    own.now += 30 * 60_000;
    const again = fresh.getRun(spec, last.id)!;
    expect(again.attempt).toBe(last.attempt + 1);
    expect(again.conclusion).toBe('failure');
    expect(again.jobs[0].failedTests).toEqual([broken]);
  });
});

describe('GitHub Actions: run artifacts of JUnit XML, zipped', () => {
  it('lists a test-results artifact in the shape of the published example, and its zip through a redirect', async () => {
    const { first, second, index, test } = flakyRun();
    const listed = await githubGet(
      `/repos/demo-org/checkout-web/actions/runs/${second.id}/artifacts`,
    );
    expect(listed.status).toBe(200);
    const body = await listed.json();
    const artifact = body.artifacts.find(
      (a: any) => a.id === second.jobs[index].id,
    );
    expect(body.total_count).toBe(body.artifacts.length);
    const published = example('artifact');
    expect(Object.keys(artifact).sort()).toEqual(Object.keys(published).sort());
    for (const key of Object.keys(published)) {
      expect([key, typeof artifact[key]]).toEqual([key, typeof published[key]]);
    }
    expect(Object.keys(artifact.workflow_run).sort()).toEqual(
      Object.keys(published.workflow_run).sort(),
    );
    expect(artifact).toMatchObject({
      name: expect.stringMatching(/test-results$/),
      expired: false,
      archive_download_url: `${GITHUB}/repos/demo-org/checkout-web/actions/artifacts/${artifact.id}/zip`,
      workflow_run: { id: second.id, head_sha: second.sha },
    });

    const redirect = await githubGet(
      `/repos/demo-org/checkout-web/actions/artifacts/${artifact.id}/zip`,
    );
    expect(redirect.status).toBe(302);
    const location = redirect.headers.get('location')!;
    const blob = await fetch(location);
    expect(blob.headers.get('content-type')).toBe('application/zip');
    const zip = Buffer.from(await blob.arrayBuffer());
    expect(zip.length).toBe(artifact.size_in_bytes);
    expect(artifact.digest).toBe(
      `sha256:${createHash('sha256').update(zip).digest('hex')}`,
    );
    const entries = unzip(zip);
    expect([...entries.keys()]).toEqual(['junit.xml']);
    const xml = entries.get('junit.xml')!;
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="jest tests"/,
    );
    expect(testcases(xml).find(c => c.name === test)).toMatchObject({
      failed: false,
    });

    // Attempt 1's artifact (replaced in the listing by the retry's).
    const before = await githubGet(
      `/repos/demo-org/checkout-web/actions/artifacts/${first.jobs[index].id}/zip`,
    );
    const failedXml = unzip(
      Buffer.from(
        await (await fetch(before.headers.get('location')!)).arrayBuffer(),
      ),
    ).get('junit.xml')!;
    const failed = testcases(failedXml).find(c => c.name === test)!;
    expect(failed.failed).toBe(true);
    // jest-junit: no message attribute, the error's stack as the text.
    expect(failed.body).toMatch(/^\s*<failure>\w*(Error|thrown)/);
    expect(failed.body).toContain(
      'at Object.&lt;anonymous&gt; (/home/runner/work/checkout-web/checkout-web/',
    );
  });

  it("lists attempt 1's artifact until the retry's test job uploads its own", async () => {
    const { first, second, index } = flakyRun();
    clock.now = second.createdAt + 1_000;
    const body = await (
      await githubGet(
        `/repos/demo-org/checkout-web/actions/runs/${second.id}/artifacts`,
      )
    ).json();
    expect(body.artifacts.map((a: any) => a.id)).toContain(
      first.jobs[index].id,
    );
  });

  it('has no artifacts for a run without tests, and 404s an unknown one', async () => {
    const payments = history.repo('demo-org', 'payments-service')!;
    const deploy = history
      .listRuns(payments)
      .find(r => r.workflow.name === 'Deploy' && r.status === 'completed')!;
    const body = await (
      await githubGet(
        `/repos/demo-org/payments-service/actions/runs/${deploy.id}/artifacts`,
      )
    ).json();
    expect(body).toEqual({ total_count: 0, artifacts: [] });
    expect(
      (
        await githubGet(
          '/repos/demo-org/payments-service/actions/artifacts/1/zip',
        )
      ).status,
    ).toBe(404);
  });
});

describe('GitLab: the pipeline test report', () => {
  it('serves a suite per test job, the flaky test failed while the pipeline ran attempt 1 and passed after its retry', async () => {
    const { first, second, index, test } = flakyRun();
    const project = encodeURIComponent('demo-org/checkout-web');
    clock.now = second.createdAt - 1_000;
    const failedReport = await gitlabJson(
      `/projects/${project}/pipelines/${first.id}/test_report`,
    );
    expect(Object.keys(failedReport).sort()).toEqual([
      'error_count',
      'failed_count',
      'skipped_count',
      'success_count',
      'test_suites',
      'total_count',
      'total_time',
    ]);
    const suite = failedReport.test_suites.find(
      (s: any) => s.name === first.jobs[index].name,
    );
    expect(Object.keys(suite).sort()).toEqual([
      'error_count',
      'failed_count',
      'name',
      'skipped_count',
      'success_count',
      'suite_error',
      'test_cases',
      'total_count',
      'total_time',
    ]);
    expect(suite.test_cases[0]).toMatchObject({
      status: 'failed',
      name: test,
      system_output: expect.stringMatching(/Error|thrown/),
      stack_trace: null,
    });
    expect(Object.keys(suite.test_cases[0]).sort()).toEqual([
      'classname',
      'execution_time',
      'file',
      'name',
      'recent_failures',
      'stack_trace',
      'status',
      'system_output',
    ]);
    expect(failedReport.failed_count).toBe(1);
    expect(failedReport.total_count).toBe(
      failedReport.test_suites.reduce(
        (n: number, s: any) => n + s.total_count,
        0,
      ),
    );

    clock.now = Date.parse('2026-11-20T12:00:00Z');
    const passedReport = await gitlabJson(
      `/projects/${project}/pipelines/${second.id}/test_report`,
    );
    expect(passedReport.failed_count).toBe(0);
    const passed = passedReport.test_suites
      .flatMap((s: any) => s.test_cases)
      .find((c: any) => c.name === test);
    expect(passed).toMatchObject({ status: 'success', system_output: null });
  });
});

describe('Jenkins: the build test report', () => {
  it('fails the flaky test in the first build of the commit and passes it in the rebuild, honouring tree=', async () => {
    const { first, second, test } = flakyRun();
    const path = (run: SimRunAttempt) =>
      `/job/demo-org/job/checkout-web/${buildNumberOf(
        run,
      )}/testReport/api/json`;
    const failed = await (await jenkinsGet(path(first))).json();
    expect(failed).toMatchObject({
      _class: 'hudson.tasks.junit.TestResult',
      failCount: 1,
      empty: false,
    });
    const cases = failed.suites.flatMap((s: any) => s.cases);
    const bad = cases.find((c: any) => c.name === test);
    expect(bad).toMatchObject({
      status: 'FAILED',
      errorDetails: null,
      errorStackTrace: expect.stringContaining(
        '/var/jenkins_home/workspace/demo-org_checkout-web/',
      ),
      flakyFailures: [],
    });
    expect(Object.keys(bad).sort()).toEqual([
      'age',
      'className',
      'duration',
      'errorDetails',
      'errorStackTrace',
      'failedSince',
      'flakyFailures',
      'name',
      'rerunFailures',
      'skipped',
      'skippedMessage',
      'status',
      'stderr',
      'stdout',
    ]);
    expect(cases.some((c: any) => c.status === 'SKIPPED')).toBe(true);

    const tree = 'suites[name,cases[name,status]]';
    const passed = await (
      await jenkinsGet(`${path(second)}?tree=${encodeURIComponent(tree)}`)
    ).json();
    expect(Object.keys(passed)).toEqual(['_class', 'suites']);
    const good = passed.suites
      .flatMap((s: any) => s.cases)
      .find((c: any) => c.name === test);
    expect(good).toEqual({ name: test, status: 'PASSED' });
  });

  it('404s the test report of a build that ran no tests', async () => {
    const run = attempts(checkout).find(
      r => r.status === 'completed' && r.jobs[0].conclusion !== 'success',
    )!;
    expect(run.jobs[1].conclusion).toBe('skipped');
    const response = await jenkinsGet(
      `/job/demo-org/job/checkout-web/${buildNumberOf(
        run,
      )}/testReport/api/json`,
    );
    expect(response.status).toBe(404);
  });
});

describe('CircleCI: the tests of a job', () => {
  it('pages the tests of the job that failed the flaky test, then of its rerun', async () => {
    const { first, second, index, test } = flakyRun();
    const items: any[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const page: any = await circleciJson(
        `/project/gh/demo-org/checkout-web/${first.jobs[index].id}/tests${
          token ? `?page-token=${token}` : ''
        }`,
      );
      expect(Object.keys(page).sort()).toEqual(['items', 'next_page_token']);
      items.push(...page.items);
      token = page.next_page_token;
      pages += 1;
    } while (token);
    expect(pages).toBeGreaterThanOrEqual(1);
    expect(items.length).toBe(first.workflow.jobs[index].tests!.cases.length);
    for (const item of items) {
      // The seven fields of the OpenAPI description's TestsResponse items.
      expect(Object.keys(item).sort()).toEqual([
        'classname',
        'file',
        'message',
        'name',
        'result',
        'run_time',
        'source',
      ]);
      expect(typeof item.run_time).toBe('number');
    }
    expect(items.find(i => i.name === test)).toMatchObject({
      result: 'failure',
      message: expect.stringMatching(/\S/),
      source: expect.stringMatching(/^(jest|e2e)$/),
    });
    const rerun = await circleciJson(
      `/project/gh/demo-org/checkout-web/${second.jobs[index].id}/tests`,
    );
    expect(rerun.items.filter((i: any) => i.result === 'failure')).toHaveLength(
      0,
    );
  });

  it('pages a suite longer than a page with next_page_token', async () => {
    const payments = history.repo('demo-org', 'payments-service')!;
    const run = attempts(payments).find(
      r => r.workflow.name === 'CI' && r.conclusion === 'success',
    )!;
    const first = await circleciJson(
      `/project/gh/demo-org/payments-service/${run.jobs[1].id}/tests`,
    );
    expect(first.items).toHaveLength(20);
    expect(first.next_page_token).toEqual(expect.any(String));
    const next = await circleciJson(
      `/project/gh/demo-org/payments-service/${run.jobs[1].id}/tests?page-token=${first.next_page_token}`,
    );
    expect(next.items).toHaveLength(29 - 20);
    expect(next.next_page_token).toBeNull();
    const lint = await circleciJson(
      `/project/gh/demo-org/payments-service/${run.jobs[0].id}/tests`,
    );
    expect(lint).toEqual({ items: [], next_page_token: null });
  });
});

describe('Buildkite: build artifacts of JUnit XML', () => {
  it("lists every try's reports of a build, the docs' artifact shape, downloaded through a redirect", async () => {
    const { first, second, index, test } = flakyRun();
    const listed = await buildkiteGet(
      `/organizations/demo-org/pipelines/checkout-web/builds/${second.runNumber}/artifacts`,
    );
    expect(listed.status).toBe(200);
    const artifacts: any[] = await listed.json();
    const ofJob = (run: SimRunAttempt) =>
      artifacts.find(
        a =>
          a.job_id ===
          buildkite.jobJson(
            buildkite.pipeline('demo-org', 'checkout-web')!,
            run,
            run.jobs[index],
            index,
          ).id,
      );
    const tries = [ofJob(first), ofJob(second)];
    for (const artifact of tries) {
      expect(Object.keys(artifact)).toEqual([
        'id',
        'job_id',
        'url',
        'download_url',
        'state',
        'path',
        'dirname',
        'filename',
        'mime_type',
        'file_size',
        'glob_path',
        'original_path',
        'sha1sum',
      ]);
      expect(artifact).toMatchObject({
        state: 'finished',
        path: expect.stringMatching(/junit\.xml$/),
        mime_type: 'text/xml',
        download_url: `${artifact.url}/download`,
      });
      expect(artifact.download_url.startsWith(`${BUILDKITE}/`)).toBe(true);
    }
    const [failedXml, passedXml] = await Promise.all(
      tries.map(async artifact => {
        const data = await buildkiteDownload(artifact.download_url);
        expect(data.length).toBe(artifact.file_size);
        expect(createHash('sha1').update(data).digest('hex')).toBe(
          artifact.sha1sum,
        );
        return data.toString('utf8');
      }),
    );
    expect(testcases(failedXml).find(c => c.name === test)?.failed).toBe(true);
    expect(testcases(passedXml).find(c => c.name === test)?.failed).toBe(false);
  });

  it("serves inventory-api's Gradle reports, a file per class, the broken test failing", async () => {
    const run = history
      .listRuns(inventory)
      .find(
        r =>
          r.workflow.name === 'Nightly' &&
          r.jobs[0].failedTests?.includes(
            'releasesExpiredReservationsBackToStock()',
          ),
      )!;
    const artifacts: any[] = await (
      await buildkiteGet(
        `/organizations/demo-org/pipelines/inventory-api/builds/${run.runNumber}/artifacts?per_page=100`,
      )
    ).json();
    const paths = artifacts.map(a => a.path);
    expect(paths).toContain(
      'build/test-results/integrationTest/TEST-com.demo.inventory.it.ReservationExpiryIT.xml',
    );
    const artifact = artifacts.find(a =>
      a.path.endsWith('ReservationExpiryIT.xml'),
    );
    const xml = (await buildkiteDownload(artifact.download_url)).toString();
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuite name="com.demo.inventory.it.ReservationExpiryIT" tests="3" skipped="0" failures="1" errors="0"/,
    );
    const broken = testcases(xml).find(
      c => c.name === 'releasesExpiredReservationsBackToStock()',
    )!;
    expect(broken.body).toContain(
      '<failure message="org.opentest4j.AssertionFailedError: expected: &lt;12&gt; but was: &lt;10&gt;" type="org.opentest4j.AssertionFailedError">',
    );
    expect(broken.body).toContain(
      '\tat com.demo.inventory.it.ReservationExpiryIT.releasesExpiredReservationsBackToStock(ReservationExpiryIT.java:64)',
    );
    // The Gradle log says so too, as triage reads it.
    const log = run.jobs[0].log.join('\n');
    expect(log).toContain(
      'ReservationExpiryIT > releasesExpiredReservationsBackToStock() FAILED',
    );
    expect(log).toContain('There were failing tests');
  });

  it("writes go-junit-report's dialect for inventory-api's go test", async () => {
    const run = history
      .listRuns(inventory)
      .find(
        r =>
          r.workflow.name === 'CI' &&
          r.conclusion === 'success' &&
          r.attempt === 1,
      )!;
    const report = jobTestReport(run, run.jobs[0], { workspace: '/w' })!;
    expect(report.tool).toBe('go-junit-report');
    const artifacts: any[] = await (
      await buildkiteGet(
        `/organizations/demo-org/pipelines/inventory-api/builds/${run.runNumber}/artifacts`,
      )
    ).json();
    expect(artifacts.map(a => a.path)).toEqual(['reports/go-test/junit.xml']);
    const xml = (await buildkiteDownload(artifacts[0].download_url)).toString();
    expect(xml).toContain(
      '\t<testsuite name="github.com/demo-org/inventory-api/internal/stock" tests="5" failures="0" errors="0" id="0" hostname="runner" time="',
    );
    expect(xml).toContain(
      '<skipped message="Skipped"><![CDATA[    sync_test.go:131: set WAREHOUSE_API_URL to run against a live warehouse]]></skipped>',
    );
  });
});

describe('zipOf', () => {
  it('writes entries a zip reader inflates back', () => {
    const data = Buffer.from('<testsuites/>\n'.repeat(50));
    expect(
      unzip(zipOf([{ name: 'a/junit.xml', data }])).get('a/junit.xml'),
    ).toBe(data.toString());
  });
});
