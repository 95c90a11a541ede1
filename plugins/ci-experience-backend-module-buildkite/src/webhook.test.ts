import { signBuildkitePayload } from '@ci-experience/ci-simulator';
import {
  EventParams,
  RequestDetails,
  RequestRejectionDetails,
} from '@backstage/plugin-events-node';
import { ConfigReader } from '@backstage/config';
import { runIdOf } from '@ci-experience/plugin-ci-experience-node';
import {
  buildkiteWebhookValidatorFromConfig,
  createBuildkiteWebhookValidator,
  parseBuildkiteDelivery,
  signBuildkiteWebhook,
} from './webhook';
import buildFinished from './__fixtures__/build-finished.json';
import jobFinished from './__fixtures__/job-finished.json';
import restBuild from './__fixtures__/build.json';

/** A `javascript:` URL, spelled so that linters do not take it for code. */
const SCRIPT_URL = ['javascript', 'alert(1)'].join(':');

const FIXTURE_KEY = 'buildkite:api.buildkite.com/my-great-org/my-pipeline';
const claimAll = async () => ({ source: 'my-great-org/my-pipeline' });

const delivery = (
  payload: any,
  headers: Record<string, string> = {},
): EventParams => ({
  topic: 'buildkite',
  eventPayload: payload,
  metadata: { 'x-buildkite-event': payload?.event, ...headers },
});

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value));

describe('parseBuildkiteDelivery', () => {
  it('turns the documented build.finished delivery into a run with its jobs', async () => {
    const result = await parseBuildkiteDelivery(
      delivery(buildFinished),
      claimAll,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const runId = runIdOf(FIXTURE_KEY, '1', 1);
    expect(result.sourceKey).toBe(FIXTURE_KEY);
    expect(result.write.event).toBe('build.finished');
    expect(result.write.runs).toEqual([
      expect.objectContaining({
        id: runId,
        provider: 'buildkite',
        source: 'my-great-org/my-pipeline',
        sourceKey: FIXTURE_KEY,
        providerRunId: '1',
        runNumber: 1,
        attempt: 1,
        status: 'succeeded',
        providerStatus: 'passed',
        workflow: 'Great Pipeline',
        branch: 'main',
        commitSha: 'abcd0b72a1e580e90712cdd9eb26d3fb41cd09c8',
        commitMessage: 'Bumping to version 0.2-beta.6',
        actor: 'Keith Pitt',
        event: 'webhook',
        url: 'https://buildkite.com/my-great-org/my-pipeline/builds/1',
        createdAt: '2015-05-09T21:05:59.874Z',
        startedAt: '2015-05-09T21:07:59.874Z',
        finishedAt: '2015-05-09T21:09:59.874Z',
        durationMs: 120_000,
        queuedMs: 120_000,
      }),
    ]);
    // The waiter is no job of its own.
    expect(result.write.jobs).toEqual([
      {
        runId,
        job: expect.objectContaining({
          id: 'b63254c0-3271-4a98-8270-7cfbd6c2f14e',
          name: ':package:',
          status: 'succeeded',
          runnerName: 'my-agent',
          durationMs: 60_000,
        }),
      },
    ]);
  });

  it('turns a job delivery into that job under its build', async () => {
    const result = await parseBuildkiteDelivery(
      delivery(jobFinished),
      claimAll,
    );
    if (!result.ok) throw new Error(result.message);
    const runId = runIdOf(FIXTURE_KEY, '1', 1);
    expect(result.write.runs?.[0].id).toBe(runId);
    expect(result.write.jobs).toEqual([
      { runId, job: expect.objectContaining({ name: ':package:' }) },
    ]);
  });

  it('the REST fixture and the webhook build map alike', async () => {
    const { pipeline, ...build } = restBuild;
    const result = await parseBuildkiteDelivery(
      delivery({ event: 'build.finished', build, pipeline, sender: null }),
      claimAll,
    );
    expect(result.ok).toBe(true);
  });

  it.each([
    ['a build without a number', (p: any) => delete p.build.number],
    ['a script URL', (p: any) => (p.build.web_url = SCRIPT_URL)],
    ['a bad date', (p: any) => (p.build.created_at = 'yesterday')],
    [
      'a pipeline URL that is no API URL',
      (p: any) => (p.pipeline.url = 'https://example.com/x'),
    ],
    ['no build', (p: any) => delete p.build],
    ['a number past 2^31-1', (p: any) => (p.build.number = 2 ** 31)],
  ])('refuses a malformed delivery: %s', async (_name, spoil) => {
    const payload = clone(buildFinished);
    spoil(payload);
    const result = await parseBuildkiteDelivery(delivery(payload), claimAll);
    expect(result).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('refuses a job delivery without a valid job', async () => {
    const payload = clone(jobFinished) as any;
    payload.job.web_url = SCRIPT_URL;
    expect(
      await parseBuildkiteDelivery(delivery(payload), claimAll),
    ).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('ignores other events and unclaimed pipelines', async () => {
    expect(
      await parseBuildkiteDelivery(
        delivery({ event: 'ping', service: {}, organization: {} }),
        claimAll,
      ),
    ).toMatchObject({ ok: false, reason: 'unsupported' });
    expect(
      await parseBuildkiteDelivery(
        delivery(buildFinished),
        async () => undefined,
      ),
    ).toMatchObject({ ok: false, reason: 'unclaimed' });
  });

  it('keeps text within its columns and free of NUL', async () => {
    const payload = clone(buildFinished) as any;
    payload.build.branch = `a${String.fromCharCode(0)}${'b'.repeat(600)}`;
    payload.build.commit = 'c'.repeat(100);
    const result = await parseBuildkiteDelivery(delivery(payload), claimAll);
    if (!result.ok) throw new Error(result.message);
    const run = result.write.runs![0];
    expect(run.branch).toHaveLength(512);
    expect(run.branch).not.toContain(String.fromCharCode(0));
    expect(run.commitSha).toHaveLength(64);
  });

  it('gives one delivery the same id on a retry, and other states other ids', async () => {
    const first = await parseBuildkiteDelivery(
      delivery(buildFinished),
      claimAll,
    );
    const again = await parseBuildkiteDelivery(
      delivery(clone(buildFinished)),
      claimAll,
    );
    const running = clone(buildFinished) as any;
    running.event = 'build.running';
    running.build.state = 'running';
    running.build.finished_at = null;
    const other = await parseBuildkiteDelivery(delivery(running), claimAll);
    const job = await parseBuildkiteDelivery(delivery(jobFinished), claimAll);
    const ids = [first, again, other, job].map(r => r.ok && r.deliveryId);
    expect(ids[0]).toBe(ids[1]);
    expect(new Set(ids).size).toBe(3);
    // No header names the delivery: neither a proxy's nor an undocumented one.
    for (const name of [
      'x-request-id',
      'x-buildkite-event-id',
      'x-buildkite-request',
    ]) {
      const given = await parseBuildkiteDelivery(
        delivery(buildFinished, { [name]: 'evt-123' }),
        claimAll,
      );
      expect([name, given.ok && given.deliveryId]).toEqual([name, ids[0]]);
    }
  });
});

describe('createBuildkiteWebhookValidator', () => {
  const NOW = Date.parse('2026-11-20T12:00:00Z');
  const body = JSON.stringify(buildFinished);

  function check(
    validator: ReturnType<typeof createBuildkiteWebhookValidator>,
    headers: Record<string, string>,
    raw = body,
  ) {
    const rejections: RequestRejectionDetails[] = [];
    const request: RequestDetails = {
      body: JSON.parse(raw),
      headers,
      query: {},
      raw: { body: Buffer.from(raw), encoding: 'utf-8' },
    };
    return validator!(request, {
      reject: details => {
        rejections.push(details as RequestRejectionDetails);
      },
    }).then(() => rejections);
  }

  const signed = createBuildkiteWebhookValidator({
    signingSecret: 'webhook-secret',
    now: () => NOW,
  });

  it('accepts a valid signature, the same as the simulator signs', async () => {
    const t = Math.floor(NOW / 1000);
    const header = signBuildkiteWebhook('webhook-secret', t, body);
    expect(header).toBe(signBuildkitePayload('webhook-secret', body, t));
    expect(await check(signed, { 'x-buildkite-signature': header })).toEqual(
      [],
    );
  });

  it('refuses a missing signature with 401 and a wrong one with 403', async () => {
    const t = Math.floor(NOW / 1000);
    expect(await check(signed, {})).toEqual([
      expect.objectContaining({ status: 401 }),
    ]);
    expect(
      await check(signed, {
        'x-buildkite-signature': signBuildkiteWebhook('other', t, body),
      }),
    ).toEqual([expect.objectContaining({ status: 403 })]);
    // Signed, then the body changed.
    expect(
      await check(
        signed,
        {
          'x-buildkite-signature': signBuildkiteWebhook(
            'webhook-secret',
            t,
            body,
          ),
        },
        body.replace('passed', 'failed'),
      ),
    ).toEqual([expect.objectContaining({ status: 403 })]);
    expect(await check(signed, { 'x-buildkite-signature': 'garbage' })).toEqual(
      [expect.objectContaining({ status: 403 })],
    );
  });

  it('refuses a replay outside the 5 minute window', async () => {
    const old = Math.floor(NOW / 1000) - 301;
    const rejections = await check(signed, {
      'x-buildkite-signature': signBuildkiteWebhook(
        'webhook-secret',
        old,
        body,
      ),
    });
    expect(rejections).toEqual([expect.objectContaining({ status: 401 })]);
    const recent = Math.floor(NOW / 1000) - 299;
    expect(
      await check(signed, {
        'x-buildkite-signature': signBuildkiteWebhook(
          'webhook-secret',
          recent,
          body,
        ),
      }),
    ).toEqual([]);
  });

  it('checks X-Buildkite-Token: valid, wrong (403), missing (401)', async () => {
    const token = createBuildkiteWebhookValidator({ token: 'plain-token' });
    expect(await check(token, { 'x-buildkite-token': 'plain-token' })).toEqual(
      [],
    );
    expect(await check(token, { 'x-buildkite-token': 'plain-tokex' })).toEqual([
      expect.objectContaining({ status: 403 }),
    ]);
    expect(await check(token, {})).toEqual([
      expect.objectContaining({ status: 401 }),
    ]);
  });

  it('never echoes the secret, and is off without configuration', async () => {
    const rejections = await check(signed, { 'x-buildkite-signature': 'x' });
    expect(JSON.stringify(rejections)).not.toContain('webhook-secret');
    expect(createBuildkiteWebhookValidator({})).toBeUndefined();
    expect(
      buildkiteWebhookValidatorFromConfig(
        new ConfigReader({
          ciExperience: {
            providers: { buildkite: { apiToken: 'a', webhookToken: 'w' } },
          },
        }),
      ),
    ).toBeDefined();
    expect(
      buildkiteWebhookValidatorFromConfig(new ConfigReader({})),
    ).toBeUndefined();
  });
});

describe('parseBuildkiteDelivery on a delivery with one field of another type', () => {
  /** Every path to a value in `value`, objects and arrays included. */
  function pathsOf(value: unknown, prefix: (string | number)[] = []) {
    const out: (string | number)[][] = prefix.length > 0 ? [prefix] : [];
    if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        const k = Array.isArray(value) ? Number(key) : key;
        out.push(...pathsOf(child, [...prefix, k]));
      }
    }
    return out;
  }
  // Names of Object.prototype's members too: the fuzz test found that a job
  // `type` of "constructor" read a lookup table's inherited function.
  const replacements: unknown[] = [
    7,
    1e300,
    -1,
    true,
    [],
    {},
    null,
    'x',
    ['a'],
    'constructor',
    '__proto__',
    'toString',
  ];

  it.each([
    ['build.finished', buildFinished],
    ['job.finished', jobFinished],
  ])('never throws on %s, whatever one field holds', async (_kind, fixture) => {
    let tried = 0;
    for (const path of pathsOf(fixture)) {
      for (const replacement of replacements) {
        const payload: any = clone(fixture);
        let parent = payload;
        for (const key of path.slice(0, -1)) parent = parent[key];
        parent[path[path.length - 1]] = replacement;
        const result = await parseBuildkiteDelivery(
          delivery(payload, { 'x-buildkite-event': _kind }),
          claimAll,
        ).catch(error => {
          throw new Error(
            `${path.join('.')} = ${JSON.stringify(replacement)}: ${error}`,
          );
        });
        expect(typeof result.ok).toBe('boolean');
        tried += 1;
      }
    }
    expect(tried).toBeGreaterThan(100);
  });
});
