import { EventParams } from '@backstage/plugin-events-node';
import {
  DEMO_REPOS,
  JenkinsSimulator,
  SimulatedHistory,
  jenkinsDeliveryRequest,
  jenkinsNotification,
} from '@ci-experience/ci-simulator';
import { runIdOf } from '@ci-experience/plugin-ci-experience-node';
import { createJenkinsRequestValidator, parseJenkinsDelivery } from './webhook';

const KEY = 'jenkins:jenkins.example.com/team-a/payments';
const lookup = async (key: string) =>
  key === KEY ||
  key === 'jenkins:jenkins.example.com/ci/demo-org/payments-service'
    ? { source: key.split('/').slice(-2).join('/') }
    : undefined;
const event = (payload: unknown): EventParams => ({
  topic: 'jenkins',
  eventPayload: payload,
});
const fixture = () =>
  JSON.parse(JSON.stringify(require('./__fixtures__/notification.json')));

describe('parseJenkinsDelivery', () => {
  it('turns a documented Notification plugin delivery into a run write', async () => {
    const result = await parseJenkinsDelivery(event(fixture()), lookup);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.sourceKey).toBe(KEY);
    expect(result.write.event).toBe('completed');
    expect(result.write.runs![0]).toMatchObject({
      id: runIdOf(KEY, '41', 1),
      providerRunId: '41',
      provider: 'jenkins',
      runNumber: 41,
      attempt: 1,
      status: 'failed',
      providerStatus: 'UNSTABLE',
      branch: 'main',
      commitSha: '0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5',
      url: 'https://jenkins.example.com/job/team-a/job/payments/41/',
      durationMs: 183245,
      finishedAt: new Date(1732100400000 + 183245).toISOString(),
    });
  });

  it('gives a repeated phase of one build the same delivery id, and other phases other ids', async () => {
    const a = await parseJenkinsDelivery(event(fixture()), lookup);
    const b = await parseJenkinsDelivery(event(fixture()), lookup);
    const started = fixture();
    started.build.phase = 'STARTED';
    delete started.build.status;
    const c = await parseJenkinsDelivery(event(started), lookup);
    expect(a.ok && b.ok && c.ok).toBe(true);
    if (!a.ok || !b.ok || !c.ok) return;
    expect(a.deliveryId).toBe(b.deliveryId);
    expect(c.deliveryId).not.toBe(a.deliveryId);
    expect(a.deliveryId.length).toBeLessThanOrEqual(128);
    // Out of order: STARTED after COMPLETED writes a running run of the same
    // id; the store keeps the final state because writes are monotonic.
    expect(c.write.runs![0]).toMatchObject({
      id: a.write.runs![0].id,
      status: 'running',
      providerStatus: 'BUILDING',
      finishedAt: undefined,
    });
  });

  it('rejects malformed deliveries and leaves unclaimed ones', async () => {
    for (const bad of [
      null,
      { name: 'x' },
      { ...fixture(), build: { ...fixture().build, phase: 'EXPLODED' } },
      {
        ...fixture(),
        build: { ...fixture().build, full_url: ['javascript', 'x'].join(':') },
      },
      { ...fixture(), url: '../../etc/' },
    ]) {
      const result = await parseJenkinsDelivery(event(bad), lookup);
      expect(result).toMatchObject({ ok: false, reason: 'malformed' });
    }
    const other = fixture();
    other.url = 'job/team-b/job/other/';
    other.build.url = 'job/team-b/job/other/41/';
    other.build.full_url =
      'https://jenkins.example.com/job/team-b/job/other/41/';
    expect(await parseJenkinsDelivery(event(other), lookup)).toMatchObject({
      ok: false,
      reason: 'unclaimed',
      sourceKey: 'jenkins:jenkins.example.com/team-b/other',
    });
  });

  it('maps a branch job delivery of a multibranch project to the project source, as polling does', async () => {
    const history = new SimulatedHistory(DEMO_REPOS, {
      now: () => Date.parse('2026-11-20T12:00:00Z'),
    });
    const jenkins = new JenkinsSimulator(history, {
      baseUrl: 'https://jenkins.example.com/ci',
    });
    const spec = history.repo('demo-org', 'payments-service')!;
    const run = history
      .listRuns(spec)
      .find(r => r.status === 'completed' && r.branch.includes('/'))!;
    const payload = jenkinsNotification(jenkins, spec, run, 'FINALIZED');
    const result = await parseJenkinsDelivery(event(payload), lookup);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.sourceKey).toBe(
      'jenkins:jenkins.example.com/ci/demo-org/payments-service',
    );
    expect(result.write.runs![0]).toMatchObject({
      providerRunId: `${encodeURIComponent(run.branch)}#${
        payload.build.number
      }`,
      branch: run.branch,
      providerStatus: payload.build.status,
    });
    expect(
      jenkinsDeliveryRequest(payload, 't').headers['x-jenkins-token'],
    ).toBe('t');
  });
});

describe('createJenkinsRequestValidator', () => {
  const validator = createJenkinsRequestValidator('s3cret-token');
  const checkWith =
    (v: ReturnType<typeof createJenkinsRequestValidator>) =>
    async (headers: Record<string, string>, query = {}) => {
      const reject = jest.fn();
      await v({ body: {}, headers, query } as any, { reject });
      return reject;
    };
  const check = checkWith(validator);
  const basic = (user: string, password: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString(
      'base64',
    )}`,
  });

  it('accepts the right token in the header', async () => {
    expect(
      await check({ 'x-jenkins-token': 's3cret-token' }),
    ).not.toHaveBeenCalled();
  });

  it('accepts the right token as the Basic auth password, whatever the user', async () => {
    // The Notification plugin turns https://jenkins:<token>@host/... into this.
    expect(
      await check(basic('jenkins', 's3cret-token')),
    ).not.toHaveBeenCalled();
    expect(await check(basic('', 's3cret-token'))).not.toHaveBeenCalled();
    expect(await check(basic('jenkins', 's3cret-tokeN'))).toHaveBeenCalledWith(
      expect.objectContaining({ status: 403 }),
    );
    // A user without a password, or another scheme, carries no token.
    expect(await check(basic('s3cret-token', ''))).toHaveBeenCalledWith(
      expect.objectContaining({ status: 401 }),
    );
    expect(
      await check({ authorization: 'Bearer s3cret-token' }),
    ).toHaveBeenCalledWith(expect.objectContaining({ status: 401 }));
  });

  it('refuses a token in the query unless allowTokenInQuery, and says so once', async () => {
    const told = jest.fn();
    const strict = checkWith(
      createJenkinsRequestValidator('s3cret-token', {
        onQueryTokenRefused: told,
      }),
    );
    for (let i = 0; i < 2; i++) {
      const refused = await strict({}, { token: 's3cret-token' });
      expect(refused).toHaveBeenCalledWith({
        status: 401,
        payload: {
          message: expect.stringContaining('A token in the URL is refused'),
        },
      });
      expect(JSON.stringify(refused.mock.calls)).not.toContain('s3cret');
    }
    expect(told).toHaveBeenCalledTimes(1);
    // The header wins over a query beside it.
    expect(
      await strict({ 'x-jenkins-token': 's3cret-token' }, { token: 'x' }),
    ).not.toHaveBeenCalled();

    const lax = checkWith(
      createJenkinsRequestValidator('s3cret-token', {
        allowTokenInQuery: true,
      }),
    );
    expect(await lax({}, { token: 's3cret-token' })).not.toHaveBeenCalled();
    expect(await lax({}, { token: 'wrong' })).toHaveBeenCalledWith(
      expect.objectContaining({ status: 403 }),
    );
  });

  it('answers 401 without a token and 403 with a wrong one, never echoing it', async () => {
    expect(await check({})).toHaveBeenCalledWith(
      expect.objectContaining({ status: 401 }),
    );
    const wrong = await check({ 'x-jenkins-token': 's3cret-tokeN' });
    expect(wrong).toHaveBeenCalledWith(
      expect.objectContaining({ status: 403 }),
    );
    expect(JSON.stringify(wrong.mock.calls)).not.toContain('s3cret');
    expect(await check({ 'x-jenkins-token': 'x' })).toHaveBeenCalledWith(
      expect.objectContaining({ status: 403 }),
    );
  });

  it('refuses an empty configured token', () => {
    expect(() => createJenkinsRequestValidator('')).toThrow();
  });
});
