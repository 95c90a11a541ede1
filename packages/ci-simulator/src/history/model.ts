/*
 * The simulated history's model: repositories, workflows, runs, attempts,
 * jobs and steps as the provider simulators read them.
 */

/** How one simulated job fails, with the log lines it prints. */
export type FailureKind =
  | 'test'
  | 'lint'
  | 'dependency-install'
  | 'out-of-memory'
  | 'timeout'
  | 'no-space'
  | 'registry'
  | 'gradle-daemon';

export interface SimJobSpec {
  name: string;
  /** The job-specific command step, e.g. `yarn test`. */
  command: string;
  /** The failure kinds this job can end with. */
  failures: FailureKind[];
}

export interface SimWorkflowSpec {
  id: number;
  name: string;
  file: string;
  jobs: SimJobSpec[];
  /** Only runs on the default branch (deploys). */
  defaultBranchOnly?: boolean;
}

export interface SimRepoSpec {
  owner: string;
  repo: string;
  defaultBranch: string;
  featureBranches: string[];
  workflows: SimWorkflowSpec[];
  /** Share of runs that fail, 0 to 1. */
  failureRate: number;
  /** The token is refused for this repository (403), as GitHub does. */
  forbidden?: boolean;
}

export interface SimStep {
  number: number;
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: string | null;
  startedAt?: number;
  completedAt?: number;
}

export interface SimJob {
  id: number;
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: string | null;
  startedAt?: number;
  completedAt?: number;
  runnerName: string;
  steps: SimStep[];
  log: string[];
}

/** One attempt of one run, as seen at a moment. */
export interface SimRunAttempt {
  id: number;
  attempt: number;
  runNumber: number;
  workflow: SimWorkflowSpec;
  branch: string;
  sha: string;
  message: string;
  actor: string;
  event: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: string | null;
  createdAt: number;
  startedAt: number;
  updatedAt: number;
  jobs: SimJob[];
}

/** Why a rerun or a cancel was refused, in the words of the simulated providers. */
export type SimActionRefusal =
  /** No such run (or not yet created). */
  | 'not-found'
  /** A rerun of an attempt still queued or running. */
  | 'not-finished'
  /** A cancel of an attempt that has finished. */
  | 'finished'
  /** A rerun of failed jobs where none failed. */
  | 'nothing-failed'
  /** The simulator keeps job ids unique for up to 9 attempts. */
  | 'too-many-attempts';

/** What a rerun or a cancel did: the attempt as it now is, or why nothing. */
export type SimActionResult =
  | { ok: true; run: SimRunAttempt }
  | { ok: false; reason: SimActionRefusal };

/** The most attempts of one run: job ids hold the attempt in one digit. */
export const MAX_SIM_ATTEMPTS = 9;
