import {
  CiRun,
  CiRunStatus,
  CiSyncError,
} from '@ci-experience/plugin-ci-experience-common';
import { CiSource } from '@ci-experience/plugin-ci-experience-node';

/** What the store knows of a source. */
export interface StoredSource {
  key: string;
  provider: string;
  source: string;
  host?: string;
  defaultBranch?: string;
  lastSyncedAt?: string;
  lastAttemptAt?: string;
  error?: CiSyncError;
}

/** A run as stored: the model plus what a sync needs to compare. */
export interface StoredRun extends CiRun {
  sourceKey: string;
  providerRunId: string;
  providerUpdatedAt?: string;
}

/** What a sync compares to decide whether a run changed. */
export interface StoredRunVersion {
  status: CiRunStatus;
  providerUpdatedAt?: string;
  hasJobs: boolean;
}

/** A run listing's filters and page. */
export interface ListRunsOptions {
  sourceKeys: string[];
  branch?: string;
  statuses?: CiRunStatus[];
  workflow?: string;
  limit: number;
  cursor?: string;
}

/** Storage of sources and runs. */
export interface CiStore {
  getSources(keys: string[]): Promise<Map<string, StoredSource>>;
  upsertSource(source: CiSource): Promise<void>;
  setDefaultBranch(key: string, branch: string): Promise<void>;
  markSynced(key: string, at: string): Promise<void>;
  markFailed(key: string, at: string, error: CiSyncError): Promise<void>;

  getRunVersions(ids: string[]): Promise<Map<string, StoredRunVersion>>;
  upsertRuns(runs: StoredRun[]): Promise<void>;
  /** Runs of a source still queued or running, to revisit. */
  listUnfinishedRuns(
    sourceKey: string,
  ): Promise<Array<{ id: string; providerRunId: string; attempt: number }>>;
  /** Newest first; `nextCursor` is set when more runs match. */
  listRuns(
    options: ListRunsOptions,
  ): Promise<{ items: CiRun[]; nextCursor?: string }>;
  /** One run with its jobs. */
  getRun(id: string): Promise<StoredRun | undefined>;
}
