import {
  CiParsedDelivery,
  CiSourceLookup,
  CiStoredRun,
} from '@ci-experience/plugin-ci-experience-node';
import {
  EventParams,
  RequestDetails,
  RequestValidationContext,
  RequestValidator,
} from '@backstage/plugin-events-node';
import { mapJenkinsStatus } from '@ci-experience/plugin-ci-experience-common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import {
  runIdOf,
  endInRange,
  instantMillis,
  OutOfRangeDateError,
  toInstant,
} from '@ci-experience/plugin-ci-experience-node';
import { hostKeyOf } from './config';
import { JENKINS_PROVIDER_ID } from './JenkinsProvider';
import {
  branchName,
  branchOfJobName,
  providerRunIdOf,
  text,
  webUrl,
} from './mapping';

/**
 * The events topic the HTTP ingress publishes Jenkins deliveries to.
 *
 * @public
 */
export const JENKINS_WEBHOOK_TOPIC = 'jenkins';
/**
 * The header the shared webhook token travels in.
 *
 * @public
 */
export const JENKINS_TOKEN_HEADER = 'x-jenkins-token';

/** A duration in milliseconds, within what a Date holds. */
const durationMillis = z.number().int().min(0).max(8_640_000_000_000_000);

/**
 * One delivery of the Jenkins Notification plugin (JSON format), the fields
 * the model needs.
 *
 * @public
 */
export const jenkinsNotificationSchema = z.object({
  name: z.string().max(512),
  url: z.string().max(2048),
  build: z
    .object({
      full_url: webUrl,
      number: z.number().int().min(0).max(2_147_483_647),
      phase: z.enum(['QUEUED', 'STARTED', 'COMPLETED', 'FINALIZED']),
      status: z.string().max(64).nullish(),
      url: z.string().max(2048),
      timestamp: instantMillis.nullish(),
      duration: durationMillis.nullish(),
      scm: z
        .object({
          branch: z.string().nullish(),
          commit: z.string().nullish(),
        })
        .nullish(),
    })
    .superRefine((build, ctx) =>
      endInRange(ctx, ['duration'], build.timestamp, build.duration),
    ),
});

/** Job names from a Jenkins job URL path, e.g. `job/a/job/b%252Fc/`. */
function jobNamesOf(path: string): string[] | undefined {
  const segments = path.split('/').filter(Boolean);
  if (segments.length === 0 || segments.length % 2 !== 0) {
    return undefined;
  }
  const names: string[] = [];
  for (let i = 0; i < segments.length; i += 2) {
    if (segments[i] !== 'job') {
      return undefined;
    }
    try {
      names.push(decodeURIComponent(segments[i + 1]));
    } catch {
      return undefined;
    }
  }
  return names;
}

/**
 * Turns one Notification plugin delivery into the write it makes: a run of
 * the job's source, or of its multibranch project's source (the job then
 * being a branch job). Jenkins sends no delivery id, so the id is the job,
 * the build number and the phase: a repeated phase of one build is a
 * duplicate. The store keeps writes monotonic, so a `STARTED` arriving after
 * `COMPLETED` changes nothing.
 *
 * @public
 */
export async function parseJenkinsDelivery(
  event: EventParams,
  lookup: CiSourceLookup,
  options: { now?: () => number } = {},
): Promise<CiParsedDelivery> {
  const parsed = jenkinsNotificationSchema.safeParse(event.eventPayload);
  if (!parsed.success) {
    return {
      ok: false,
      reason: 'malformed',
      message: `malformed Jenkins delivery: ${parsed.error.issues
        .slice(0, 5)
        .map(i => `${i.path.join('.') || '(payload)'}: ${i.message}`)
        .join('; ')}`,
    };
  }
  const { build } = parsed.data;
  // full_url is the root URL followed by the build's relative url.
  const relative = build.url.replace(/^\/+/, '');
  if (!relative || !build.full_url.endsWith(relative)) {
    return {
      ok: false,
      reason: 'malformed',
      message: 'build.full_url does not end with build.url',
    };
  }
  const root = build.full_url.slice(0, -relative.length);
  const jobUrl = parsed.data.url.replace(/^\/+/, '');
  const names = jobNamesOf(jobUrl);
  if (!names || !relative.startsWith(jobUrl)) {
    return {
      ok: false,
      reason: 'malformed',
      message: `url ${jobUrl.slice(
        0,
        200,
      )} is not a Jenkins job path of build ${build.number}`,
    };
  }
  let hostKey: string;
  try {
    hostKey = hostKeyOf(root);
  } catch {
    return {
      ok: false,
      reason: 'malformed',
      message: 'build.full_url has no root URL',
    };
  }
  const deliveryId = `jenkins-${createHash('sha256')
    .update(`${hostKey}\n${names.join('/')}\n${build.number}\n${build.phase}`)
    .digest('base64url')}`;

  const keyOf = (fullName: string) =>
    `${JENKINS_PROVIDER_ID}:${hostKey}/${fullName}`.toLowerCase();
  let sourceKey = keyOf(names.join('/'));
  let source = await lookup(sourceKey);
  let branchJob: string | undefined;
  if (!source && names.length > 1) {
    // A branch job of a multibranch project the entity names.
    const parentKey = keyOf(names.slice(0, -1).join('/'));
    const parent = await lookup(parentKey);
    if (parent) {
      sourceKey = parentKey;
      source = parent;
      branchJob = names[names.length - 1];
    }
  }
  if (!source) {
    return {
      ok: false,
      reason: 'unclaimed',
      deliveryId,
      sourceKey,
      message: `Ignored Jenkins delivery ${deliveryId} for ${names.join(
        '/',
      )} on ${hostKey}: no entity claims it`,
    };
  }

  const final = build.phase === 'COMPLETED' || build.phase === 'FINALIZED';
  const mapped = mapJenkinsStatus({
    queued: build.phase === 'QUEUED',
    building: build.phase === 'STARTED',
    result: final ? text(build.status, 64) : undefined,
  });
  const now = options.now?.() ?? Date.now();
  const started = build.timestamp ?? now;
  let startedAt: string;
  let finishedAt: string | undefined;
  try {
    startedAt = toInstant(started);
    finishedAt =
      final && build.duration !== null && build.duration !== undefined
        ? toInstant(started + build.duration)
        : undefined;
  } catch (error) {
    // Without build.timestamp the schema cannot bound now + duration.
    if (error instanceof OutOfRangeDateError) {
      return {
        ok: false,
        reason: 'malformed',
        deliveryId,
        sourceKey,
        message: `malformed Jenkins delivery ${deliveryId}: build.duration: ${error.message}`,
      };
    }
    throw error;
  }
  const providerRunId = providerRunIdOf(build.number, branchJob);
  const run: CiStoredRun = {
    id: runIdOf(sourceKey, providerRunId, 1),
    provider: JENKINS_PROVIDER_ID,
    source: source.source,
    sourceKey,
    providerRunId,
    workflow: text(source.source, 512),
    runNumber: build.number,
    attempt: 1,
    ...mapped,
    branch: text(
      branchJob !== undefined
        ? branchOfJobName(branchJob)
        : branchName(build.scm?.branch),
      512,
    ),
    commitSha: text(build.scm?.commit, 64),
    url: build.full_url,
    createdAt: startedAt,
    startedAt: build.phase === 'QUEUED' ? undefined : startedAt,
    finishedAt,
    durationMs: finishedAt ? build.duration ?? undefined : undefined,
    // No provider version: the Notification plugin says nothing of the
    // build's stages, so this write must not pass for what a sync reads
    // (the same status and time), or the sync would keep the stages it
    // read while the build ran: a finished build with a stage "running"
    // for ever. Unset, the next sync reads the build and its stages again;
    // the store still never moves the run back (status ranks first).
    providerUpdatedAt: undefined,
  };
  return {
    ok: true,
    deliveryId,
    sourceKey,
    source: source.source,
    changedAt: finishedAt ?? startedAt,
    write: { deliveryId, event: build.phase.toLowerCase(), runs: [run] },
  };
}

/** Where a delivery's token came from. */
type TokenSource = 'header' | 'basic' | 'query';

function firstOf(raw: unknown): string | undefined {
  const value: unknown = Array.isArray(raw) ? raw[0] : raw;
  return typeof value === 'string' && value ? value : undefined;
}

/**
 * The password of `Authorization: Basic`: what the Notification plugin sends
 * for an endpoint URL with user info (`https://jenkins:<token>@host/...`).
 */
function basicPassword(request: RequestDetails): string | undefined {
  const match = firstOf(request.headers.authorization)?.match(
    /^Basic[ ]+([A-Za-z0-9+/=]{1,4096})$/i,
  );
  if (!match) {
    return undefined;
  }
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && colon < decoded.length - 1
    ? decoded.slice(colon + 1)
    : undefined;
}

function tokenOf(
  request: RequestDetails,
): { token: string; from: TokenSource } | undefined {
  const header = firstOf(request.headers[JENKINS_TOKEN_HEADER]);
  if (header) {
    return { token: header, from: 'header' };
  }
  const basic = basicPassword(request);
  if (basic) {
    return { token: basic, from: 'basic' };
  }
  const query = firstOf(request.query?.token);
  return query ? { token: query, from: 'query' } : undefined;
}

/** Constant time, whatever the lengths: compares digests of both. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Options of `createJenkinsRequestValidator`.
 *
 * @public
 */
export interface JenkinsRequestValidatorOptions {
  /**
   * Accept the token in the `token` query parameter
   * (`ciExperience.providers.jenkins.allowTokenInQuery`). Off by default: a
   * URL, query included, is written to proxy and access logs, Backstage's
   * own request log among them.
   */
  allowTokenInQuery?: boolean;
  /** Told, once, that a delivery was refused for its token in the URL. */
  onQueryTokenRefused?: () => void;
}

/**
 * The HTTP ingress validator of the `jenkins` topic: the shared token of
 * `ciExperience.providers.jenkins.webhookToken`, compared in constant time.
 * It travels in the `X-Jenkins-Token` header (a proxy or a sender that can
 * set headers), or as the password of `Authorization: Basic` (the
 * Notification plugin sends that for an endpoint URL with user info), or,
 * only with `allowTokenInQuery`, in the `token` query parameter. Missing:
 * 401; wrong: 403. The token is no signature: the Notification plugin signs
 * nothing and sends no timestamp, so a captured delivery can be replayed; a
 * replay has the delivery id of the original and is a duplicate.
 *
 * @public
 */
export function createJenkinsRequestValidator(
  webhookToken: string,
  options: JenkinsRequestValidatorOptions = {},
): RequestValidator {
  if (!webhookToken) {
    throw new Error('ciExperience.providers.jenkins.webhookToken is empty');
  }
  let toldQueryRefused = false;
  return async (
    request: RequestDetails,
    context: RequestValidationContext,
  ): Promise<void> => {
    const given = tokenOf(request);
    if (given?.from === 'query' && !options.allowTokenInQuery) {
      if (!toldQueryRefused) {
        toldQueryRefused = true;
        options.onQueryTokenRefused?.();
      }
      context.reject({
        status: 401,
        payload: {
          message:
            'A token in the URL is refused (it lands in access logs): send X-Jenkins-Token, or Basic auth from the endpoint URL',
        },
      });
      return;
    }
    if (!given) {
      context.reject({
        status: 401,
        payload: { message: 'Missing X-Jenkins-Token' },
      });
      return;
    }
    if (!sameSecret(given.token, webhookToken)) {
      context.reject({
        status: 403,
        payload: { message: 'Wrong X-Jenkins-Token' },
      });
    }
  };
}
