import { CacheService, LoggerService } from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import {
  EventParams,
  RequestDetails,
  RequestValidationContext,
} from '@backstage/plugin-events-node';
import {
  CiJob,
  isFinalStatus,
  matchesGlob,
} from '@ci-experience/plugin-ci-experience-common';
import {
  boundJobToRun,
  CiDeliveryParser,
  CiProvider,
  CiProviderRun,
  CiProviderWebhook,
  CiRunPage,
  CiSource,
  CiSourceInfo,
  headerOf,
  runIdOf,
  toInstant,
  toOptionalInstant,
} from '@ci-experience/plugin-ci-experience-node';
import { createHash, timingSafeEqual } from 'node:crypto';
import { CiEvent, ciEventSchema, SOURCE_NAME } from './schema';

/**
 * The provider id of runs posted to CI Experience.
 *
 * @public
 */
export const CI_EVENTS_PROVIDER_ID = 'ci-events';

/**
 * The annotation that names an entity's CI events sources, comma-separated,
 * e.g. `acme/payments-nightly`.
 *
 * @public
 */
export const CI_EVENTS_SOURCE_ANNOTATION = 'ci-experience.io/ci-events-source';

/**
 * The subscriber name of the webhook part: runs are posted to
 * `POST /api/ci-experience/webhooks/ci-events`.
 *
 * @public
 */
export const CI_EVENTS_SUBSCRIBER = 'ci-events';

/** The events topic the posts are parsed under. */
const TOPIC = 'ci-events.run';
/** Runs of one source the sync can read back, newest first. */
const MAX_RUNS_PER_SOURCE = 100;
const DAY_MS = 86_400_000;

/** The source of a CI events source name. */
function ciEventsSource(name: string): CiSource {
  return {
    provider: CI_EVENTS_PROVIDER_ID,
    key: `${CI_EVENTS_PROVIDER_ID}:${name}`,
    source: name,
  };
}

const runKey = (sourceKey: string, id: string, attempt: number) =>
  `ci-events:run:${sourceKey}:${id}:${attempt}`;
const indexKey = (sourceKey: string) => `ci-events:index:${sourceKey}`;

/** A post without a delivery id is identified by its content: a retry is a duplicate. */
function contentIdOf(event: EventParams): string {
  return `sha256:${createHash('sha256')
    .update(JSON.stringify(event.eventPayload))
    .digest('base64url')
    .slice(0, 43)}`;
}

/** The run and jobs of a post, times canonical (an impossible one throws). */
function toKeptRun(post: CiEvent): KeptRun {
  const r = post.run;
  const createdAt = toInstant(r.createdAt);
  const startedAt = toOptionalInstant(r.startedAt);
  const finishedAt = isFinalStatus(r.status as any)
    ? toOptionalInstant(r.finishedAt)
    : undefined;
  const run: CiProviderRun = {
    providerRunId: r.id,
    workflow: r.workflow,
    runNumber: r.number,
    attempt: r.attempt,
    status: r.status as CiProviderRun['status'],
    providerStatus: r.providerStatus ?? r.status,
    url: r.url,
    branch: r.branch,
    commitSha: r.commitSha?.toLowerCase(),
    commitMessage: r.commitMessage,
    actor: r.actor,
    event: r.event,
    createdAt,
    startedAt,
    finishedAt,
    durationMs: durationOf(startedAt, finishedAt),
    queuedMs: durationOf(createdAt, startedAt),
    updatedAt: finishedAt ?? startedAt ?? createdAt,
  };
  const jobs = (r.jobs ?? []).map(j => {
    const jobStarted = toOptionalInstant(j.startedAt);
    const jobFinished = toOptionalInstant(j.finishedAt);
    const job: CiJob = {
      id: j.id,
      name: j.name,
      status: j.status as CiJob['status'],
      providerStatus: j.status,
      url: j.url,
      runnerName: j.runnerName,
      startedAt: jobStarted,
      finishedAt: jobFinished,
      durationMs: durationOf(jobStarted, jobFinished),
      steps: j.steps?.map((s, i) => {
        const stepStarted = toOptionalInstant(s.startedAt);
        const stepFinished = toOptionalInstant(s.finishedAt);
        return {
          number: i + 1,
          name: s.name,
          status: s.status as CiJob['status'],
          providerStatus: s.status,
          startedAt: stepStarted,
          finishedAt: stepFinished,
          durationMs: durationOf(stepStarted, stepFinished),
        };
      }),
    };
    return boundJobToRun(job, run);
  });
  return { run, jobs };
}

function durationOf(from?: string, to?: string): number | undefined {
  if (!from || !to) {
    return undefined;
  }
  const ms = Date.parse(to) - Date.parse(from);
  return ms >= 0 ? ms : undefined;
}

/**
 * One sender: a token, and the sources it may post runs for.
 *
 * @public
 */
export interface CiEventsSender {
  /** The sender's token, sent as `Authorization: Bearer <token>`. */
  token: string;
  /** Globs over the source names the sender may post for. */
  sources: string[];
}

/** A posted run as kept for the sync: the run and its jobs. */
interface KeptRun {
  run: CiProviderRun;
  jobs: CiJob[];
}

/** The runs of one source, newest first. */
type RunIndex = Array<{ id: string; attempt: number }>;

/**
 * Options of `CiEventsProvider`.
 *
 * @public
 */
export interface CiEventsProviderOptions {
  /** Who may post, and for which sources. */
  senders: CiEventsSender[];
  /** Where posted runs are kept for the sync to read (the plugin's cache). */
  cache: CacheService;
  /** Where refused posts are logged. */
  logger: LoggerService;
  /** How long posted runs are kept, in days. Default 7. */
  keepDays?: number;
}

/**
 * A provider for any CI: the CI posts each run's state, as JSON, to
 * `POST /api/ci-experience/webhooks/ci-events` with a sender's token, and
 * its runs show in the CI tab of every entity that names the source in
 * `ci-experience.io/ci-events-source`. Written only against
 * `@ci-experience/plugin-ci-experience-node`.
 *
 * Posts are applied at once; the runs are also kept in the cache for a
 * week, so that runs posted before an entity named their source appear at
 * its first sync.
 *
 * @public
 */
export class CiEventsProvider implements CiProvider {
  /**
   * The provider from `ciExperience.providers.ciEvents`; undefined when no
   * sender is configured.
   */
  static fromConfig(
    config: Config,
    options: { cache: CacheService; logger: LoggerService },
  ): CiEventsProvider | undefined {
    const section = config.getOptionalConfig('ciExperience.providers.ciEvents');
    const senders = (section?.getOptionalConfigArray('senders') ?? []).map(
      s => ({
        token: s.getString('token'),
        sources: s.getStringArray('sources'),
      }),
    );
    if (senders.length === 0) {
      return undefined;
    }
    for (const sender of senders) {
      if (sender.token.length < 16) {
        throw new Error(
          'ciExperience.providers.ciEvents.senders[].token must be at least 16 characters',
        );
      }
    }
    return new CiEventsProvider({
      ...options,
      senders,
      keepDays: section?.getOptionalNumber('keepDays'),
    });
  }

  /** `ci-events`. */
  readonly id = CI_EVENTS_PROVIDER_ID;
  /** `ci-experience.io/ci-events-source`. */
  readonly annotations = [CI_EVENTS_SOURCE_ANNOTATION];
  /** None: the portal cannot reach the CI (no logs, reruns or cancels). */
  readonly capabilities = {};
  /** Posts at `POST /api/ci-experience/webhooks/ci-events`. */
  readonly webhook: CiProviderWebhook;

  private readonly cache: CacheService;
  private readonly keepMs: number;

  constructor(private readonly options: CiEventsProviderOptions) {
    this.keepMs = Math.max(1, options.keepDays ?? 7) * DAY_MS;
    this.cache = options.cache.withOptions({ defaultTtl: this.keepMs });
    this.webhook = {
      subscriber: CI_EVENTS_SUBSCRIBER,
      label: 'CI events',
      topics: [TOPIC],
      parse: this.parse,
      validator: (request, context) => this.validate(request, context),
    };
  }

  /** The sources `ci-experience.io/ci-events-source` names (at most 20). */
  getSources(entity: Entity): CiSource[] {
    const raw = entity.metadata.annotations?.[CI_EVENTS_SOURCE_ANNOTATION];
    if (!raw) {
      return [];
    }
    const names = [
      ...new Set(
        raw
          .split(',')
          .map(s => s.trim())
          .filter(Boolean),
      ),
    ];
    return names
      .filter(name => SOURCE_NAME.test(name))
      .slice(0, 20)
      .map(name => ciEventsSource(name));
  }

  /** Nothing: a posted run says its branch, not the default one. */
  async getSourceInfo(): Promise<CiSourceInfo> {
    return {};
  }

  /** The source's posted runs still kept, newest post first. */
  async listRuns(source: CiSource): Promise<CiRunPage> {
    const index = await this.index(source.key);
    const kept = await Promise.all(
      index.map(r => this.kept(source.key, r.id, r.attempt)),
    );
    return {
      runs: kept.filter((k): k is KeptRun => Boolean(k)).map(k => k.run),
    };
  }

  /** One kept run attempt. */
  async getRun(
    source: CiSource,
    providerRunId: string,
    attempt: number,
  ): Promise<CiProviderRun | undefined> {
    return (await this.kept(source.key, providerRunId, attempt))?.run;
  }

  /** The jobs of a kept run attempt, as last posted. */
  async listJobs(source: CiSource, run: CiProviderRun): Promise<CiJob[]> {
    return (
      (await this.kept(source.key, run.providerRunId, run.attempt))?.jobs ?? []
    );
  }

  /** Posts are refused without a sender's token, or for a source it may not post. */
  private async validate(
    request: RequestDetails,
    context: RequestValidationContext,
  ): Promise<void> {
    const sender = this.senderOf(request.headers.authorization);
    if (!sender) {
      context.reject({
        status: 401,
        payload: { message: 'A CI events sender token is required' },
      });
      return;
    }
    const source = (request.body as { source?: unknown } | undefined)?.source;
    if (
      typeof source === 'string' &&
      !sender.sources.some(glob => matchesGlob(source, glob))
    ) {
      context.reject({
        status: 403,
        payload: {
          message: `This sender may not post runs for the source "${source.slice(
            0,
            200,
          )}"`,
        },
      });
    }
  }

  private senderOf(
    header: string | string[] | undefined,
  ): CiEventsSender | undefined {
    const value = Array.isArray(header) ? header[0] : header;
    const token = /^Bearer (\S{1,1024})$/i.exec(value ?? '')?.[1];
    if (!token) {
      return undefined;
    }
    const given = createHash('sha256').update(token).digest();
    return this.options.senders.find(s =>
      timingSafeEqual(createHash('sha256').update(s.token).digest(), given),
    );
  }

  private readonly parse: CiDeliveryParser = async (event, lookup) => {
    const parsed = ciEventSchema.safeParse(event.eventPayload);
    if (!parsed.success) {
      return {
        ok: false,
        reason: 'malformed',
        message: `malformed CI events post: ${parsed.error.issues
          .slice(0, 5)
          .map(i => `${i.path.join('.') || '(body)'}: ${i.message}`)
          .join('; ')}`,
      };
    }
    const post = parsed.data;
    // Posted straight to the plugin, the validator checked the sender; from
    // the events bus, the topic's publisher did. Either way check again.
    const sender = this.senderOf(headerOf(event, 'authorization'));
    if (
      event.metadata &&
      'authorization' in event.metadata &&
      (!sender || !sender.sources.some(g => matchesGlob(post.source, g)))
    ) {
      return {
        ok: false,
        reason: 'unsupported',
        message: `CI events post for ${post.source} from a sender that may not post it`,
      };
    }
    const source = ciEventsSource(post.source);
    const deliveryId = post.deliveryId ?? contentIdOf(event);
    const { run, jobs } = toKeptRun(post);
    // Kept first: a post for a source no entity names yet is read by the
    // first sync after one does.
    await this.keep(source.key, { run, jobs });
    if (!(await lookup(source.key))) {
      return {
        ok: false,
        reason: 'unclaimed',
        deliveryId,
        sourceKey: source.key,
        message: `No entity names the CI events source ${post.source} (kept for its first sync)`,
      };
    }
    const runId = runIdOf(source.key, run.providerRunId, run.attempt);
    return {
      ok: true,
      deliveryId,
      sourceKey: source.key,
      source: post.source,
      changedAt: run.updatedAt,
      write: {
        deliveryId,
        event: 'run',
        sourceKey: source.key,
        runs: [
          {
            ...run,
            id: runId,
            provider: CI_EVENTS_PROVIDER_ID,
            source: post.source,
            sourceKey: source.key,
            providerUpdatedAt: run.updatedAt,
            // A post carries the run's whole job list, as it is now.
            jobsRead: true,
          },
        ],
        jobs: jobs.map(job => ({ runId, job })),
      },
    };
  };

  private async keep(sourceKey: string, kept: KeptRun): Promise<void> {
    const { providerRunId: id, attempt } = kept.run;
    await this.cache.set(runKey(sourceKey, id, attempt), kept as any);
    const index = (await this.index(sourceKey)).filter(
      r => !(r.id === id && r.attempt === attempt),
    );
    index.unshift({ id, attempt });
    await this.cache.set(
      indexKey(sourceKey),
      index.slice(0, MAX_RUNS_PER_SOURCE),
    );
  }

  private async index(sourceKey: string): Promise<RunIndex> {
    const value = await this.cache.get<RunIndex>(indexKey(sourceKey));
    return Array.isArray(value) ? value : [];
  }

  private async kept(
    sourceKey: string,
    id: string,
    attempt: number,
  ): Promise<KeptRun | undefined> {
    return (await this.cache.get(runKey(sourceKey, id, attempt))) as
      | KeptRun
      | undefined;
  }
}
