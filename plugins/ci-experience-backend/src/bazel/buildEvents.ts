/*
 * Bazel's Build Event Protocol folded into what the suite keeps of an
 * invocation (issue 19, "What is kept per invocation"). Events come as
 * proto3 JSON objects: the lines of a `--build_event_json_file`, or the
 * `bazel_event` of a Build Event Service stream decoded to JSON. Fields
 * follow `build_event_stream.proto`; int64 values arrive as strings, zero
 * and false values are left out, and older Bazel versions send the
 * `*Millis` fields where newer ones send timestamps and durations. Unknown
 * events and fields are ignored; a malformed one changes nothing.
 */

/** A target an invocation built. */
export interface BazelTarget {
  label: string;
  /** The rule, e.g. `genrule rule`, from its `targetConfigured` event. */
  kind?: string;
  /** Undefined while the target has not completed. */
  success?: boolean;
}

/** A test target's outcome over its runs, shards and attempts. */
export interface BazelTest {
  label: string;
  /** `TestStatus` (`PASSED`, `FLAKY`, `TIMEOUT`, `FAILED`, ...). */
  status: string;
  /** Attempts of its first run and shard (more than 1: retried). */
  attempts: number;
  shards: number;
  runs: number;
  /** Its runs' time added up (ms). */
  durationMs?: number;
  /** Whether every result was read from a cache (local or remote). */
  cached: boolean;
}

/** The build metrics of an invocation (`BuildMetrics`). */
export interface BazelMetrics {
  actionsCreated?: number;
  actionsExecuted?: number;
  actionCacheHits?: number;
  actionCacheMisses?: number;
  /** `runner_count` entries named `remote cache hit`. */
  remoteCacheHits?: number;
  criticalPathMs?: number;
  wallTimeMs?: number;
}

/** What the suite keeps of one Bazel invocation. */
export interface BazelInvocation {
  id: string;
  command?: string;
  patterns: string[];
  user?: string;
  host?: string;
  bazelVersion?: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  exitName?: string;
  success?: boolean;
  /** `--build_metadata` (COMMIT_SHA, BRANCH, REPO_URL, ROLE, ...). */
  metadata: Record<string, string>;
  targets: BazelTarget[];
  tests: BazelTest[];
  metrics: BazelMetrics;
  /** The first failure the events tell of. */
  firstFailure?: { label?: string; message: string };
}

/** Limits that keep one invocation's memory bounded. */
export const BEP_LIMITS = {
  targets: 100_000,
  tests: 50_000,
  metadata: 100,
  patterns: 1_000,
  text: 2_048,
};

type Json = Record<string, unknown>;

/** Test statuses that fail the invocation (FLAKY passed in the end). */
const FAILING_TEST_STATUSES = new Set([
  'FAILED',
  'TIMEOUT',
  'INCOMPLETE',
  'REMOTE_FAILURE',
  'FAILED_TO_BUILD',
]);

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const text = (v: unknown, max = BEP_LIMITS.text): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v.slice(0, max) : undefined;

/** An int64 as proto3 JSON writes it (a string) or a number. */
function int(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string' && /^-?\d{1,16}$/.test(v)) return Number(v);
  return undefined;
}

/** A proto3 JSON Duration (`"1.234s"`) in ms. */
export function durationMs(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const match = /^(-?\d{1,12})(?:\.(\d{1,9}))?s$/.exec(v);
  if (!match) return undefined;
  const fraction = (match[2] ?? '').padEnd(3, '0').slice(0, 3);
  return Number(match[1]) * 1000 + Number(fraction);
}

/** A timestamp (RFC 3339) or a millisecond count, as ISO. */
function instant(timestamp: unknown, millis: unknown): string | undefined {
  const ms =
    typeof timestamp === 'string' ? Date.parse(timestamp) : int(millis);
  if (ms === undefined || !Number.isFinite(ms)) return undefined;
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  return year >= 1970 && year <= 9999 ? date.toISOString() : undefined;
}

/** The one key of an event's `id` (its kind) and that id's fields. */
function kindOf(event: Json): [string, Json] | undefined {
  if (!isObject(event.id)) return undefined;
  const [kind] = Object.keys(event.id);
  const id = kind ? event.id[kind] : undefined;
  return kind ? [kind, isObject(id) ? id : {}] : undefined;
}

/** `Critical Path: 16.41s, ...` (older Bazel's `critical path` tool log). */
function criticalPathOfLog(contents: unknown): number | undefined {
  if (typeof contents !== 'string') return undefined;
  const decoded = Buffer.from(contents.slice(0, 4096), 'base64').toString(
    'utf8',
  );
  const match = /Critical Path:\s*([\d.]+)s/.exec(decoded);
  return match ? Math.round(Number(match[1]) * 1000) : undefined;
}

/**
 * Folds the events of one invocation, in any order (a resumed stream may
 * repeat some: each event's effect is idempotent).
 */
export class BuildEventFold {
  private id?: string;
  private readonly invocation: Omit<BazelInvocation, 'id'> = {
    patterns: [],
    metadata: {},
    targets: [],
    tests: [],
    metrics: {},
  };
  private readonly targets = new Map<string, BazelTarget>();
  private readonly tests = new Map<string, BazelTest>();
  /** Per test: the results seen, by run/shard/attempt (duplicates once). */
  private readonly results = new Map<string, Map<string, boolean>>();

  /** Adds one event; answers whether it was read. */
  add(event: unknown): boolean {
    if (!isObject(event)) return false;
    const kind = kindOf(event);
    if (!kind) return false;
    const [name, id] = kind;
    const inv = this.invocation;
    switch (name) {
      case 'started': {
        const started = isObject(event.started) ? event.started : {};
        this.id = text(started.uuid, 128) ?? this.id;
        inv.command = text(started.command, 64) ?? inv.command;
        inv.bazelVersion =
          text(started.buildToolVersion, 64) ?? inv.bazelVersion;
        inv.startedAt =
          instant(started.startTime, started.startTimeMillis) ?? inv.startedAt;
        return true;
      }
      case 'pattern': {
        const patterns = Array.isArray(id.pattern) ? id.pattern : [];
        for (const p of patterns) {
          const pattern = text(p);
          if (
            pattern &&
            !inv.patterns.includes(pattern) &&
            inv.patterns.length < BEP_LIMITS.patterns
          ) {
            inv.patterns.push(pattern);
          }
        }
        return true;
      }
      case 'buildMetadata': {
        const meta = isObject(event.buildMetadata)
          ? event.buildMetadata.metadata
          : undefined;
        if (isObject(meta)) {
          for (const [key, value] of Object.entries(meta)) {
            const v = text(value);
            if (
              v !== undefined &&
              (key in inv.metadata ||
                Object.keys(inv.metadata).length < BEP_LIMITS.metadata)
            ) {
              inv.metadata[key.slice(0, 128)] = v;
            }
          }
        }
        return true;
      }
      case 'workspaceStatus': {
        const items = isObject(event.workspaceStatus)
          ? event.workspaceStatus.item
          : undefined;
        for (const item of Array.isArray(items) ? items : []) {
          if (!isObject(item)) continue;
          if (item.key === 'BUILD_HOST') inv.host = text(item.value, 255);
          if (item.key === 'BUILD_USER') inv.user = text(item.value, 255);
        }
        return true;
      }
      case 'targetConfigured': {
        const target = this.target(id.label);
        const configured = isObject(event.configured) ? event.configured : {};
        if (target) target.kind = text(configured.targetKind, 128);
        return target !== undefined;
      }
      case 'targetCompleted': {
        const target = this.target(id.label);
        if (!target) return false;
        if (isObject(event.completed)) {
          // proto3 JSON leaves `success: false` out.
          target.success = event.completed.success === true;
          if (!target.success) {
            this.failed(
              target.label,
              isObject(event.completed.failureDetail)
                ? event.completed.failureDetail.message
                : undefined,
            );
          }
        } else if (isObject(event.aborted)) {
          target.success = false;
          this.failed(target.label, event.aborted.description);
        }
        return true;
      }
      case 'action': {
        const action = isObject(event.action) ? event.action : {};
        if (action.success !== true) {
          const detail = isObject(action.failureDetail)
            ? action.failureDetail.message
            : undefined;
          this.failed(
            text(action.label) ?? text(id.label),
            detail ?? `${text(action.type, 64) ?? 'An action'} failed`,
          );
        }
        return true;
      }
      case 'aborted':
      case 'buildFinished':
        return this.finishedOrAborted(name, event);
      case 'testResult':
        return this.testResult(id, event);
      case 'testSummary':
        return this.testSummary(id, event);
      case 'buildMetrics':
        return this.buildMetrics(event);
      case 'buildToolLogs': {
        const logs = isObject(event.buildToolLogs)
          ? event.buildToolLogs.log
          : undefined;
        for (const log of Array.isArray(logs) ? logs : []) {
          if (isObject(log) && log.name === 'critical path') {
            inv.metrics.criticalPathMs ??= criticalPathOfLog(log.contents);
          }
        }
        return true;
      }
      default:
        return false;
    }
  }

  /** The invocation so far; undefined until its `started` event. */
  result(): BazelInvocation | undefined {
    if (!this.id) return undefined;
    return {
      id: this.id,
      ...this.invocation,
      targets: [...this.targets.values()],
      tests: [...this.tests.values()],
    };
  }

  private target(label: unknown): BazelTarget | undefined {
    const l = text(label, 1024);
    if (!l) return undefined;
    let target = this.targets.get(l);
    if (!target && this.targets.size < BEP_LIMITS.targets) {
      target = { label: l };
      this.targets.set(l, target);
    }
    return target;
  }

  private test(label: unknown): BazelTest | undefined {
    const l = text(label, 1024);
    if (!l) return undefined;
    let test = this.tests.get(l);
    if (!test && this.tests.size < BEP_LIMITS.tests) {
      test = {
        label: l,
        status: 'NO_STATUS',
        attempts: 0,
        shards: 1,
        runs: 1,
        cached: true,
      };
      this.tests.set(l, test);
    }
    return test;
  }

  private failed(label: string | undefined, message: unknown) {
    if (this.invocation.firstFailure) return;
    this.invocation.firstFailure = {
      ...(label ? { label } : {}),
      message: text(message) ?? `${label ?? 'A target'} failed`,
    };
  }

  private finishedOrAborted(name: string, event: Json): boolean {
    const inv = this.invocation;
    if (name === 'aborted') {
      const aborted = isObject(event.aborted) ? event.aborted : {};
      this.failed(
        undefined,
        text(aborted.description) ?? text(aborted.reason, 64),
      );
      return true;
    }
    const finished = isObject(event.finished) ? event.finished : {};
    const exit = isObject(finished.exitCode) ? finished.exitCode : {};
    inv.exitName = text(exit.name, 64);
    // proto3 JSON leaves a zero code out: SUCCESS has none.
    inv.exitCode = int(exit.code) ?? (inv.exitName ? 0 : undefined);
    inv.success = inv.exitCode === 0;
    inv.finishedAt =
      instant(finished.finishTime, finished.finishTimeMillis) ?? inv.finishedAt;
    return true;
  }

  private testResult(id: Json, event: Json): boolean {
    const test = this.test(id.label);
    if (!test || !isObject(event.testResult)) return false;
    const result = event.testResult;
    const run = int(id.run) ?? 1;
    const shard = int(id.shard) ?? 1;
    const attempt = int(id.attempt) ?? 1;
    const seen = this.results.get(test.label) ?? new Map<string, boolean>();
    this.results.set(test.label, seen);
    const key = `${run}/${shard}/${attempt}`;
    const info = isObject(result.executionInfo) ? result.executionInfo : {};
    seen.set(
      key,
      result.cachedLocally === true || info.cachedRemotely === true,
    );
    test.cached = [...seen.values()].every(Boolean);
    if (run === 1 && shard === 1) {
      test.attempts = Math.max(test.attempts, attempt);
    }
    test.shards = Math.max(test.shards, shard);
    test.runs = Math.max(test.runs, run);
    // The summary's status wins when it comes; until then, the latest
    // attempt's.
    if (test.status === 'NO_STATUS' || !this.summarized.has(test.label)) {
      test.status = text(result.status, 32) ?? test.status;
    }
    const status = text(result.status, 32);
    if (status && FAILING_TEST_STATUSES.has(status)) {
      this.failed(
        test.label,
        text(result.statusDetails) ?? `Test ${test.label}: ${status}`,
      );
    }
    return true;
  }

  private readonly summarized = new Set<string>();

  private testSummary(id: Json, event: Json): boolean {
    const test = this.test(id.label);
    if (!test || !isObject(event.testSummary)) return false;
    const summary = event.testSummary;
    this.summarized.add(test.label);
    test.status = text(summary.overallStatus, 32) ?? test.status;
    test.attempts = int(summary.attemptCount) ?? test.attempts;
    test.shards = int(summary.shardCount) ?? test.shards;
    test.runs = int(summary.runCount) ?? test.runs;
    const total =
      durationMs(summary.totalRunDuration) ??
      int(summary.totalRunDurationMillis);
    if (total !== undefined) test.durationMs = total;
    const runs = int(summary.totalRunCount);
    const cached = int(summary.totalNumCached) ?? 0;
    if (runs !== undefined && runs > 0) test.cached = cached >= runs;
    return true;
  }

  private buildMetrics(event: Json): boolean {
    const metrics = isObject(event.buildMetrics) ? event.buildMetrics : {};
    const out = this.invocation.metrics;
    const actions = isObject(metrics.actionSummary)
      ? metrics.actionSummary
      : {};
    out.actionsCreated = int(actions.actionsCreated) ?? out.actionsCreated;
    out.actionsExecuted = int(actions.actionsExecuted) ?? out.actionsExecuted;
    const cache = isObject(actions.actionCacheStatistics)
      ? actions.actionCacheStatistics
      : undefined;
    if (cache) {
      // proto3 JSON leaves zero counts out.
      out.actionCacheHits = int(cache.hits) ?? 0;
      out.actionCacheMisses = int(cache.misses) ?? 0;
    }
    if (Array.isArray(actions.runnerCount)) {
      out.remoteCacheHits = actions.runnerCount
        .filter(r => isObject(r) && r.name === 'remote cache hit')
        .reduce((n: number, r) => n + (int((r as Json).count) ?? 0), 0);
    }
    const timing = isObject(metrics.timingMetrics) ? metrics.timingMetrics : {};
    out.wallTimeMs = int(timing.wallTimeInMs) ?? out.wallTimeMs;
    const critical = durationMs(timing.criticalPathTime);
    if (critical !== undefined) out.criticalPathMs = critical;
    return true;
  }
}

/** The invocation a `--build_event_json_file` tells of (one event a line). */
export function readBuildEventJson(contents: string): {
  invocation?: BazelInvocation;
  malformedLines: number;
} {
  const fold = new BuildEventFold();
  let malformedLines = 0;
  for (const line of contents.split('\n')) {
    if (!line.trim()) continue;
    try {
      fold.add(JSON.parse(line));
    } catch {
      malformedLines += 1;
    }
  }
  return { invocation: fold.result(), malformedLines };
}
