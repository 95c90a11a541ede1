import { hex, pick, seeded } from '../random';
import { ACTORS, DEMO_REPOS, MESSAGES, TIMELINE_EPOCH } from './demoRepos';
import { jobLog } from './jobLogs';
import { brokenJobOf, failingTests } from './testRuns';
import {
  FailureKind,
  MAX_SIM_ATTEMPTS,
  SimActionResult,
  SimJob,
  SimJobSpec,
  SimRepoSpec,
  SimRunAttempt,
  SimStep,
  SimWorkflowSpec,
} from './model';

interface PlannedAttempt {
  attempt: number;
  createdAt: number;
  queueMs: number;
  jobDurations: number[];
  /** Index of the failing job, and how it fails; absent when it succeeds. */
  failure?: { job: number; kind: FailureKind };
  cancelled?: boolean;
  /** Cancelled through the API at this time (see {@link SimulatedHistory.cancel}). */
  cancelledAt?: number;
  /**
   * Asked for through the API (see {@link SimulatedHistory.requestRerun}),
   * or made by {@link SimulatedHistory.breakDefaultBranch} (`breaking`):
   * not planned, so a breakage leaves it as it is.
   */
  requested?: { failedOnly: boolean; breaking?: boolean };
}

/** A time the default branch of a repository was broken: from, until fixed. */
interface Breakage {
  from: number;
  /** When it was fixed; unset while still broken. */
  to?: number;
}

interface PlannedRun {
  id: number;
  runNumber: number;
  workflow: SimWorkflowSpec;
  branch: string;
  sha: string;
  message: string;
  actor: string;
  event: string;
  attempts: PlannedAttempt[];
  /**
   * The job with a test broken on this run's commit: every attempt fails
   * it (see {@link SimulatedHistory.applyBrokenTests}).
   */
  brokenJob?: number;
}

/*
 * The history itself: runs planned per time slot, materialized as the
 * clock moves, and the actions that change it (reruns, cancels, a broken
 * default branch).
 */

export interface SimHistoryOptions {
  /** The simulated clock, in ms since the epoch. */
  now?: () => number;
  /** Time between two runs of a repository. */
  intervalMs?: number;
  /** How far back the history goes from the start. */
  historyMs?: number;
  /** When the simulation started; runs are laid out around it. */
  startedAt?: number;
  /**
   * Which time slots of a repository hold a run (`slot` is the run's
   * number); default every one. A sparse history plans and keeps only
   * those: a scale bench of 10,000 mostly quiet repositories holds the runs
   * they have, not one per slot.
   */
  slots?: (spec: SimRepoSpec, slot: number) => boolean;
}

const STEP_PRELUDE = [
  'Set up job',
  'Run actions/checkout@v4',
  'Set up runtime',
];
const STEP_POSTLUDE = ['Post Run actions/checkout@v4', 'Complete job'];

/**
 * An evolving, deterministic history of GitHub Actions runs: runs appear every
 * few minutes, queue, start and finish as the clock moves; some fail with
 * realistic logs, and some failures are re-run and pass on the second attempt.
 */
export class SimulatedHistory {
  readonly repos: SimRepoSpec[];
  /** The simulated clock, for consumers that watch the history evolve. */
  readonly now: () => number;
  private readonly intervalMs: number;
  /** The first time slot of the visible history. */
  private readonly firstSlot: number;
  /** Per repository: its planned runs, and the next slot to plan. */
  private readonly planned = new Map<
    string,
    { runs: PlannedRun[]; next: number }
  >();
  private readonly slots?: (spec: SimRepoSpec, slot: number) => boolean;
  private readonly breakages = new Map<string, Breakage[]>();

  constructor(
    repos: SimRepoSpec[] = DEMO_REPOS,
    options: SimHistoryOptions = {},
  ) {
    this.repos = repos;
    this.now = options.now ?? Date.now;
    this.intervalMs = options.intervalMs ?? 4 * 60_000;
    this.slots = options.slots;
    const startedAt = options.startedAt ?? this.now();
    const historyMs = options.historyMs ?? 12 * 60 * 60_000;
    this.firstSlot = Math.floor(
      (startedAt - historyMs - TIMELINE_EPOCH) / this.intervalMs,
    );
  }

  repo(owner: string, repo: string): SimRepoSpec | undefined {
    return this.repos.find(
      r =>
        r.owner.toLowerCase() === owner.toLowerCase() &&
        r.repo.toLowerCase() === repo.toLowerCase(),
    );
  }

  /** The latest visible attempt of every run created by now, newest first. */
  listRuns(spec: SimRepoSpec): SimRunAttempt[] {
    const at = this.now();
    const out: SimRunAttempt[] = [];
    for (const run of this.plan(spec, at)) {
      const visible = run.attempts.filter(a => a.createdAt <= at);
      if (visible.length > 0) {
        out.push(this.materialize(run, visible[visible.length - 1], at));
      }
    }
    return out.sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
  }

  /** One run: its latest attempt, or the given one. */
  getRun(
    spec: SimRepoSpec,
    runId: number,
    attempt?: number,
  ): SimRunAttempt | undefined {
    const at = this.now();
    const run = this.plan(spec, at).find(r => r.id === runId);
    if (!run) {
      return undefined;
    }
    const visible = run.attempts.filter(a => a.createdAt <= at);
    const chosen =
      attempt === undefined
        ? visible[visible.length - 1]
        : visible.find(a => a.attempt === attempt);
    return chosen ? this.materialize(run, chosen, at) : undefined;
  }

  findJob(
    spec: SimRepoSpec,
    jobId: number,
  ): { run: SimRunAttempt; job: SimJob } | undefined {
    const runId = Math.floor(jobId / 100);
    const attempt = Math.floor((jobId % 100) / 10);
    const run = this.getRun(spec, runId, attempt);
    const job = run?.jobs.find(j => j.id === jobId);
    return run && job ? { run, job } : undefined;
  }

  /**
   * Reruns a finished run, as a person would from the provider's page: a
   * new attempt created at `at` that queues, runs and passes (but for a
   * test broken on the run's commit, which fails again). With
   * `failedOnly` the jobs that passed before the first failed one are
   * carried over (done at once) and only the rest run again. A retry the
   * history had planned after `at` makes way for it. Refused for a run still
   * queued or running, for `failedOnly` when nothing failed, and past
   * {@link MAX_SIM_ATTEMPTS}.
   */
  requestRerun(
    spec: SimRepoSpec,
    runId: number,
    options: { failedOnly?: boolean; at?: number } = {},
  ): SimActionResult {
    const at = options.at ?? this.now();
    const failedOnly = options.failedOnly ?? false;
    const run = this.plan(spec, at).find(r => r.id === runId);
    const visible = run?.attempts.filter(a => a.createdAt <= at) ?? [];
    if (!run || visible.length === 0) {
      return { ok: false, reason: 'not-found' };
    }
    const latest = this.materialize(run, visible[visible.length - 1], at);
    if (latest.status !== 'completed') {
      return { ok: false, reason: 'not-finished' };
    }
    const firstFailed = latest.jobs.findIndex(
      j => j.conclusion !== 'success' && j.conclusion !== 'skipped',
    );
    if (failedOnly && (latest.conclusion === 'success' || firstFailed < 0)) {
      return { ok: false, reason: 'nothing-failed' };
    }
    if (latest.attempt >= MAX_SIM_ATTEMPTS) {
      return { ok: false, reason: 'too-many-attempts' };
    }
    const planned = this.addAttempt(run, latest.attempt, at, {
      failedOnly,
      carried: failedOnly ? firstFailed : 0,
    });
    return { ok: true, run: this.materialize(run, planned, at) };
  }

  /**
   * Cancels the latest attempt of a run, queued or running at `at`: its
   * unfinished jobs end as cancelled at `at`, and so does the attempt.
   * Refused for an attempt that has finished.
   */
  cancel(
    spec: SimRepoSpec,
    runId: number,
    options: { at?: number } = {},
  ): SimActionResult {
    const at = options.at ?? this.now();
    const run = this.plan(spec, at).find(r => r.id === runId);
    const visible = run?.attempts.filter(a => a.createdAt <= at) ?? [];
    if (!run || visible.length === 0) {
      return { ok: false, reason: 'not-found' };
    }
    const planned = visible[visible.length - 1];
    if (this.materialize(run, planned, at).status === 'completed') {
      return { ok: false, reason: 'finished' };
    }
    planned.cancelledAt = at;
    // A retry the history had planned for after this attempt never comes.
    run.attempts = run.attempts.filter(a => a.attempt <= planned.attempt);
    return { ok: true, run: this.materialize(run, planned, at) };
  }

  /**
   * Breaks the default branch from `at` (default now), as a bad merge would:
   * the latest finished run of each workflow on the default branch gets a
   * new attempt created at `at` that fails within seconds (queued ~2 s, jobs
   * 5 to 15 s, the first job failing), so a failure shows at once instead of
   * at the next planned run. An attempt on the default branch still
   * unfinished at `at` that was to pass fails instead (a job it has not
   * reached half-way yet fails), and every run the history plans on the
   * default branch from `at` on fails its first attempt, with no automatic
   * retry, until {@link SimulatedHistory.fixDefaultBranch}. A workflow whose
   * latest default-branch run is still running gets no new attempt: it fails
   * by that rule. Feature branches are untouched. Calls are expected in time
   * order; breaking a branch already broken only adds the failing attempts.
   * Answers the attempts it created, as they are at `at`.
   */
  breakDefaultBranch(
    spec: SimRepoSpec,
    options: { at?: number } = {},
  ): SimRunAttempt[] {
    const at = options.at ?? this.now();
    const runs = this.plan(spec, at);
    if (!this.isDefaultBranchBroken(spec, { at })) {
      this.breakagesOf(spec).push({ from: at });
    }
    for (const run of runs) {
      this.applyBreakages(spec, run);
    }
    const created: SimRunAttempt[] = [];
    for (const { run, latest } of this.latestOnDefaultBranch(spec, runs, at)) {
      if (latest.status === 'completed' && latest.attempt < MAX_SIM_ATTEMPTS) {
        const planned = this.addAttempt(run, latest.attempt, at, {
          fail: true,
        });
        created.push(this.materialize(run, planned, at));
      }
    }
    return created;
  }

  /**
   * Ends a breakage from `at` (default now): the latest run of each workflow
   * on the default branch that failed gets a new attempt created at `at`
   * that passes, as {@link SimulatedHistory.requestRerun} makes, and the
   * runs planned from `at` on have their planned outcomes again. Runs
   * created while the branch was broken keep failing, as they ran on broken
   * code. Answers the attempts it created, as they are at `at`.
   */
  fixDefaultBranch(
    spec: SimRepoSpec,
    options: { at?: number } = {},
  ): SimRunAttempt[] {
    const at = options.at ?? this.now();
    const runs = this.plan(spec, at);
    const key = `${spec.owner}/${spec.repo}`;
    const breakages = this.breakagesOf(spec)
      .map(b =>
        b.from <= at && (b.to === undefined || b.to > at)
          ? { ...b, to: at }
          : b,
      )
      // A breakage fixed as it began, or planned for after the fix, never was.
      .filter(b => b.from < at && (b.to === undefined || b.from < b.to));
    this.breakages.set(key, breakages);
    const repoIndex = this.repos.indexOf(spec);
    runs.forEach((run, i) => {
      const untouched = run.attempts.every(
        a => !a.requested && a.cancelledAt === undefined,
      );
      if (
        run.branch === spec.defaultBranch &&
        run.attempts[0].createdAt >= at &&
        untouched
      ) {
        // A run's number is its slot.
        const fresh = this.planRun(spec, repoIndex, run.runNumber);
        this.applyBreakages(spec, fresh);
        runs[i] = fresh;
      }
    });
    const created: SimRunAttempt[] = [];
    for (const { run, latest } of this.latestOnDefaultBranch(spec, runs, at)) {
      if (latest.status === 'completed' && latest.conclusion === 'failure') {
        const result = this.requestRerun(spec, run.id, { at });
        if (result.ok) {
          created.push(result.run);
        }
      }
    }
    return created;
  }

  /** Whether the default branch is broken at `at` (default now). */
  isDefaultBranchBroken(
    spec: SimRepoSpec,
    options: { at?: number } = {},
  ): boolean {
    const at = options.at ?? this.now();
    return this.breakagesOf(spec).some(
      b => b.from <= at && (b.to === undefined || at < b.to),
    );
  }

  private breakagesOf(spec: SimRepoSpec): Breakage[] {
    const key = `${spec.owner}/${spec.repo}`;
    let breakages = this.breakages.get(key);
    if (!breakages) {
      breakages = [];
      this.breakages.set(key, breakages);
    }
    return breakages;
  }

  /** The latest run of each workflow on the default branch created by `at`, with its latest attempt then. */
  private latestOnDefaultBranch(
    spec: SimRepoSpec,
    runs: PlannedRun[],
    at: number,
  ): Array<{ run: PlannedRun; latest: SimRunAttempt }> {
    const out: Array<{ run: PlannedRun; latest: SimRunAttempt }> = [];
    for (const workflow of spec.workflows) {
      const run = runs.findLast(
        r =>
          r.branch === spec.defaultBranch &&
          r.workflow.id === workflow.id &&
          r.attempts[0].createdAt <= at,
      );
      const visible = run?.attempts.filter(a => a.createdAt <= at) ?? [];
      if (run && visible.length > 0) {
        out.push({
          run,
          latest: this.materialize(run, visible[visible.length - 1], at),
        });
      }
    }
    return out;
  }

  /**
   * A new attempt of a run after attempt `after`, created at `at`, in place
   * of any the history had planned after that one: a rerun that passes
   * (jobs before `carried` done at once), or one that fails fast in its
   * first job for a broken branch.
   */
  private addAttempt(
    run: PlannedRun,
    after: number,
    at: number,
    how: { failedOnly: boolean; carried: number } | { fail: true },
  ): PlannedAttempt {
    const attempt = after + 1;
    const rand = seeded(run.id * 31 + attempt * 7 + 17);
    let planned: PlannedAttempt;
    if ('fail' in how) {
      const kinds = run.workflow.jobs[0].failures;
      const quick = kinds.filter(k => k !== 'timeout');
      planned = {
        attempt,
        createdAt: at,
        queueMs: 1_500 + Math.floor(rand() * 1_000),
        jobDurations: run.workflow.jobs.map(
          () => 5_000 + Math.floor(rand() * 10_000),
        ),
        failure: {
          job: 0,
          kind: pick(rand, quick.length > 0 ? quick : kinds),
        },
        requested: { failedOnly: false, breaking: true },
      };
    } else {
      planned = {
        attempt,
        createdAt: at,
        queueMs: 2_000 + Math.floor(rand() * 8_000),
        jobDurations: run.workflow.jobs.map((_, j) =>
          j < how.carried ? 0 : 20_000 + Math.floor(rand() * 50_000),
        ),
        requested: { failedOnly: how.failedOnly },
      };
      if (run.brokenJob !== undefined && run.brokenJob >= how.carried) {
        // Run again, a broken test fails again.
        this.failBrokenTest(planned, run.brokenJob);
      }
    }
    run.attempts = [...run.attempts.filter(a => a.attempt <= after), planned];
    return planned;
  }

  /** Applies every breakage of the repository to one run (idempotent). */
  private applyBreakages(spec: SimRepoSpec, run: PlannedRun) {
    if (run.branch !== spec.defaultBranch) {
      return;
    }
    for (const breakage of this.breakagesOf(spec)) {
      this.breakRun(run, breakage);
    }
  }

  /**
   * What a breakage does to one default-branch run: a first attempt created
   * while broken fails and is not retried automatically (a planned retry
   * created while broken never comes); an attempt still unfinished when it
   * broke fails unless it was to fail anyway. Attempts asked for through the
   * API and those cancelled through it are left as they are.
   */
  private breakRun(run: PlannedRun, breakage: Breakage) {
    const { from, to } = breakage;
    const kept: PlannedAttempt[] = [];
    for (const planned of run.attempts) {
      const created = planned.createdAt;
      if (
        !planned.requested &&
        planned.cancelledAt === undefined &&
        created >= from &&
        (to === undefined || created < to)
      ) {
        if (planned.attempt > 1) {
          break;
        }
        if (!planned.failure) {
          this.failPlanned(run, planned);
        }
      } else if (
        created < from &&
        !planned.failure &&
        planned.cancelledAt === undefined &&
        this.materialize(run, planned, from).status !== 'completed'
      ) {
        this.failPlanned(run, planned, from);
      }
      kept.push(planned);
    }
    run.attempts = kept;
  }

  /**
   * Makes a planned attempt fail. Not started yet: a job and how it fails
   * as the history picks them. Under way at `since`: the first job not yet
   * half done then, so nothing reported before `since` changes (no timeout
   * where the job can fail another way, and no longer jobs).
   */
  private failPlanned(
    run: PlannedRun,
    planned: PlannedAttempt,
    since?: number,
  ) {
    const rand = seeded(run.id * 53 + planned.attempt * 11 + 5);
    const jobs = run.workflow.jobs;
    let job = Math.floor(rand() * jobs.length);
    if (since !== undefined) {
      let start = planned.createdAt + planned.queueMs;
      const halfway = planned.jobDurations.map(d => {
        const h = start + d / 2;
        start += d;
        return h;
      });
      job = halfway.findIndex(h => h > since);
      if (job < 0) {
        if (planned.cancelled) {
          // Too late to fail differently: it ends cancelled as planned.
          return;
        }
        job = jobs.length - 1;
      }
    }
    const kinds = jobs[job].failures;
    const quiet = kinds.filter(k => k !== 'timeout');
    const kind = pick(
      rand,
      since !== undefined && quiet.length > 0 ? quiet : kinds,
    );
    planned.failure = { job, kind };
    delete planned.cancelled;
    if (kind === 'timeout' && since === undefined) {
      planned.jobDurations = planned.jobDurations.map((d, j) =>
        j === job ? d + 120_000 : d,
      );
    }
  }

  private plan(spec: SimRepoSpec, at: number): PlannedRun[] {
    const key = `${spec.owner}/${spec.repo}`;
    let planned = this.planned.get(key);
    if (!planned) {
      planned = { runs: [], next: this.firstSlot };
      this.planned.set(key, planned);
    }
    const repoIndex = this.repos.indexOf(spec);
    const lastSlot = Math.floor((at - TIMELINE_EPOCH) / this.intervalMs);
    for (; planned.next <= lastSlot; planned.next++) {
      if (this.slots && !this.slots(spec, planned.next)) {
        continue;
      }
      const run = this.planRun(spec, repoIndex, planned.next);
      this.applyBreakages(spec, run);
      planned.runs.push(run);
    }
    return planned.runs;
  }

  private planRun(
    spec: SimRepoSpec,
    repoIndex: number,
    slot: number,
  ): PlannedRun {
    const rand = seeded((repoIndex + 1) * 100_003 + slot * 7919);
    const onDefault = spec.featureBranches.length === 0 || rand() < 0.65;
    const branch = onDefault
      ? spec.defaultBranch
      : pick(rand, spec.featureBranches);
    const eligible = spec.workflows.filter(
      w => branch === spec.defaultBranch || !w.defaultBranchOnly,
    );
    const workflow = eligible[slot % eligible.length];
    const createdAt =
      TIMELINE_EPOCH + slot * this.intervalMs + Math.floor(rand() * 20_000);
    const first = this.planAttempt(rand, spec, workflow, 1, createdAt);
    const attempts = [first];
    if (first.failure && rand() < 0.45) {
      const end =
        createdAt +
        first.queueMs +
        first.jobDurations.reduce((a, b) => a + b, 0);
      const retry = this.planAttempt(rand, spec, workflow, 2, end + 45_000);
      delete retry.failure;
      delete retry.cancelled;
      attempts.push(retry);
    }
    const run: PlannedRun = {
      id: slot * 10 + repoIndex,
      // A per-repository sequence: stable, increasing, never reused.
      runNumber: slot,
      workflow,
      branch,
      sha: hex(rand, 40),
      message: pick(rand, MESSAGES),
      actor: pick(rand, ACTORS),
      event: eventOf(onDefault, workflow),
      attempts,
    };
    this.applyBrokenTests(run);
    return run;
  }

  /**
   * A commit pushed while one of its workflow's tests is broken (the test
   * spec's `broken` schedule) fails that test on every attempt: each
   * planned attempt fails the job that runs it with `test`, unless it
   * ends before the tests ran (an earlier job failed, the job itself
   * failed otherwise, or it was cancelled). Drawn after the run's other
   * plans, so the rest of the history stays as it was.
   */
  private applyBrokenTests(run: PlannedRun) {
    const job = brokenJobOf(run.workflow, run.attempts[0].createdAt);
    if (job === undefined) {
      return;
    }
    run.brokenJob = job;
    for (const planned of run.attempts) {
      this.failBrokenTest(planned, job);
    }
  }

  private failBrokenTest(planned: PlannedAttempt, job: number) {
    const failure = planned.failure;
    if (
      planned.cancelled ||
      planned.cancelledAt !== undefined ||
      (failure && (failure.job < job || failure.job === job))
    ) {
      return;
    }
    planned.failure = { job, kind: 'test' };
  }

  private planAttempt(
    rand: () => number,
    spec: SimRepoSpec,
    workflow: SimWorkflowSpec,
    attempt: number,
    createdAt: number,
  ): PlannedAttempt {
    const queueMs = 3_000 + Math.floor(rand() * 40_000);
    const jobDurations = workflow.jobs.map(
      () => 20_000 + Math.floor(rand() * 70_000),
    );
    const roll = rand();
    const planned: PlannedAttempt = {
      attempt,
      createdAt,
      queueMs,
      jobDurations,
    };
    if (roll < spec.failureRate) {
      const job = Math.floor(rand() * workflow.jobs.length);
      const kind = pick(rand, workflow.jobs[job].failures);
      planned.failure = { job, kind };
      if (kind === 'timeout') {
        jobDurations[job] += 120_000;
      }
    } else if (roll < spec.failureRate + 0.03) {
      planned.cancelled = true;
    }
    return planned;
  }

  private materialize(
    run: PlannedRun,
    planned: PlannedAttempt,
    at: number,
  ): SimRunAttempt {
    const startedAt = planned.createdAt + planned.queueMs;
    const jobs: SimJob[] = [];
    let cursor = startedAt;
    let stoppedAt: number | undefined;
    let updatedAt = planned.createdAt;
    run.workflow.jobs.forEach((jobSpec, j) => {
      const id = run.id * 100 + planned.attempt * 10 + j;
      const duration = planned.jobDurations[j];
      const fails =
        planned.failure?.job === j ? planned.failure.kind : undefined;
      const cancels = planned.cancelled && j === run.workflow.jobs.length - 1;
      const failedTests =
        fails === 'test' && jobSpec.tests
          ? failingTests(
              jobSpec.tests,
              { runId: run.id, attempt: planned.attempt, job: j },
              run.attempts[0].createdAt,
            )
          : undefined;
      const job = this.materializeJob(
        jobSpec,
        id,
        cursor,
        duration,
        at,
        { fails, failedTests },
        cancels,
        stoppedAt,
        planned.cancelledAt,
      );
      if (job.completedAt) {
        updatedAt = Math.max(updatedAt, job.completedAt);
      } else if (job.startedAt) {
        updatedAt = Math.max(updatedAt, job.startedAt);
      }
      jobs.push(job);
      if (stoppedAt === undefined) {
        cursor += duration;
        if (fails || cancels) {
          stoppedAt = cursor;
        }
      }
    });
    if (at >= startedAt) {
      updatedAt = Math.max(updatedAt, startedAt);
    }
    const allDone = jobs.every(j => j.status === 'completed');
    let status: SimRunAttempt['status'] = 'queued';
    let conclusion: string | null = null;
    if (allDone) {
      status = 'completed';
      conclusion =
        planned.cancelled ||
        (planned.cancelledAt !== undefined && at >= planned.cancelledAt)
          ? 'cancelled'
          : jobs.find(
              j => j.conclusion === 'failure' || j.conclusion === 'timed_out',
            )?.conclusion ?? 'success';
      if (conclusion === 'timed_out') {
        conclusion = 'failure';
      }
    } else if (at >= startedAt) {
      status = 'in_progress';
    }
    return {
      id: run.id,
      attempt: planned.attempt,
      runNumber: run.runNumber,
      workflow: run.workflow,
      branch: run.branch,
      sha: run.sha,
      message: run.message,
      actor: run.actor,
      event: run.event,
      status,
      conclusion,
      createdAt: planned.createdAt,
      startedAt: Math.min(startedAt, Math.max(at, planned.createdAt)),
      updatedAt,
      jobs,
    };
  }

  private materializeJob(
    jobSpec: SimJobSpec,
    id: number,
    start: number,
    duration: number,
    at: number,
    fails: JobFailure,
    cancels: boolean | undefined,
    skippedAt: number | undefined,
    cancelAt: number | undefined,
  ): SimJob {
    if (cancelAt === undefined || at < cancelAt) {
      return this.jobAt(
        jobSpec,
        id,
        start,
        duration,
        at,
        fails,
        cancels,
        skippedAt,
      );
    }
    // Cancelled through the API: as it was then, and what was not done ends.
    const then = this.jobAt(
      jobSpec,
      id,
      start,
      duration,
      cancelAt,
      fails,
      cancels,
      skippedAt,
    );
    if (then.status === 'completed') {
      return then;
    }
    return {
      ...then,
      status: 'completed',
      conclusion: 'cancelled',
      completedAt: cancelAt,
      steps: then.steps.map(step => {
        if (step.status === 'completed') {
          return step;
        }
        return {
          ...step,
          status: 'completed',
          conclusion: step.status === 'in_progress' ? 'cancelled' : 'skipped',
          completedAt: cancelAt,
        };
      }),
      log:
        then.status === 'queued'
          ? []
          : [
              ...then.log,
              `${new Date(
                cancelAt,
              ).toISOString()} ##[error]The operation was canceled.`,
            ],
    };
  }

  private jobAt(
    jobSpec: SimJobSpec,
    id: number,
    start: number,
    duration: number,
    at: number,
    { fails, failedTests }: JobFailure,
    cancels: boolean | undefined,
    skippedAt: number | undefined,
  ): SimJob {
    const runnerName = `GitHub Actions ${(id % 17) + 2}`;
    const names = [...STEP_PRELUDE, `Run ${jobSpec.command}`, ...STEP_POSTLUDE];
    if (skippedAt !== undefined) {
      // An earlier job failed: GitHub skips the jobs that need it.
      const done = at >= skippedAt;
      return {
        id,
        name: jobSpec.name,
        status: done ? 'completed' : 'queued',
        conclusion: done ? 'skipped' : null,
        startedAt: done ? skippedAt : undefined,
        completedAt: done ? skippedAt : undefined,
        runnerName,
        steps: [],
        log: [],
      };
    }
    const weights = [0.05, 0.05, 0.1, 0.7, 0.05, 0.05];
    const steps: SimStep[] = [];
    let t = start;
    let failed = false;
    names.forEach((name, i) => {
      const stepStart = t;
      const stepEnd = t + Math.floor(duration * weights[i]);
      t = stepEnd;
      const isCommand = i === STEP_PRELUDE.length;
      let status: SimStep['status'] = 'queued';
      let conclusion: string | null = null;
      if (at >= stepEnd) {
        status = 'completed';
        if (failed && i < names.length - 1) {
          conclusion = 'skipped';
        } else if (isCommand && fails) {
          conclusion = 'failure';
          failed = true;
        } else if (isCommand && cancels) {
          conclusion = 'cancelled';
          failed = true;
        } else {
          conclusion = 'success';
        }
      } else if (at >= stepStart) {
        status = 'in_progress';
      }
      steps.push({
        number: i + 1,
        name,
        status,
        conclusion,
        startedAt: at >= stepStart ? stepStart : undefined,
        completedAt: status === 'completed' ? stepEnd : undefined,
      });
    });
    const end = start + duration;
    let status: SimJob['status'] = 'queued';
    if (at >= end) {
      status = 'completed';
    } else if (at >= start) {
      status = 'in_progress';
    }
    let conclusion: string | null = null;
    if (status === 'completed') {
      if (fails === 'timeout') {
        conclusion = 'timed_out';
      } else if (fails) {
        conclusion = 'failure';
      } else if (cancels) {
        conclusion = 'cancelled';
      } else {
        conclusion = 'success';
      }
    }
    return {
      id,
      name: jobSpec.name,
      status,
      conclusion,
      startedAt: at >= start ? start : undefined,
      completedAt: status === 'completed' ? end : undefined,
      runnerName,
      steps,
      log:
        status === 'queued'
          ? []
          : jobLog(jobSpec, start, Math.min(at, end), end, fails, failedTests),
      ...(status === 'completed' && fails ? { failure: fails } : {}),
      ...(status === 'completed' && failedTests ? { failedTests } : {}),
    };
  }
}

/** How a job fails, when it does: the kind, and the tests a `test` failure fails. */
interface JobFailure {
  fails: FailureKind | undefined;
  failedTests?: string[];
}

function eventOf(onDefault: boolean, workflow: SimWorkflowSpec): string {
  if (!onDefault) {
    return 'pull_request';
  }
  return workflow.defaultBranchOnly ? 'schedule' : 'push';
}
