import { LoggerService } from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import { InputError, NotFoundError } from '@backstage/errors';
import {
  CiJob,
  getJenkinsJobRefs,
  JENKINS_JOB_FULL_NAME_ANNOTATION,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiJobLogText,
  CiProvider,
  CiProviderCapabilities,
  CiProviderRun,
  CiRunPage,
  CiRunRef,
  CiSource,
  CiSourceInfo,
} from '@ci-experience/plugin-ci-experience-node';
import { z } from 'zod';
import { CiMetrics } from '../../service/metrics';
import { instantMillis } from '../../service/instantSchema';
import { RateLimiterOptions } from '../shared/RateLimiter';
import { JenkinsInstance, readJenkinsConfig } from './config';
import { JenkinsApi } from './JenkinsApi';
import {
  BUILD_FIELDS,
  jenkinsBuildSchema,
  jenkinsStageSchema,
  parseItems,
  parseProviderRunId,
  toJobs,
  toProviderRun,
  toQueuedRun,
  webUrl,
} from './mapping';

/** The provider id of Jenkins. */
export const JENKINS_PROVIDER_ID = 'jenkins';

const PAGE_SIZE = 100;
/** Branch jobs of a multibranch project read at most. */
const MAX_BRANCH_JOBS = 100;

/** `{ o: offset }` for a job; `{ o: { branchJob: offset } }` for a multibranch project. */
const pageToken = z.object({
  o: z.union([
    z.number().int().min(0).max(1_000_000),
    z.record(z.number().int().min(0).max(1_000_000)),
  ]),
});

/** The job's path in Jenkins URLs: `job/<folder>/job/<name>`. */
export function jobPath(jobFullName: string): string {
  return jobFullName
    .split('/')
    .map(segment => `job/${encodeURIComponent(segment)}`)
    .join('/');
}

/**
 * Jenkins, for entities annotated with `jenkins.io/job-full-name`: the builds
 * of Pipeline and freestyle jobs, in folders or not, and of multibranch
 * projects (each branch job's builds are runs on that branch); Pipeline
 * stages are the jobs of a run, where the Pipeline Stage View API answers.
 * Jenkins has no re-run attempts (a rebuild is a new build), so every run
 * is attempt 1.
 */
export class JenkinsProvider implements CiProvider {
  readonly id = JENKINS_PROVIDER_ID;
  /**
   * A rerun is a new build of the job (Jenkins has no attempts), so there is
   * no rerun of failed stages only.
   */
  readonly capabilities: CiProviderCapabilities = {
    logs: true,
    rerun: true,
    rerunFailed: false,
    cancel: true,
  };

  /** The provider, or undefined when no instance is configured. */
  static fromConfig(
    config: Config,
    options: { logger: LoggerService; metrics?: CiMetrics },
  ): JenkinsProvider | undefined {
    const read = readJenkinsConfig(config);
    if (read.instances.length === 0) {
      return undefined;
    }
    return new JenkinsProvider({
      instances: read.instances,
      limits: read.limits,
      maxResponseBytes: read.maxResponseBytes,
      ...options,
    });
  }

  readonly api: JenkinsApi;
  private readonly instances: JenkinsInstance[];
  private readonly logger: LoggerService;

  constructor(options: {
    instances: JenkinsInstance[];
    logger: LoggerService;
    limits?: RateLimiterOptions;
    metrics?: CiMetrics;
    maxResponseBytes?: number;
  }) {
    this.instances = options.instances;
    this.logger = options.logger;
    this.api = new JenkinsApi({
      logger: options.logger,
      limits: options.limits ?? { requestsPerHour: 3600, maxConcurrency: 4 },
      metrics: options.metrics,
      maxResponseBytes: options.maxResponseBytes,
    });
  }

  getSources(entity: Entity): CiSource[] {
    const sources: CiSource[] = [];
    for (const ref of getJenkinsJobRefs(entity)) {
      const instance = ref.instance
        ? this.instances.find(i => i.name === ref.instance)
        : this.instances[0];
      if (!instance) {
        this.logger.warn(
          `Ignoring ${JENKINS_JOB_FULL_NAME_ANNOTATION} "${ref.instance}:${ref.jobFullName}" of ${entity.metadata.name}: no Jenkins instance is named ${ref.instance}`,
        );
        continue;
      }
      const key =
        `${this.id}:${instance.hostKey}/${ref.jobFullName}`.toLowerCase();
      if (!sources.some(s => s.key === key)) {
        sources.push({
          provider: this.id,
          key,
          source: ref.jobFullName,
          host: instance.hostKey,
        });
      }
    }
    return sources;
  }

  /** Jenkins does not say which branch is the default one; no request is made. */
  async getSourceInfo(_source: CiSource): Promise<CiSourceInfo> {
    return {};
  }

  async listRuns(
    source: CiSource,
    options: { page?: string },
  ): Promise<CiRunPage> {
    const instance = this.instanceOf(source);
    const token = options.page ? decodeToken(options.page) : undefined;
    if (token && typeof token.o === 'object') {
      return this.listBranchRuns(source, instance, token.o);
    }
    const from = token ? (token.o as number) : 0;
    const builds = `builds[${BUILD_FIELDS}]{${from},${from + PAGE_SIZE}}`;
    // The first page asks both ways: a job answers with builds, a multibranch
    // project with its branch jobs.
    const tree = token
      ? builds
      : `${builds},inQueue,nextBuildNumber,queueItem[inQueueSince],jobs[name,url,${builds}]{0,${MAX_BRANCH_JOBS}}`;
    const body = await this.api.get<Record<string, unknown>>(
      instance,
      `${jobPath(source.source)}/api/json?tree=${encodeURIComponent(tree)}`,
      `job ${source.source}`,
    );
    if (!token && !Array.isArray(body?.builds)) {
      if (isMultibranch(body)) {
        return this.pageOfBranches(source, body.jobs, {}, 0);
      }
      throw new NotFoundError(
        `Jenkins ${source.source} on ${instance.hostKey} is a folder, not a job; name a job in it in ${JENKINS_JOB_FULL_NAME_ANNOTATION}`,
      );
    }
    const runs = parseItems(
      jenkinsBuildSchema,
      body?.builds,
      `build of ${source.source}`,
      this.logger,
    ).map(b => toProviderRun(b, { workflow: source.source }));
    const queued = this.queuedRun(source, instance, body, token !== undefined);
    const count = Array.isArray(body?.builds) ? body.builds.length : 0;
    return {
      runs: queued ? [queued, ...runs] : runs,
      nextPage:
        count >= PAGE_SIZE ? encodeToken({ o: from + PAGE_SIZE }) : undefined,
    };
  }

  private queuedRun(
    source: CiSource,
    instance: JenkinsInstance,
    body: Record<string, unknown> | undefined,
    later: boolean,
  ): CiProviderRun | undefined {
    const item = body?.queueItem as { inQueueSince?: unknown } | undefined;
    const next = body?.nextBuildNumber;
    if (
      later ||
      body?.inQueue !== true ||
      // A queue time out of range is no queued run: the builds still sync.
      !instantMillis.safeParse(item?.inQueueSince).success ||
      typeof next !== 'number' ||
      !Number.isInteger(next) ||
      next < 1 ||
      next > 2_147_483_647
    ) {
      return undefined;
    }
    return toQueuedRun({
      workflow: source.source,
      number: next,
      inQueueSince: item!.inQueueSince as number,
      url: `${instance.baseUrl}/${jobPath(source.source)}/`,
    });
  }

  private async listBranchRuns(
    source: CiSource,
    instance: JenkinsInstance,
    offsets: Record<string, number>,
  ): Promise<CiRunPage> {
    const values = Object.values(offsets);
    if (values.length === 0) {
      return { runs: [] };
    }
    const min = Math.min(...values);
    const max = Math.max(...values);
    const tree = `_class,jobs[name,url,builds[${BUILD_FIELDS}]{${min},${
      max + PAGE_SIZE
    }}]{0,${MAX_BRANCH_JOBS}}`;
    const body = await this.api.get<Record<string, unknown>>(
      instance,
      `${jobPath(source.source)}/api/json?tree=${encodeURIComponent(tree)}`,
      `job ${source.source}`,
    );
    return this.pageOfBranches(source, body?.jobs, offsets, min);
  }

  /**
   * One page of a multibranch project's runs, newest first across its
   * branch jobs: each branch job's builds from its offset, merged by start
   * time; the next page token carries each branch job's new offset.
   */
  private pageOfBranches(
    source: CiSource,
    jobs: unknown,
    offsets: Record<string, number>,
    windowFrom: number,
  ): CiRunPage {
    const branchJobs = parseItems(
      z.object({ name: z.string().min(1).max(512), builds: z.unknown() }),
      jobs,
      `branch job of ${source.source}`,
      this.logger,
    );
    const first = Object.keys(offsets).length === 0;
    const candidates: CiProviderRun[] = [];
    const fullWindow = new Set<string>();
    const windowSize = first
      ? PAGE_SIZE
      : Math.max(...Object.values(offsets)) + PAGE_SIZE - windowFrom;
    for (const job of branchJobs) {
      const own = Object.prototype.hasOwnProperty.call(offsets, job.name)
        ? offsets[job.name]
        : undefined;
      if (!first && own === undefined) {
        // A branch new since the first page: the next sync's first page has it.
        continue;
      }
      const builds = Array.isArray(job.builds) ? job.builds : [];
      if (builds.length >= windowSize) {
        fullWindow.add(job.name);
      }
      const skip = (own ?? 0) - windowFrom;
      candidates.push(
        ...parseItems(
          jenkinsBuildSchema,
          builds.slice(skip, skip + PAGE_SIZE),
          `build of ${source.source} ${job.name}`,
          this.logger,
        ).map(b =>
          toProviderRun(b, { workflow: source.source, branchJob: job.name }),
        ),
      );
    }
    candidates.sort(
      (a, b) =>
        Date.parse(b.createdAt) - Date.parse(a.createdAt) ||
        b.runNumber - a.runNumber,
    );
    const runs = candidates.slice(0, PAGE_SIZE);
    const next: Record<string, number> = {};
    for (const job of branchJobs) {
      if (first || Object.prototype.hasOwnProperty.call(offsets, job.name)) {
        const used = runs.filter(r =>
          r.providerRunId.startsWith(`${job.name}#`),
        ).length;
        next[job.name] = (offsets[job.name] ?? 0) + used;
      }
    }
    // More when builds were left over, or a branch job filled its window
    // and may have older builds beyond it.
    const more = candidates.length > runs.length || fullWindow.size > 0;
    return { runs, nextPage: more ? encodeToken({ o: next }) : undefined };
  }

  async getRun(
    source: CiSource,
    providerRunId: string,
    attempt: number,
  ): Promise<CiProviderRun | undefined> {
    const id = parseProviderRunId(providerRunId);
    if (!id || attempt !== 1) {
      return undefined;
    }
    const instance = this.instanceOf(source);
    try {
      const body = await this.api.get<unknown>(
        instance,
        `${buildPath(source, id)}/api/json?tree=${encodeURIComponent(
          BUILD_FIELDS,
        )}`,
        `build ${providerRunId} of ${source.source}`,
      );
      const [build] = parseItems(
        jenkinsBuildSchema,
        [body],
        `build of ${source.source}`,
        this.logger,
      );
      return build
        ? toProviderRun(build, {
            workflow: source.source,
            branchJob: id.branchJob,
          })
        : undefined;
    } catch (error) {
      if (error instanceof NotFoundError) {
        return undefined;
      }
      throw error;
    }
  }

  /**
   * The Pipeline's stages, from the Pipeline Stage View API; none for a
   * queued run, a freestyle job, or a Jenkins without that plugin.
   */
  async listJobs(source: CiSource, run: CiProviderRun): Promise<CiJob[]> {
    const id = parseProviderRunId(run.providerRunId);
    if (!id || run.status === 'queued') {
      return [];
    }
    const instance = this.instanceOf(source);
    let body: unknown;
    try {
      body = await this.api.get<unknown>(
        instance,
        `${buildPath(source, id)}/wfapi/describe`,
        `stages of build ${run.providerRunId} of ${source.source}`,
      );
    } catch (error) {
      if (error instanceof NotFoundError) {
        return [];
      }
      throw error;
    }
    const stages = parseItems(
      jenkinsStageSchema,
      (body as { stages?: unknown } | null)?.stages,
      `stage of ${source.source} build ${run.providerRunId}`,
      this.logger,
    );
    const buildUrl = `${instance.baseUrl}/${buildPath(source, id)}/`;
    return toJobs(stages, webUrl.safeParse(buildUrl).success ? buildUrl : '');
  }

  /**
   * The build's console (`{build}/consoleText`), its tail: Jenkins keeps one
   * log per build, so every stage of a build has the same.
   */
  async getJobLog(
    source: CiSource,
    run: CiRunRef,
    jobId: string,
  ): Promise<CiJobLogText | undefined> {
    const id = parseProviderRunId(run.providerRunId);
    if (!id || !/^[\w.:-]{1,64}$/.test(jobId)) {
      return undefined;
    }
    const instance = this.instanceOf(source);
    try {
      const log = await this.api.getText(
        instance,
        `${buildPath(source, id)}/consoleText`,
        `console of build ${run.providerRunId} of ${source.source}`,
      );
      const url = `${instance.baseUrl}/${buildPath(source, id)}/console`;
      return { ...log, ...(webUrl.safeParse(url).success ? { url } : {}) };
    } catch (error) {
      if (error instanceof NotFoundError) {
        return undefined;
      }
      throw error;
    }
  }

  /**
   * A new build of the run's job (the branch job in a multibranch project):
   * `POST {job}/build`, or `{job}/buildWithParameters` (with the job's
   * default parameters) for a parameterized job. It builds what the job
   * builds now, e.g. the branch's head. `failedOnly` is not offered.
   */
  async rerun(
    source: CiSource,
    run: CiRunRef,
    options: { failedOnly: boolean },
  ): Promise<void> {
    if (options.failedOnly) {
      throw new InputError(
        'Jenkins cannot rerun only the failed stages of a build; start a new build instead',
      );
    }
    const id = this.idOf(run);
    const instance = this.instanceOf(source);
    const job = jobOfRun(source, id);
    const where = `new build of ${source.source}${
      id.branchJob === undefined ? '' : ` ${id.branchJob}`
    }`;
    const info = await this.api.get<{ property?: unknown }>(
      instance,
      `${job}/api/json?tree=${encodeURIComponent(
        'property[parameterDefinitions[name]]',
      )}`,
      `job ${source.source}`,
    );
    const parameterized =
      Array.isArray(info?.property) &&
      info.property.some(
        (p: { parameterDefinitions?: unknown }) =>
          Array.isArray(p?.parameterDefinitions) &&
          p.parameterDefinitions.length > 0,
      );
    await this.api.post(
      instance,
      `${job}/${parameterized ? 'buildWithParameters' : 'build'}?delay=0sec`,
      where,
    );
  }

  /**
   * `POST {build}/stop`; a run still in the queue (no build yet) is taken
   * out of it with `POST queue/cancelItem?id=`.
   */
  async cancel(source: CiSource, run: CiRunRef): Promise<void> {
    const id = this.idOf(run);
    const instance = this.instanceOf(source);
    const where = `stop of build ${run.providerRunId} of ${source.source}`;
    try {
      await this.api.post(instance, `${buildPath(source, id)}/stop`, where);
      return;
    } catch (error) {
      if (!(error instanceof NotFoundError)) {
        throw error;
      }
    }
    const job = await this.api.get<{
      nextBuildNumber?: unknown;
      queueItem?: { id?: unknown } | null;
    }>(
      instance,
      `${jobOfRun(source, id)}/api/json?tree=${encodeURIComponent(
        'nextBuildNumber,queueItem[id]',
      )}`,
      `job ${source.source}`,
    );
    const queueId = job?.queueItem?.id;
    if (
      job?.nextBuildNumber !== id.number ||
      typeof queueId !== 'number' ||
      !Number.isInteger(queueId) ||
      queueId < 0
    ) {
      throw new NotFoundError(
        `Jenkins has no build ${run.providerRunId} of ${source.source} on ${instance.hostKey}, nor one waiting in the queue`,
      );
    }
    await this.api.post(
      instance,
      `queue/cancelItem?id=${queueId}`,
      `cancel of queued build ${run.providerRunId} of ${source.source}`,
    );
  }

  private idOf(run: CiRunRef): { number: number; branchJob?: string } {
    const id = parseProviderRunId(run.providerRunId);
    if (!id) {
      throw new NotFoundError(`Not a Jenkins build: ${run.providerRunId}`);
    }
    return id;
  }

  private instanceOf(source: CiSource): JenkinsInstance {
    const instance = this.instances.find(i => i.hostKey === source.host);
    if (!instance) {
      throw new NotFoundError(
        `No Jenkins instance is configured for ${source.host}; add it under ciExperience.providers.jenkins.instances`,
      );
    }
    return instance;
  }
}

/** The job of a run: the source's job, or its branch job in a multibranch project. */
function jobOfRun(
  source: CiSource,
  id: { number: number; branchJob?: string },
): string {
  return id.branchJob === undefined
    ? jobPath(source.source)
    : `${jobPath(source.source)}/job/${encodeURIComponent(id.branchJob)}`;
}

function buildPath(
  source: CiSource,
  id: { number: number; branchJob?: string },
): string {
  return `${jobOfRun(source, id)}/${id.number}`;
}

function isMultibranch(
  body: Record<string, unknown> | undefined,
): body is { jobs: unknown } {
  return (
    typeof body?._class === 'string' &&
    /MultiBranchProject$/.test(body._class) &&
    Array.isArray(body.jobs)
  );
}

function encodeToken(token: z.infer<typeof pageToken>): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeToken(page: string): z.infer<typeof pageToken> {
  try {
    return pageToken.parse(
      JSON.parse(Buffer.from(page, 'base64url').toString('utf8')),
    );
  } catch {
    throw new InputError('Not a Jenkins page token');
  }
}
