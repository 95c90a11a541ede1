import { RequestDetails } from '@backstage/plugin-events-node';
import {
  gitlabWebhookHeaders,
  signGitlabPayload,
} from '@ci-experience/ci-simulator';
import { ConfigReader } from '@backstage/config';
import {
  createGitlabWebhookValidator,
  gitlabWebhookValidatorFromConfig,
  signGitlabWebhook,
} from './GitlabWebhookValidator';
import pipelineHook from './__fixtures__/pipeline-hook.json';

const SECRET = 'gitlab-webhook-secret-token';
const SIGNING = `whsec_${Buffer.from(
  '0123456789abcdef0123456789abcdef',
).toString('base64')}`;
const NOW = Date.parse('2026-11-20T12:00:00Z');

function request(
  body: string,
  headers: Record<string, string>,
): RequestDetails {
  return {
    body: JSON.parse(body),
    headers,
    query: {},
    raw: { body: Buffer.from(body), encoding: 'utf-8' },
  };
}

async function validate(
  validator: ReturnType<typeof createGitlabWebhookValidator>,
  req: RequestDetails,
) {
  const reject = jest.fn();
  await validator!(req, { reject });
  return reject.mock.calls[0]?.[0];
}

describe('createGitlabWebhookValidator', () => {
  const body = JSON.stringify(pipelineHook);

  it('is off when nothing is configured', () => {
    expect(createGitlabWebhookValidator({})).toBeUndefined();
    expect(gitlabWebhookValidatorFromConfig(new ConfigReader({}))).toBe(
      undefined,
    );
  });

  it('accepts the right X-Gitlab-Token, refuses a missing one with 401 and a wrong one with 403', async () => {
    const validator = createGitlabWebhookValidator({ secretToken: SECRET });
    const headers = gitlabWebhookHeaders({
      event: 'Pipeline Hook',
      body,
      auth: { secretToken: SECRET },
    });
    expect(await validate(validator, request(body, headers))).toBeUndefined();
    const { 'x-gitlab-token': _omit, ...without } = headers;
    expect(await validate(validator, request(body, without))).toEqual({
      status: 401,
      payload: { message: 'missing X-Gitlab-Token' },
    });
    const wrong = await validate(
      validator,
      request(body, { ...headers, 'x-gitlab-token': `${SECRET}x` }),
    );
    expect(wrong).toEqual({
      status: 403,
      payload: { message: 'invalid X-Gitlab-Token' },
    });
    expect(JSON.stringify(wrong)).not.toContain(SECRET);
  });

  it('reads its secrets from ciExperience.providers.gitlab, not from the official module key', async () => {
    const validator = gitlabWebhookValidatorFromConfig(
      new ConfigReader({
        ciExperience: { providers: { gitlab: { webhookSecret: SECRET } } },
      }),
    );
    expect(
      await validate(validator, request(body, { 'x-gitlab-token': 'wrong' })),
    ).toMatchObject({ status: 403 });
    expect(
      await validate(validator, request(body, { 'x-gitlab-token': SECRET })),
    ).toBeUndefined();
    // That key switches on the module's own ingress; reading it here too
    // would put two ingresses on one topic.
    expect(
      gitlabWebhookValidatorFromConfig(
        new ConfigReader({
          events: { modules: { gitlab: { webhookSecret: SECRET } } },
        }),
      ),
    ).toBeUndefined();
  });

  it('refuses a signing token that is not whsec_<base64>', () => {
    expect(() =>
      createGitlabWebhookValidator({ signingToken: 'whsec_' }),
    ).toThrow(/whsec_<base64>/);
  });

  describe('with both a secret token and a signing token', () => {
    const validator = createGitlabWebhookValidator({
      secretToken: SECRET,
      signingToken: SIGNING,
      now: () => NOW,
    });
    const headers = (auth: { secretToken?: string; signingToken?: string }) =>
      gitlabWebhookHeaders({
        event: 'Pipeline Hook',
        body,
        auth,
        now: () => NOW,
      });

    it('accepts a signed delivery without a token, and an unsigned one with the right token', async () => {
      expect(
        await validate(
          validator,
          request(body, headers({ signingToken: SIGNING })),
        ),
      ).toBeUndefined();
      expect(
        await validate(
          validator,
          request(body, headers({ secretToken: SECRET })),
        ),
      ).toBeUndefined();
      expect(
        await validate(
          validator,
          request(
            body,
            headers({ secretToken: SECRET, signingToken: SIGNING }),
          ),
        ),
      ).toBeUndefined();
    });

    it('refuses a bad signature even with the right token, and a wrong token even with a good signature', async () => {
      const other = `whsec_${Buffer.from('another key').toString('base64')}`;
      expect(
        await validate(
          validator,
          request(body, headers({ secretToken: SECRET, signingToken: other })),
        ),
      ).toEqual({
        status: 403,
        payload: { message: 'invalid webhook signature' },
      });
      expect(
        await validate(
          validator,
          request(
            body,
            headers({ secretToken: `${SECRET}x`, signingToken: SIGNING }),
          ),
        ),
      ).toEqual({
        status: 403,
        payload: { message: 'invalid X-Gitlab-Token' },
      });
    });

    it('refuses a delivery with neither with 401', async () => {
      expect(await validate(validator, request(body, headers({})))).toEqual({
        status: 401,
        payload: { message: 'missing X-Gitlab-Token' },
      });
    });
  });

  describe('with a signing token', () => {
    const validator = createGitlabWebhookValidator({
      signingToken: SIGNING,
      now: () => NOW,
    });
    const signed = (at = NOW, payload = body) =>
      gitlabWebhookHeaders({
        event: 'Pipeline Hook',
        body: payload,
        auth: { signingToken: SIGNING },
        idempotencyKey: 'key-1',
        now: () => at,
      });

    it('signs as the simulator does', () => {
      expect(signGitlabWebhook(SIGNING, 'id', 1700000000, body)).toBe(
        signGitlabPayload(SIGNING, 'id', 1700000000, body),
      );
    });

    it('accepts a valid signature, also among several', async () => {
      const headers = signed();
      expect(await validate(validator, request(body, headers))).toBeUndefined();
      expect(
        await validate(
          validator,
          request(body, {
            ...headers,
            'webhook-signature': `v1,AAAA ${headers['webhook-signature']}`,
          }),
        ),
      ).toBeUndefined();
    });

    it('refuses a missing signature with 401', async () => {
      const { 'webhook-signature': _s, ...headers } = signed();
      expect(await validate(validator, request(body, headers))).toEqual({
        status: 401,
        payload: { message: 'missing webhook signature' },
      });
    });

    it('refuses a wrong signature or a changed body with 403', async () => {
      const headers = signed();
      expect(
        await validate(
          validator,
          request(body, {
            ...headers,
            'webhook-signature': signGitlabPayload(
              `whsec_${Buffer.from('another key').toString('base64')}`,
              'key-1',
              Math.floor(NOW / 1000),
              body,
            ),
          }),
        ),
      ).toMatchObject({ status: 403 });
      const changed = body.replace('"success"', '"failed"');
      expect(await validate(validator, request(changed, headers))).toEqual({
        status: 403,
        payload: { message: 'invalid webhook signature' },
      });
    });

    it('refuses a replayed delivery whose timestamp is too old, or from the future', async () => {
      expect(
        await validate(validator, request(body, signed(NOW - 301_000))),
      ).toEqual({
        status: 401,
        payload: { message: 'webhook timestamp outside the allowed window' },
      });
      expect(
        await validate(validator, request(body, signed(NOW + 301_000))),
      ).toMatchObject({ status: 401 });
      expect(
        await validate(validator, request(body, signed(NOW - 299_000))),
      ).toBeUndefined();
    });
  });
});
