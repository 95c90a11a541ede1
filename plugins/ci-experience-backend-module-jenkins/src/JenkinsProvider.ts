import { LoggerService } from '@backstage/backend-plugin-api';
import {
  ProviderTraffic,
  CiJobLogText,
  CiProvider,
  CiProviderCapabilities,
  CiProviderRun,
  CiRunPage,
  CiRunRef,
  CiSource,
  CiSourceInfo,
  CiProviderTestResults,
  CiTestResultsContext,
  instantMillis,
  RateLimiterOptions,
  CiProviderMetrics,
} from '@ci-experience/plugin-ci-experience-node';
import { Entity } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import {
  InputError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  CiJob,
  getJenkinsDefaultBranch,
  getJenkinsJobRefs,
  isFinalStatus,
  JENKINS_JOB_FULL_NAME_ANNOTATION,
  mapJenkinsStageStatus,
  PROVIDER_ANNOTATIONS,
} from '@ci-experience/plugin-ci-experience-common';
import { z } from 'zod';
import { JenkinsInstance, readJenkinsConfig } from './config';
import { JenkinsApi } from './JenkinsApi';
import {
  JOB_PARAMETERS_READ,
  SOURCE_INFO_READ,
  treeOf,
  WFAPI_LOG_READ,
} from './fields';
import {
  branchName,
  branchOfJobName,
  BUILD_FIELDS,
  htmlLogToText,
  jenkinsBuildSchema,
  jenkinsFlowNodeSchema,
  jenkinsStageSchema,
  jobDisplayNameOf,
  ONE_BUILD_FIELDS,
  parseItems,
  parseProviderRunId,
  stepName,
  text,
  toJobs,
  toProviderRun,
  toQueuedRun,
  toSteps,
  webUrl,
  workflowLabelOf,
} from './mapping';
import { TEST_REPORT_TREE, toTestCases } from './testReport';

/**
 * The provider id of Jenkins.
 *
 * @public
 */
export const JENKINS_PROVIDER_ID = 'jenkins';

const PAGE_SIZE = 100;
/** Branch jobs of a multibranch project read at most. */
const MAX_BRANCH_JOBS = 100;
/** Steps of a stage whose logs are read at most (the last ones). */
const MAX_STEP_LOGS = 40;
/** Recent builds whose branch says a plain job's branch. */
const BRANCH_SAMPLE = 20;

/** scm-api's mark of a multibranch project's primary branch job. */
const PRIMARY_INSTANCE_ACTION =
  'jenkins.scm.api.metadata.PrimaryInstanceMetadataAction';

/**
 * What a new build does, for its button.
 *
 * @public
 */
export const JENKINS_BUILD_AGAIN_LABEL =
  "Build again: the branch's current head, not necessarily this commit";
/**
 * What a new build of a parameterized job does, for its button.
 *
 * @public
 */
export const JENKINS_BUILD_AGAIN_DEFAULTS_LABEL =
  "Build again: the branch's current head, with the job's default parameters";
/**
 * What the Rebuild plugin's rebuild does, for its button.
 *
 * @public
 */
export const JENKINS_REBUILD_LABEL =
  "Rebuild with this build's parameters: the branch's current head, not necessarily this commit";

/** The label of each way of building again. */
const RERUN_LABELS: Record<
  'rebuild' | 'build' | 'buildWithParameters',
  string
> = {
  rebuild: JENKINS_REBUILD_LABEL,
  build: JENKINS_BUILD_AGAIN_LABEL,
  buildWithParameters: JENKINS_BUILD_AGAIN_DEFAULTS_LABEL,
};

/**
 * A source as the Jenkins provider makes it: with the branch the entity's
 * `ci-experience.io/default-branch` names, for `getSourceInfo`.
 *
 * @public
 */
export type JenkinsSource = CiSource & { defaultBranch?: string };

/** `{ o: offset }` for a job; `{ o: { branchJob: offset } }` for a multibranch project. */
const pageToken = z.object({
  o: z.union([
    z.number().int().min(0).max(1_000_000),
    z.record(z.number().int().min(0).max(1_000_000)),
  ]),
});

/**
 * The job's path in Jenkins URLs: `job/<folder>/job/<name>`.
 *
 * @public
 */
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
 *
 * @public
 */
export class JenkinsProvider implements CiProvider {
  /** The provider id. */
  readonly id = JENKINS_PROVIDER_ID;
  /** The annotations `getSources` reads. */
  readonly annotations = PROVIDER_ANNOTATIONS[JENKINS_PROVIDER_ID];
  /**
   * A rerun is a new build of the job (Jenkins has no attempts): it builds
   * the branch's current head, which its label says; there is no rerun of
   * failed stages only. Per run, `JenkinsProvider.runActions` says
   * whether it is the Rebuild plugin's rebuild with the same parameters.
   */
  readonly capabilities: CiProviderCapabilities = {
    logs: true,
    rerun: true,
    rerunFailed: false,
    cancel: true,
    rerunLabel: JENKINS_BUILD_AGAIN_LABEL,
  };

  /** The provider, or undefined when no instance is configured. */
  static fromConfig(
    config: Config,
    options: {
      logger: LoggerService;
      metrics?: CiProviderMetrics;
      traffic?: ProviderTraffic;
    },
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

  /** The provider's API client (its requests, budgets and breakers). */
  readonly api: JenkinsApi;
  private readonly instances: JenkinsInstance[];
  private readonly logger: LoggerService;

  constructor(options: {
    instances: JenkinsInstance[];
    logger: LoggerService;
    limits?: RateLimiterOptions;
    metrics?: CiProviderMetrics;
    /** Budgets and breakers shared by every provider and replica. */
    traffic?: ProviderTraffic;
    maxResponseBytes?: number;
  }) {
    this.instances = options.instances;
    this.logger = options.logger;
    this.api = new JenkinsApi({
      logger: options.logger,
      limits: options.limits ?? { requestsPerHour: 3600, maxConcurrency: 4 },
      metrics: options.metrics,
      traffic: options.traffic,
      maxResponseBytes: options.maxResponseBytes,
    });
  }

  /** The sources an entity's annotations name. */
  getSources(entity: Entity): CiSource[] {
    const sources: CiSource[] = [];
    const defaultBranch = getJenkinsDefaultBranch(entity);
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
        const source: JenkinsSource = {
          provider: this.id,
          key,
          source: ref.jobFullName,
          host: instance.hostKey,
        };
        if (defaultBranch) {
          source.defaultBranch = defaultBranch;
        }
        sources.push(source);
      }
    }
    return sources;
  }

  /**
   * The default branch: a multibranch project's primary branch (the branch
   * job carrying scm-api's `PrimaryInstanceMetadataAction`, which branch
   * sources such as GitHub's and Git's put on the repository's default
   * branch); else the entity's `ci-experience.io/default-branch`; else, for
   * a job that is not a multibranch project, the one branch its recent
   * builds built, when they agree. Otherwise undefined: the backend may
   * take another source's of the same entity. A failure to ask is logged,
   * not thrown: the listing that follows reports it.
   */
  async getSourceInfo(source: CiSource): Promise<CiSourceInfo> {
    const annotated = (source as JenkinsSource).defaultBranch;
    let body: Record<string, unknown> | undefined;
    try {
      const instance = this.instanceOf(source);
      body = await this.api.get<Record<string, unknown>>(
        instance,
        `${jobPath(source.source)}/api/json?tree=${encodeURIComponent(
          treeOf(SOURCE_INFO_READ, {
            ranges: { jobs: [0, MAX_BRANCH_JOBS], builds: [0, BRANCH_SAMPLE] },
          }),
        )}`,
        `job ${source.source}`,
      );
    } catch (error) {
      this.logger.warn(
        `Could not read the default branch of Jenkins ${source.source}: ${
          (error as Error).message
        }`,
      );
      return annotated ? { defaultBranch: annotated } : {};
    }
    const primary = isMultibranch(body) ? this.primaryBranches(body.jobs) : [];
    if (primary.length > 0) {
      const chosen =
        primary.length > 1 && annotated && primary.includes(annotated)
          ? annotated
          : primary[0];
      return { defaultBranch: text(chosen, 255) };
    }
    if (annotated) {
      return { defaultBranch: annotated };
    }
    if (!isMultibranch(body) && Array.isArray(body?.builds)) {
      const branches = new Set<string>();
      for (const build of body!.builds) {
        const name = branchOfBuild(build);
        if (name) {
          branches.add(name);
        }
      }
      if (branches.size === 1) {
        return { defaultBranch: text([...branches][0], 255) };
      }
    }
    return {};
  }

  /** The branches whose jobs carry the primary-instance mark. */
  private primaryBranches(jobs: unknown): string[] {
    const out: string[] = [];
    for (const job of Array.isArray(jobs) ? jobs : []) {
      const name = (job as { name?: unknown })?.name;
      const actions = (job as { actions?: unknown })?.actions;
      if (
        typeof name === 'string' &&
        name &&
        Array.isArray(actions) &&
        actions.some(
          a => (a as { _class?: unknown })?._class === PRIMARY_INSTANCE_ACTION,
        )
      ) {
        out.push(branchOfJobName(name));
      }
    }
    return out;
  }

  /** One page of the source's runs, newest first. */
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
      ? `displayName,${builds}`
      : `displayName,${builds},inQueue,nextBuildNumber,queueItem[inQueueSince],jobs[name,url,${builds}]{0,${MAX_BRANCH_JOBS}}`;
    const body = await this.api.get<Record<string, unknown>>(
      instance,
      `${jobPath(source.source)}/api/json?tree=${encodeURIComponent(tree)}`,
      `job ${source.source}`,
    );
    if (!token && !Array.isArray(body?.builds)) {
      if (isMultibranch(body)) {
        return this.pageOfBranches(
          source,
          body.jobs,
          {},
          0,
          labelOf(source, body),
        );
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
    ).map(b =>
      toProviderRun(b, {
        workflow: source.source,
        workflowLabel: labelOf(source, body),
      }),
    );
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
      workflowLabel: labelOf(source, body),
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
    const tree = `_class,displayName,jobs[name,url,builds[${BUILD_FIELDS}]{${min},${
      max + PAGE_SIZE
    }}]{0,${MAX_BRANCH_JOBS}}`;
    const body = await this.api.get<Record<string, unknown>>(
      instance,
      `${jobPath(source.source)}/api/json?tree=${encodeURIComponent(tree)}`,
      `job ${source.source}`,
    );
    return this.pageOfBranches(
      source,
      body?.jobs,
      offsets,
      min,
      labelOf(source, body),
    );
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
    workflowLabel: string | undefined,
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
          toProviderRun(b, {
            workflow: source.source,
            branchJob: job.name,
            workflowLabel,
          }),
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

  /** One attempt of one run; undefined when the provider no longer has it. */
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
          ONE_BUILD_FIELDS,
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
            workflowLabel: workflowLabelOf(
              source.source,
              jobDisplayNameOf(
                source.source,
                build,
                id.branchJob !== undefined,
              ) ?? source.source.split('/').pop(),
            ),
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
    return toJobs(
      stages,
      webUrl.safeParse(buildUrl).success ? buildUrl : '',
      run,
    );
  }

  /**
   * The log of one stage: the Stage View API's description of the stage
   * node (`execution/node/{id}/wfapi/describe`) lists its steps, and each
   * step's log (`execution/node/{step}/wfapi/log`, HTML, its last 10 KiB)
   * is read, the last `MAX_STEP_LOGS` steps with a log at most, each
   * under a line naming the step. The steps come back too, for the job.
   * Where the Stage View API does not answer (a freestyle job, a Jenkins
   * without the plugin, a job id that is not a stage), the build's whole
   * console (`{build}/consoleText`), its tail.
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
    const build = buildPath(source, id);
    let stage: unknown;
    try {
      stage = await this.api.get<unknown>(
        instance,
        `${build}/execution/node/${encodeURIComponent(jobId)}/wfapi/describe`,
        `stage ${jobId} of build ${run.providerRunId} of ${source.source}`,
      );
    } catch (error) {
      if (!(error instanceof NotFoundError)) {
        throw error;
      }
      stage = undefined;
    }
    const rawNodes = (stage as { stageFlowNodes?: unknown } | null)
      ?.stageFlowNodes;
    if (!Array.isArray(rawNodes)) {
      return this.consoleOf(source, instance, run, id);
    }
    const nodes = parseItems(
      jenkinsFlowNodeSchema,
      rawNodes,
      `step of stage ${jobId} of ${source.source} build ${run.providerRunId}`,
      this.logger,
    );
    const stageStatus = (stage as { status?: unknown }).status;
    const stageFinal =
      typeof stageStatus === 'string' &&
      isFinalStatus(mapJenkinsStageStatus(stageStatus).status);
    const steps = toSteps(
      nodes,
      stageFinal
        ? { status: mapJenkinsStageStatus(stageStatus as string).status }
        : undefined,
    );
    const withLogs = nodes.filter(n => n._links?.log?.href);
    const read = withLogs.slice(-MAX_STEP_LOGS);
    const parts: string[] = [];
    let truncated = read.length < withLogs.length;
    if (truncated) {
      parts.push(
        `(${
          withLogs.length - read.length
        } earlier steps not shown; the stage's full log is at Jenkins)`,
      );
    }
    for (const node of read) {
      const log = await this.stepLog(instance, build, node.id, source, run);
      parts.push(`▶ ${stepName(node)}`);
      if (log?.hasMore) {
        truncated = true;
        parts.push('… (earlier lines of this step at Jenkins)');
      }
      if (log?.text) {
        parts.push(log.text.replace(/\n$/, ''));
      }
    }
    const logText = parts.length > 0 ? `${parts.join('\n')}\n` : '';
    const url = `${
      instance.baseUrl
    }/${build}/execution/node/${encodeURIComponent(jobId)}/`;
    return {
      text: logText,
      truncated,
      ...(webUrl.safeParse(url).success ? { url } : {}),
      steps,
    };
  }

  /** One step's log, as text; undefined when Jenkins has none for it. */
  private async stepLog(
    instance: JenkinsInstance,
    build: string,
    nodeId: string,
    source: CiSource,
    run: CiRunRef,
  ): Promise<{ text: string; hasMore: boolean } | undefined> {
    let body: unknown;
    try {
      body = await this.api.get<unknown>(
        instance,
        `${build}/execution/node/${encodeURIComponent(nodeId)}/wfapi/log`,
        `log of step ${nodeId} of build ${run.providerRunId} of ${source.source}`,
      );
    } catch (error) {
      if (error instanceof NotFoundError) {
        return undefined;
      }
      throw error;
    }
    const log = body as Record<string, unknown> | null;
    if (
      typeof log !== 'object' ||
      log === null ||
      (log.text !== undefined && typeof log.text !== 'string')
    ) {
      this.logger.warn(
        `Jenkins answered the log of step ${nodeId} of ${source.source} build ${
          run.providerRunId
        } without a text; ${WFAPI_LOG_READ.map(f => f.path).join(
          ', ',
        )} expected`,
      );
      return undefined;
    }
    return {
      text: htmlLogToText((log.text as string | undefined) ?? ''),
      hasMore: log.hasMore === true,
    };
  }

  /** The build's console (`{build}/consoleText`), its tail. */
  private async consoleOf(
    source: CiSource,
    instance: JenkinsInstance,
    run: CiRunRef,
    id: { number: number; branchJob?: string },
  ): Promise<CiJobLogText | undefined> {
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
   * The build's test report, as the JUnit plugin keeps it (its `junit`
   * step or post-build action): `{build}/testReport/api/json`, asked with
   * `tree=` for the fields read (`TEST_REPORT_READ`), through the
   * instance's budgeted client. Undefined when the build has none (Jenkins
   * answers 404 without the JUnit plugin's action on the build) or the
   * report has no cases.
   */
  async getTestResults(
    source: CiSource,
    run: CiRunRef,
    _context: CiTestResultsContext,
  ): Promise<CiProviderTestResults | undefined> {
    const id = parseProviderRunId(run.providerRunId);
    if (!id) {
      return undefined;
    }
    const instance = this.instanceOf(source);
    let body: unknown;
    try {
      body = await this.api.get<unknown>(
        instance,
        `${buildPath(source, id)}/testReport/api/json?tree=${encodeURIComponent(
          TEST_REPORT_TREE,
        )}`,
        `test report of build ${run.providerRunId} of ${source.source}`,
      );
    } catch (error) {
      if (error instanceof NotFoundError) {
        return undefined;
      }
      throw error;
    }
    const cases = toTestCases(
      body,
      `build ${run.providerRunId} of ${source.source}`,
      this.logger,
    );
    return cases.length > 0 ? { cases } : undefined;
  }

  /**
   * What a rerun of this run does, for its button: a rebuild with the
   * build's own parameters where the Rebuild plugin answers for the build
   * (`{build}/rebuild/`), else a new build of the job (with its default
   * parameters, for a parameterized job). Either builds what the job builds
   * now (a branch job: the branch's current head), never this commit again.
   */
  async runActions(
    source: CiSource,
    run: CiRunRef,
  ): Promise<Partial<CiProviderCapabilities>> {
    const id = parseProviderRunId(run.providerRunId);
    if (!id) {
      return {};
    }
    const how = await this.rerunKind(source, id);
    return {
      rerun: true,
      rerunFailed: false,
      rerunLabel: RERUN_LABELS[how],
    };
  }

  /**
   * Whether the Rebuild plugin answers for a build: its `RebuildAction`
   * (not exported in the JSON API, so it is asked for) answers a GET of
   * `{build}/rebuild/` with 405 (it takes POSTs only); without the plugin
   * Jenkins answers 404. Otherwise whether the job takes parameters.
   */
  private async rerunKind(
    source: CiSource,
    id: { number: number; branchJob?: string },
  ): Promise<'rebuild' | 'build' | 'buildWithParameters'> {
    const instance = this.instanceOf(source);
    let rebuild = false;
    try {
      await this.api.getText(
        instance,
        `${buildPath(source, id)}/rebuild/`,
        `rebuild of build ${id.number} of ${source.source}`,
      );
      rebuild = true;
    } catch (error) {
      if (
        error instanceof ServiceUnavailableError &&
        /answered 405\b/.test(error.message)
      ) {
        rebuild = true;
      } else if (!(error instanceof NotFoundError)) {
        this.logger.info(
          `Could not tell whether Jenkins' Rebuild plugin answers for ${
            source.source
          }: ${(error as Error).message}`,
        );
      }
    }
    if (rebuild) {
      return 'rebuild';
    }
    const info = await this.api.get<{ property?: unknown }>(
      instance,
      `${jobOfRun(source, id)}/api/json?tree=${encodeURIComponent(
        treeOf(JOB_PARAMETERS_READ),
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
    return parameterized ? 'buildWithParameters' : 'build';
  }

  /**
   * Builds the run's job again, as `JenkinsProvider.runActions` says:
   * with the Rebuild plugin `POST {build}/rebuild/?autorebuild=true` (the
   * build's parameters, no form), else `POST {job}/build`, or
   * `{job}/buildWithParameters` (the job's default parameters). Either way
   * the job's branch is built at its current head. `failedOnly` is not
   * offered: Jenkins has no rerun of failed stages.
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
    const where = `new build of ${source.source}${
      id.branchJob === undefined ? '' : ` ${id.branchJob}`
    }`;
    const how = await this.rerunKind(source, id);
    if (how === 'rebuild') {
      await this.api.post(
        instance,
        `${buildPath(source, id)}/rebuild/?autorebuild=true`,
        `rebuild of build ${run.providerRunId} of ${source.source}`,
      );
      return;
    }
    await this.api.post(
      instance,
      `${jobOfRun(source, id)}/${how}?delay=0sec`,
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

/** A job's display name as the runs' label (see `workflowLabelOf`). */
function labelOf(
  source: CiSource,
  body: Record<string, unknown> | undefined,
): string | undefined {
  const name = body?.displayName;
  return workflowLabelOf(
    source.source,
    typeof name === 'string' ? name : undefined,
  );
}

/** The branch a build built, from the Git plugin's `BuildData`. */
function branchOfBuild(build: unknown): string | undefined {
  const actions = (build as { actions?: unknown } | null)?.actions;
  for (const action of Array.isArray(actions) ? actions : []) {
    const branch = (
      action as {
        lastBuiltRevision?: { branch?: Array<{ name?: unknown }> };
      } | null
    )?.lastBuiltRevision?.branch?.[0]?.name;
    if (typeof branch === 'string' && branch) {
      return branchName(branch);
    }
  }
  return undefined;
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
