import { http, HttpResponse, type HttpHandler } from 'msw';
import { SimulatedProvider } from '../SimulatedProvider';
import {
  SimJob,
  SimRepoSpec,
  SimRunAttempt,
  SimulatedHistory,
} from '../history';
import { commandOutput } from '../logs';
import { jenkinsTestReport } from './testReport';
import { applyTree, parseTree } from './tree';

/** Where the simulated Jenkins answers, and who may ask. */
export interface JenkinsSimulatorOptions {
  /** Jenkins root URL, e.g. `https://jenkins.example.com` or `http://localhost:7009/jenkins`. */
  baseUrl: string;
  /** Accepted `username: API token` pairs for HTTP Basic auth. */
  users?: Record<string, string>;
  /** Full names of the jobs that are multibranch projects (one branch job per branch). */
  multibranch?: string[];
  /** Full names of the jobs that are freestyle projects (no Pipeline stages, so no `wfapi`). */
  freestyle?: string[];
  /**
   * POSTs need a CSRF crumb (`Jenkins-Crumb` from `/crumbIssuer/api/json`),
   * as when a Jenkins does not exempt API-token requests; default false.
   */
  requireCrumb?: boolean;
  /**
   * The Rebuild plugin is installed: `{build}/rebuild/` answers (405 to a
   * GET, a new build with the build's parameters to a POST); default true.
   */
  rebuildPlugin?: boolean;
}

/** The crumb the simulator hands out when it requires one. */
export const JENKINS_SIM_CRUMB = 'c0ffee0123456789abcdef0123456789';

/** What the simulator saw, for tests to assert on. */
export interface JenkinsSimulatorStats {
  /** Every request, as `METHOD path?query`. */
  requests: string[];
  /** The `Authorization` header of every request. */
  authorizations: Array<string | null>;
}

/** The user and API token the simulator accepts unless told otherwise. */
export const JENKINS_SIM_USER = 'ci-bot';
export const JENKINS_SIM_API_KEY = '11d1e4c0ffee5ba5e0123456789abcde';

const CLASSES = {
  pipeline: 'org.jenkinsci.plugins.workflow.job.WorkflowJob',
  pipelineRun: 'org.jenkinsci.plugins.workflow.job.WorkflowRun',
  freestyle: 'hudson.model.FreeStyleProject',
  freestyleRun: 'hudson.model.FreeStyleBuild',
  multibranch:
    'org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject',
  folder: 'com.cloudbees.hudson.plugins.folder.Folder',
  waitingItem: 'hudson.model.Queue$WaitingItem',
  primaryBranch: 'jenkins.scm.api.metadata.PrimaryInstanceMetadataAction',
  timeInQueue: 'jenkins.metrics.impl.TimeInQueueAction',
};

interface SimBuild {
  number: number;
  run: SimRunAttempt;
}

type Resolved =
  | { kind: 'folder'; path: string[]; children: string[] }
  | {
      kind: 'multibranch';
      path: string[];
      spec: SimRepoSpec;
      branches: string[];
    }
  | {
      kind: 'job';
      path: string[];
      spec: SimRepoSpec;
      /** Set for a branch job of a multibranch project. */
      branch?: string;
      freestyle: boolean;
    };

/**
 * A simulated Jenkins built from the same {@link SimulatedHistory} as the
 * simulated GitHub: each repository `owner/repo` is the job `repo` in the
 * folder `owner`; its runs are the job's builds (a re-run is a new build, as
 * in Jenkins), its jobs the Pipeline's stages. It serves the JSON API
 * (`api/json` with `tree=` and `{from,to}` ranges), the Pipeline Stage View
 * API (`wfapi/describe`, a stage node's `execution/node/<id>/wfapi/describe`
 * with its one `sh` step, and that step's `wfapi/log` as HTML), the Metrics
 * plugin's `TimeInQueueAction` on builds, scm-api's
 * `PrimaryInstanceMetadataAction` on a multibranch project's default-branch
 * job, the Rebuild plugin's `{build}/rebuild/` (unless `rebuildPlugin` is
 * false), HTTP Basic auth with API tokens, 404 for unknown
 * jobs and 403 for a repository whose spec is `forbidden`. Jenkins sends no
 * ETags, and neither does this. It serves `{build}/consoleText`, and
 * `{job}/build` (a new build: the newest finished run of the job runs again),
 * `{build}/stop` and `queue/cancelItem` change the history, with a CSRF
 * crumb when `requireCrumb` is set. `{build}/testReport/api/json` serves the
 * JUnit plugin's report of the build's test stages (404 without one).
 */
export class JenkinsSimulator extends SimulatedProvider {
  readonly baseUrl: string;
  readonly stats: JenkinsSimulatorStats = { requests: [], authorizations: [] };
  private readonly users: Record<string, string>;
  private readonly multibranch: Set<string>;
  private readonly freestyle: Set<string>;
  private readonly requireCrumb: boolean;
  private readonly rebuildPlugin: boolean;

  constructor(history: SimulatedHistory, options: JenkinsSimulatorOptions) {
    super(history);
    this.baseUrl = options.baseUrl.replace(/\/$/, '');
    this.users = options.users ?? { [JENKINS_SIM_USER]: JENKINS_SIM_API_KEY };
    this.multibranch = new Set(
      (options.multibranch ?? ['demo-org/payments-service']).map(n =>
        n.toLowerCase(),
      ),
    );
    this.freestyle = new Set(
      (options.freestyle ?? ['demo-org/inventory-api']).map(n =>
        n.toLowerCase(),
      ),
    );
    this.requireCrumb = options.requireCrumb ?? false;
    this.rebuildPlugin = options.rebuildPlugin ?? true;
  }

  resetStats() {
    this.stats.requests.length = 0;
    this.stats.authorizations.length = 0;
  }

  handlers(): HttpHandler[] {
    return [
      this.faultHandler(this.baseUrl, fault =>
        page(fault.status, fault.message),
      ),
      http.get(`${this.baseUrl}/job/*`, ({ request }) => this.serve(request)),
      http.post(`${this.baseUrl}/job/*`, ({ request }) => this.act(request)),
      http.post(`${this.baseUrl}/queue/cancelItem`, ({ request }) =>
        this.act(request),
      ),
      http.get(`${this.baseUrl}/crumbIssuer/api/json`, ({ request }) => {
        this.record(request);
        if (!this.authenticate(request.headers.get('authorization'))) {
          return page(401, 'Authentication required');
        }
        return HttpResponse.json({
          _class: 'hudson.security.csrf.DefaultCrumbIssuer',
          crumb: JENKINS_SIM_CRUMB,
          crumbRequestField: 'Jenkins-Crumb',
        });
      }),
    ];
  }

  private record(request: Request) {
    const url = new URL(request.url);
    this.stats.requests.push(`${request.method} ${url.pathname}${url.search}`);
    this.stats.authorizations.push(request.headers.get('authorization'));
  }

  /**
   * The POSTs: `{job}/build` and `{job}/buildWithParameters` (a new build:
   * the newest finished run of the job runs again, as a new attempt),
   * `{build}/stop` (answered with a redirect to the build, as Jenkins does)
   * and `queue/cancelItem?id=` for a build still in the queue.
   */
  private act(request: Request): Response {
    this.record(request);
    const url = new URL(request.url);
    const user = this.authenticate(request.headers.get('authorization'));
    if (!user) {
      return page(401, 'Authentication required', {
        'www-authenticate': 'Basic realm="Jenkins"',
      });
    }
    if (
      this.requireCrumb &&
      request.headers.get('jenkins-crumb') !== JENKINS_SIM_CRUMB
    ) {
      return page(403, 'No valid crumb was included in the request');
    }
    const rest = url.pathname
      .slice(new URL(this.baseUrl).pathname.length)
      .replace(/^\/+/, '');
    if (rest === 'queue/cancelItem') {
      return this.cancelQueued(Number(url.searchParams.get('id')));
    }
    const parsed = parsePath(rest);
    const item = parsed && this.resolve(parsed.path);
    if (!parsed || !item || item.kind !== 'job') {
      return page(404, 'Not Found');
    }
    if (item.spec.forbidden) {
      return page(
        403,
        `Access Denied: ${user} is missing the Job/Build permission`,
      );
    }
    const rebuild =
      this.rebuildPlugin &&
      parsed.build !== undefined &&
      parsed.api === 'rebuild' &&
      this.builds(item).some(b => b.number === parsed.build);
    if (
      rebuild ||
      (parsed.build === undefined &&
        (parsed.api === 'build' || parsed.api === 'buildWithParameters'))
    ) {
      const newest = this.history
        .listRuns(item.spec)
        .find(
          r =>
            r.status === 'completed' &&
            (item.branch === undefined || r.branch === item.branch),
        );
      const result = newest && this.history.requestRerun(item.spec, newest.id);
      if (rebuild) {
        // The Rebuild plugin schedules the build and redirects to the job.
        return new HttpResponse(null, {
          status: 302,
          headers: { location: this.urlOf(item.path) },
        });
      }
      return new HttpResponse(null, {
        status: 201,
        headers: {
          location: `${this.baseUrl}/queue/item/${
            result?.ok ? result.run.id : 0
          }/`,
        },
      });
    }
    const build =
      parsed.build === undefined
        ? undefined
        : this.builds(item).find(b => b.number === parsed.build);
    if (!build || parsed.api !== 'stop') {
      return page(404, 'Not Found');
    }
    const latest = this.history.getRun(item.spec, build.run.id);
    if (latest?.attempt === build.run.attempt) {
      // Stopping a finished build changes nothing, as in Jenkins.
      this.history.cancel(item.spec, build.run.id);
    }
    return new HttpResponse(null, {
      status: 302,
      headers: { location: this.buildUrl(item, build) },
    });
  }

  /** `POST queue/cancelItem?id=`: the queue item of a run not yet started. */
  private cancelQueued(id: number): Response {
    for (const spec of this.history.repos) {
      const run = this.history.getRun(spec, id);
      if (run && run.status === 'queued' && !spec.forbidden) {
        this.history.cancel(spec, id);
        return new HttpResponse(null, { status: 204 });
      }
    }
    return page(404, 'Not Found');
  }

  private serve(request: Request): Response {
    const url = new URL(request.url);
    const auth = request.headers.get('authorization');
    this.record(request);
    const user = this.authenticate(auth);
    if (!user) {
      return page(401, 'Authentication required', {
        'www-authenticate': 'Basic realm="Jenkins"',
      });
    }
    const rest = url.pathname.slice(new URL(this.baseUrl).pathname.length);
    const parsed = parsePath(rest.replace(/^\/+/, ''));
    if (!parsed) {
      return page(404, 'Not Found');
    }
    const item = this.resolve(parsed.path);
    if (!item) {
      return page(404, 'Not Found');
    }
    if (item.kind !== 'folder' && item.spec.forbidden) {
      return page(
        403,
        `Access Denied: ${user} is missing the Job/Read permission`,
      );
    }
    let body: unknown;
    if (parsed.build === undefined) {
      if (parsed.api !== 'api/json') {
        return page(404, 'Not Found');
      }
      body = this.itemJson(item);
    } else {
      if (item.kind !== 'job') {
        return page(404, 'Not Found');
      }
      const build = this.builds(item).find(b => b.number === parsed.build);
      if (!build) {
        return page(404, 'Not Found');
      }
      if (parsed.api === 'consoleText') {
        return new HttpResponse(this.consoleText(item, build), {
          headers: {
            'content-type': 'text/plain;charset=utf-8',
            'x-jenkins': '2.462.3',
          },
        });
      }
      const node = parsed.api.match(
        /^execution\/node\/(\d+)\/wfapi\/(describe|log)$/,
      );
      if (parsed.api === 'rebuild' && this.rebuildPlugin) {
        // RebuildAction.doIndex is @RequirePOST.
        return page(405, 'This URL requires POST');
      }
      if (parsed.api === 'api/json') {
        body = this.buildJson(item, build);
      } else if (parsed.api === 'testReport/api/json') {
        const report = jenkinsTestReport(
          build.run,
          build.number,
          this.workspaceOf(item),
        );
        if (!report) {
          return page(404, 'Not Found');
        }
        body = report;
      } else if (parsed.api === 'wfapi/describe' && !item.freestyle) {
        body = this.describeJson(item, build);
      } else if (node && !item.freestyle) {
        const found =
          node[2] === 'describe'
            ? this.stageNodeJson(item, build, Number(node[1]))
            : this.nodeLogJson(item, build, Number(node[1]));
        if (!found) {
          return page(404, 'Not Found');
        }
        body = found;
      } else {
        return page(404, 'Not Found');
      }
    }
    const tree = url.searchParams.get('tree');
    if (tree) {
      try {
        body = applyTree(body, parseTree(tree));
      } catch (error) {
        return page(400, (error as Error).message);
      }
    }
    return HttpResponse.json(body as Record<string, unknown>, {
      headers: { 'x-jenkins': '2.462.3', 'x-jenkins-session': '5e55a0e1' },
    });
  }

  private authenticate(auth: string | null): string | undefined {
    const match = auth?.match(/^Basic\s+([A-Za-z0-9+/=]+)$/);
    if (!match) {
      return undefined;
    }
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = decoded.slice(0, colon);
    const key = decoded.slice(colon + 1);
    return colon > 0 &&
      Object.prototype.hasOwnProperty.call(this.users, user) &&
      this.users[user] === key
      ? user
      : undefined;
  }

  /** The item at a path of job names, e.g. `['demo-org', 'payments-service', 'main']`. */
  private resolve(path: string[]): Resolved | undefined {
    if (path.length === 1) {
      const children = this.history.repos
        .filter(r => r.owner === path[0])
        .map(r => r.repo);
      return children.length > 0
        ? { kind: 'folder', path, children }
        : undefined;
    }
    const spec = this.history.repos.find(
      r => r.owner === path[0] && r.repo === path[1],
    );
    if (!spec || path.length > 3) {
      return undefined;
    }
    const fullName = `${spec.owner}/${spec.repo}`.toLowerCase();
    if (this.multibranch.has(fullName)) {
      const branches = [spec.defaultBranch, ...spec.featureBranches];
      if (path.length === 2) {
        return { kind: 'multibranch', path, spec, branches };
      }
      const branch = branches.find(b => branchJobName(b) === path[2]);
      return branch
        ? { kind: 'job', path, spec, branch, freestyle: false }
        : undefined;
    }
    return path.length === 2
      ? { kind: 'job', path, spec, freestyle: this.freestyle.has(fullName) }
      : undefined;
  }

  /** A job's builds, newest first: every attempt of every started run is a build. */
  builds(item: Resolved & { kind: 'job' }): SimBuild[] {
    const out: SimBuild[] = [];
    for (const latest of this.history.listRuns(item.spec)) {
      if (item.branch !== undefined && latest.branch !== item.branch) {
        continue;
      }
      for (let attempt = 1; attempt <= latest.attempt; attempt++) {
        const run =
          attempt === latest.attempt
            ? latest
            : this.history.getRun(item.spec, latest.id, attempt);
        if (run && run.status !== 'queued') {
          out.push({ number: buildNumberOf(run), run });
        }
      }
    }
    return out.sort((a, b) => b.number - a.number);
  }

  /** The `api/json` of a job, folder or multibranch project, without `tree`. */
  itemJson(item: Resolved): Record<string, unknown> {
    const url = this.urlOf(item.path);
    const name = item.path[item.path.length - 1];
    if (item.kind === 'folder') {
      return {
        _class: CLASSES.folder,
        name,
        fullName: item.path.join('/'),
        url,
        jobs: item.children.map(child => ({
          _class: this.multibranch.has(`${name}/${child}`.toLowerCase())
            ? CLASSES.multibranch
            : CLASSES.pipeline,
          name: child,
          url: this.urlOf([...item.path, child]),
          color: 'blue',
        })),
      };
    }
    if (item.kind === 'multibranch') {
      return {
        _class: CLASSES.multibranch,
        name,
        fullName: item.path.join('/'),
        displayName: name,
        url,
        jobs: item.branches.map(branch => {
          const child = {
            ...item,
            path: [...item.path, branchJobName(branch)],
          };
          return {
            ...this.itemJson({
              kind: 'job',
              path: child.path,
              spec: item.spec,
              branch,
              freestyle: false,
            }),
          };
        }),
      };
    }
    const builds = this.builds(item);
    const queued = this.history
      .listRuns(item.spec)
      .filter(
        r =>
          r.status === 'queued' &&
          (item.branch === undefined || r.branch === item.branch),
      );
    const next = queued.length > 0 ? queued[0] : undefined;
    return {
      _class: item.freestyle ? CLASSES.freestyle : CLASSES.pipeline,
      // A branch source marks the repository's default branch's job.
      actions:
        item.branch !== undefined && item.branch === item.spec.defaultBranch
          ? [{}, { _class: CLASSES.primaryBranch }, {}]
          : [{}, {}],
      name,
      fullName: item.path.join('/'),
      displayName: item.branch ?? name,
      url,
      buildable: true,
      color: colorOf(builds[0]),
      inQueue: Boolean(next),
      queueItem: next
        ? {
            _class: CLASSES.waitingItem,
            id: next.id,
            inQueueSince: next.createdAt,
            why: 'Waiting for next available executor',
            blocked: false,
            buildable: true,
            stuck: false,
          }
        : null,
      nextBuildNumber: next
        ? buildNumberOf(next)
        : (builds[0]?.number ?? 0) + 1,
      builds: builds.map(b => this.buildJson(item, b)),
      lastBuild: builds[0]
        ? { number: builds[0].number, url: this.buildUrl(item, builds[0]) }
        : null,
    };
  }

  /** The `api/json` of one build, as Jenkins shapes a Pipeline run. */
  buildJson(item: Resolved & { kind: 'job' }, build: SimBuild) {
    const { run } = build;
    const building = run.status !== 'completed';
    const end = building
      ? undefined
      : Math.max(...run.jobs.map(j => j.completedAt ?? run.startedAt));
    return {
      _class: item.freestyle ? CLASSES.freestyleRun : CLASSES.pipelineRun,
      actions: [
        { _class: 'hudson.model.CauseAction', causes: [causeOf(run)] },
        {},
        {
          _class: 'hudson.plugins.git.util.BuildData',
          buildsByBranchName: {},
          lastBuiltRevision: {
            SHA1: run.sha,
            branch: [
              { SHA1: run.sha, name: `refs/remotes/origin/${run.branch}` },
            ],
          },
          remoteUrls: [
            `https://github.com/${item.spec.owner}/${item.spec.repo}.git`,
          ],
          scmName: '',
        },
        { _class: 'org.jenkinsci.plugins.workflow.libs.LibrariesAction' },
        {
          _class: CLASSES.timeInQueue,
          blockedDurationMillis: 0,
          blockedTimeMillis: 0,
          buildableDurationMillis: run.startedAt - run.createdAt,
          buildableTimeMillis: run.startedAt - run.createdAt,
          buildingDurationMillis: end === undefined ? 0 : end - run.startedAt,
          executingTimeMillis: end === undefined ? 0 : end - run.startedAt,
          executorUtilization: 1,
          subTaskCount: 0,
          queuingDurationMillis: run.startedAt - run.createdAt,
          queuingTimeMillis: run.startedAt - run.createdAt,
          totalDurationMillis:
            run.startedAt -
            run.createdAt +
            (end === undefined ? 0 : end - run.startedAt),
          waitingDurationMillis: 0,
          waitingTimeMillis: 0,
        },
      ],
      building,
      description: null,
      displayName: `#${build.number}`,
      duration: end === undefined ? 0 : end - run.startedAt,
      estimatedDuration: 95_000,
      fullDisplayName: `${item.path.join(' » ')} #${build.number}`,
      id: String(build.number),
      number: build.number,
      queueId: run.id,
      result: building ? null : resultOf(run),
      timestamp: run.startedAt,
      url: this.buildUrl(item, build),
      changeSets: [],
      culprits: [],
      inProgress: building,
      nextBuild: null,
      previousBuild: null,
    };
  }

  /** The Pipeline Stage View API's `wfapi/describe` of one build. */
  describeJson(item: Resolved & { kind: 'job' }, build: SimBuild) {
    const { run } = build;
    const base = `${new URL(this.buildUrl(item, build)).pathname}`;
    const end = Math.max(
      run.startedAt,
      ...run.jobs.map(j => j.completedAt ?? j.startedAt ?? run.startedAt),
    );
    return {
      _links: { self: { href: `${base}wfapi/describe` } },
      id: String(build.number),
      name: `#${build.number}`,
      status: stageStatusOfRun(run),
      startTimeMillis: run.startedAt,
      endTimeMillis: end,
      durationMillis: end - run.startedAt,
      queueDurationMillis: run.startedAt - run.createdAt,
      pauseDurationMillis: 0,
      stages: run.jobs
        .filter(j => j.status !== 'queued')
        .map((job, i) => ({
          _links: {
            self: { href: `${base}execution/node/${6 + i * 4}/wfapi/describe` },
          },
          id: String(6 + i * 4),
          name: job.name,
          execNode: '',
          status: stageStatusOf(job),
          startTimeMillis: job.startedAt ?? 0,
          durationMillis: stageDuration(job, this.history.now()),
          pauseDurationMillis: 0,
        })),
    };
  }

  /** The stage of a build whose node id is `id`, with its index. */
  private stageOf(build: SimBuild, id: number) {
    const stages = build.run.jobs.filter(j => j.status !== 'queued');
    const i = (id - 6) / 4;
    return Number.isInteger(i) && i >= 0 && i < stages.length
      ? { job: stages[i], i }
      : undefined;
  }

  /**
   * A stage node's `wfapi/describe`: the stage and its steps
   * (`stageFlowNodes`), here the stage's one `sh` step, node id `stage + 1`,
   * with a `log` link once it ran; a skipped stage has no steps.
   */
  stageNodeJson(
    item: Resolved & { kind: 'job' },
    build: SimBuild,
    id: number,
  ): Record<string, unknown> | undefined {
    const found = this.stageOf(build, id);
    if (!found) {
      return undefined;
    }
    const { job } = found;
    const base = `${new URL(this.buildUrl(item, build)).pathname}`;
    const now = this.history.now();
    const out = commandOutput(job);
    const stepId = id + 1;
    const ran = job.conclusion !== 'skipped' && out.command !== undefined;
    const stepStart = out.commandAt ?? job.startedAt ?? 0;
    return {
      _links: {
        self: { href: `${base}execution/node/${id}/wfapi/describe` },
      },
      id: String(id),
      name: job.name,
      execNode: '',
      status: stageStatusOf(job),
      startTimeMillis: job.startedAt ?? 0,
      durationMillis: stageDuration(job, now),
      pauseDurationMillis: 0,
      stageFlowNodes: ran
        ? [
            {
              _links: {
                self: {
                  href: `${base}execution/node/${stepId}/wfapi/describe`,
                },
                log: { href: `${base}execution/node/${stepId}/wfapi/log` },
              },
              id: String(stepId),
              name: 'Shell Script',
              execNode: '',
              status: stageStatusOf(job),
              parameterDescription: out.command,
              startTimeMillis: stepStart,
              durationMillis: Math.max(0, (job.completedAt ?? now) - stepStart),
              pauseDurationMillis: 0,
              parentNodes: [String(id)],
            },
          ]
        : [],
    };
  }

  /**
   * A step node's `wfapi/log`: what its command printed, as HTML (the
   * Stage View API renders the log with `writeHtmlTo`), its last 10 KiB.
   */
  nodeLogJson(
    item: Resolved & { kind: 'job' },
    build: SimBuild,
    id: number,
  ): Record<string, unknown> | undefined {
    const found = this.stageOf(build, id - 1);
    if (!found) {
      return undefined;
    }
    const { job } = found;
    const out = commandOutput(job);
    if (job.conclusion === 'skipped' || out.command === undefined) {
      return undefined;
    }
    const escape = (t: string) =>
      t.replace(
        /[&<>"]/g,
        c => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot' }[c]};`,
      );
    const html = [
      `<span class="pipeline-node-${id}">+ ${escape(out.command)}`,
      ...out.lines.map(l => escape(l.text)),
    ]
      .join('\n')
      .concat('\n</span>');
    const max = 10 * 1024;
    return {
      nodeId: String(id),
      nodeStatus: stageStatusOf(job),
      length: Math.min(html.length, max),
      hasMore: html.length > max,
      text: html.length > max ? html.slice(-max) : html,
      consoleUrl: `${
        new URL(this.buildUrl(item, build)).pathname
      }execution/node/${id}/log`,
    };
  }

  /**
   * A build's console (`{build}/consoleText`): for a Pipeline the steps and
   * stages as `[Pipeline]` lines, for a freestyle job its shell steps; each
   * command's output, and the build's result once it finished.
   */
  /** Where a job's builds run on the agent. */
  private workspaceOf(item: Resolved & { kind: 'job' }): string {
    return `/var/jenkins_home/workspace/${item.path
      .map(p => p.replace(/[^\w.-]+/g, '_'))
      .join('_')}`;
  }

  consoleText(item: Resolved & { kind: 'job' }, build: SimBuild): string {
    const { run } = build;
    const workspace = this.workspaceOf(item);
    const started = run.jobs.find(j => j.startedAt);
    const lines = [
      causeOf(run).shortDescription,
      ...(item.freestyle
        ? [
            'Running as SYSTEM',
            `Building on ${
              started?.runnerName ?? 'agent'
            } in workspace ${workspace}`,
          ]
        : [
            '[Pipeline] Start of Pipeline',
            '[Pipeline] node',
            `Running on ${started?.runnerName ?? 'agent'} in ${workspace}`,
            '[Pipeline] {',
          ]),
    ];
    let failed: ReturnType<typeof commandOutput> | undefined;
    for (const job of run.jobs) {
      const out = commandOutput(job);
      if (item.freestyle) {
        if (!job.startedAt) {
          continue;
        }
        if (out.command) {
          lines.push(
            `[${item.path[item.path.length - 1]}] $ /bin/sh -xe /tmp/jenkins${
              job.id % 100000
            }.sh`,
            `+ ${out.command}`,
            ...out.lines.map(l => l.text),
          );
        }
      } else {
        if (job.status === 'queued') {
          continue;
        }
        lines.push('[Pipeline] stage', `[Pipeline] { (${job.name})`);
        if (job.conclusion === 'skipped') {
          lines.push(`Stage "${job.name}" skipped due to earlier failure(s)`);
        } else if (out.command) {
          lines.push(
            '[Pipeline] sh',
            `+ ${out.command}`,
            ...out.lines.map(l => l.text),
          );
        }
        if (job.status === 'completed') {
          lines.push('[Pipeline] }', '[Pipeline] // stage');
        }
      }
      if (out.end && out.end !== 'success' && out.end !== 'skipped') {
        failed = failed ?? out;
      }
    }
    if (run.status !== 'completed') {
      return `${lines.join('\n')}\n`;
    }
    if (!item.freestyle) {
      lines.push(
        '[Pipeline] }',
        '[Pipeline] // node',
        '[Pipeline] End of Pipeline',
      );
    }
    if (failed?.end === 'cancelled' || run.conclusion === 'cancelled') {
      lines.push(`Aborted by ${run.actor}`);
    } else if (failed?.end === 'timed_out') {
      lines.push(
        'Cancelling nested steps due to timeout',
        'Timeout has been exceeded',
      );
    } else if (failed && item.freestyle) {
      lines.push("Build step 'Execute shell' marked build as failure");
    } else if (failed) {
      lines.push(`ERROR: script returned exit code ${failed.exitCode ?? 1}`);
    }
    lines.push(`Finished: ${resultOf(run)}`);
    return `${lines.join('\n')}\n`;
  }

  urlOf(path: string[]): string {
    return `${this.baseUrl}/${path
      .map(p => `job/${encodeURIComponent(p)}`)
      .join('/')}/`;
  }

  buildUrl(item: Resolved, build: { number: number }): string {
    return `${this.urlOf(item.path)}${build.number}/`;
  }

  /** A job or branch job of a repository, with its builds, for webhook payloads. */
  jobOf(spec: SimRepoSpec, branch: string): Resolved & { kind: 'job' } {
    const fullName = `${spec.owner}/${spec.repo}`.toLowerCase();
    const path = [spec.owner, spec.repo];
    if (this.multibranch.has(fullName)) {
      return {
        kind: 'job',
        path: [...path, branchJobName(branch)],
        spec,
        branch,
        freestyle: false,
      };
    }
    return { kind: 'job', path, spec, freestyle: this.freestyle.has(fullName) };
  }
}

/** A multibranch project names a branch's job after the branch, `/` encoded. */
export function branchJobName(branch: string): string {
  return branch.split('%').join('%25').split('/').join('%2F');
}

/**
 * A run's attempts become consecutive build numbers, later than the run's
 * slot; up to 9 attempts (reruns) fit before the next run's.
 */
export function buildNumberOf(run: SimRunAttempt): number {
  return run.runNumber * 10 + run.attempt - 1;
}

function parsePath(
  rest: string,
): { path: string[]; build?: number; api: string } | undefined {
  const segments = rest.split('/').filter(Boolean);
  const path: string[] = [];
  let i = 0;
  while (segments[i] === 'job' && i + 1 < segments.length) {
    try {
      path.push(decodeURIComponent(segments[i + 1]));
    } catch {
      return undefined;
    }
    i += 2;
  }
  if (path.length === 0) {
    return undefined;
  }
  let build: number | undefined;
  if (/^\d+$/.test(segments[i] ?? '')) {
    build = Number(segments[i]);
    i += 1;
  }
  return { path, build, api: segments.slice(i).join('/') };
}

function resultOf(run: SimRunAttempt): string {
  if (run.conclusion === 'cancelled') {
    return 'ABORTED';
  }
  if (run.conclusion === 'success') {
    return 'SUCCESS';
  }
  // Failing tests make a Jenkins build unstable, not failed.
  const failed = run.jobs.find(
    j => j.conclusion === 'failure' || j.conclusion === 'timed_out',
  );
  return failed && /test/.test(failed.name) && failed.conclusion === 'failure'
    ? 'UNSTABLE'
    : 'FAILURE';
}

function stageStatusOfRun(run: SimRunAttempt): string {
  if (run.status !== 'completed') {
    return 'IN_PROGRESS';
  }
  const result = resultOf(run);
  return result === 'FAILURE' ? 'FAILED' : result;
}

function stageStatusOf(job: SimJob): string {
  if (job.status !== 'completed') {
    return 'IN_PROGRESS';
  }
  switch (job.conclusion) {
    case 'success':
      return 'SUCCESS';
    case 'skipped':
      return 'NOT_EXECUTED';
    case 'cancelled':
      return 'ABORTED';
    default:
      return 'FAILED';
  }
}

/** A stage's duration so far: Jenkins counts a running stage's up to now. */
function stageDuration(job: SimJob, now: number): number {
  if (job.startedAt === undefined) {
    return 0;
  }
  return Math.max(0, (job.completedAt ?? now) - job.startedAt);
}

function colorOf(build: SimBuild | undefined): string {
  if (!build) {
    return 'notbuilt';
  }
  if (build.run.status !== 'completed') {
    return 'blue_anime';
  }
  return build.run.conclusion === 'success' ? 'blue' : 'red';
}

function causeOf(run: SimRunAttempt) {
  if (run.attempt > 1) {
    return {
      _class: 'hudson.model.Cause$UserIdCause',
      shortDescription: `Started by user ${run.actor}`,
      userId: run.actor,
      userName: run.actor,
    };
  }
  if (run.event === 'schedule') {
    return {
      _class: 'hudson.triggers.TimerTrigger$TimerTriggerCause',
      shortDescription: 'Started by timer',
    };
  }
  if (run.event === 'pull_request') {
    return {
      _class: 'jenkins.branch.BranchEventCause',
      shortDescription: 'Push event to branch',
    };
  }
  return {
    _class: 'hudson.triggers.SCMTrigger$SCMTriggerCause',
    shortDescription: 'Started by an SCM change',
  };
}

function page(status: number, message: string, headers = {}): Response {
  const esc = message.replace(/[&<>"]/g, c => `&#${c.charCodeAt(0)};`);
  return new HttpResponse(
    `<html><head><title>Error ${status}</title></head><body><h2>HTTP ERROR ${status} ${esc}</h2></body></html>`,
    {
      status,
      headers: {
        'content-type': 'text/html;charset=utf-8',
        'x-jenkins': '2.462.3',
        ...headers,
      },
    },
  );
}
