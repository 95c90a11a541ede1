import {
  CiJob,
  isFinalStatus,
} from '@ci-experience/plugin-ci-experience-common';
import { CiProviderRun } from '../provider';
import { toInstant } from './instants';

/**
 * The run fields a job is bounded by.
 *
 * @public
 */
export type RunBounds = Pick<
  CiProviderRun,
  'status' | 'createdAt' | 'startedAt' | 'finishedAt'
>;

/**
 * A job made consistent with its run, as the invariants ask:
 *
 * - in a finished run no job is queued or running: a job that had started
 *   ends with the run's status at the run's finish; one that never started
 *   is `skipped` (it did not run in the run's life). The raw state stays in
 *   `providerStatus`;
 * - its times lie within the run's (`createdAt` no earlier than the run's,
 *   `startedAt` no earlier than the run's start, nothing after a finished
 *   run's finish): clock skew between the provider's services is clamped;
 * - its steps' times lie within the job's (from its start, or the run's
 *   creation, to its finish, or a finished run's finish), and a step that
 *   ends before it starts ends at its start; in a finished run a step still
 *   queued or running ends with the job (or is `skipped` if it never
 *   started);
 * - durations are recomputed from the clamped times, never negative.
 *
 * @public
 */
export function boundJobToRun(job: CiJob, run: RunBounds): CiJob {
  const out: CiJob = { ...job };
  const final = isFinalStatus(run.status);
  if (final && !isFinalStatus(out.status)) {
    if (out.startedAt) {
      out.status = run.status;
      out.finishedAt = run.finishedAt ?? out.finishedAt;
    } else {
      out.status = 'skipped';
    }
  }
  const lo = Date.parse(run.createdAt);
  const startLo = run.startedAt ? Date.parse(run.startedAt) : lo;
  const hi = final && run.finishedAt ? Date.parse(run.finishedAt) : undefined;
  const clamp = (value: string | undefined, min: number) => {
    if (!value) {
      return undefined;
    }
    let t = Date.parse(value);
    if (t < min) t = min;
    if (hi !== undefined && t > hi) t = Math.max(hi, min);
    return toInstant(t);
  };
  const startedBefore = out.startedAt;
  out.createdAt = clamp(out.createdAt, lo);
  out.startedAt = clamp(out.startedAt, Math.min(startLo, hi ?? startLo));
  out.finishedAt = clamp(out.finishedAt, Math.min(startLo, hi ?? startLo));
  if (out.startedAt && out.finishedAt && out.finishedAt < out.startedAt) {
    out.finishedAt = out.startedAt;
  }
  if (out.startedAt && out.createdAt && out.createdAt > out.startedAt) {
    out.createdAt = out.startedAt;
  }
  if (!isFinalStatus(out.status)) {
    out.finishedAt = undefined;
  }
  out.durationMs =
    out.startedAt && out.finishedAt
      ? Date.parse(out.finishedAt) - Date.parse(out.startedAt)
      : undefined;
  if (out.queuedMs !== undefined) {
    if (out.queuedMs < 0) {
      out.queuedMs = undefined;
    } else if (out.startedAt && startedBefore !== out.startedAt) {
      // Clamped start: the wait cannot have begun before the run was created.
      out.queuedMs = Math.min(out.queuedMs, Date.parse(out.startedAt) - lo);
    }
  }
  if (out.steps) {
    out.steps = out.steps.map(step => {
      const s = { ...step };
      const stepLo = out.startedAt ? Date.parse(out.startedAt) : lo;
      const stepHi = out.finishedAt ? Date.parse(out.finishedAt) : hi;
      const c = (v: string | undefined) => {
        if (!v) return undefined;
        let t = Date.parse(v);
        if (t < stepLo) t = stepLo;
        if (stepHi !== undefined && t > stepHi) t = Math.max(stepHi, stepLo);
        return toInstant(t);
      };
      s.startedAt = c(s.startedAt);
      s.finishedAt = c(s.finishedAt);
      // A step reported as ending before it started ends at its start.
      if (s.startedAt && s.finishedAt && s.finishedAt < s.startedAt) {
        s.finishedAt = s.startedAt;
      }
      if (final && !isFinalStatus(s.status)) {
        s.status = s.startedAt ? out.status : 'skipped';
        s.finishedAt = s.startedAt ? out.finishedAt ?? s.finishedAt : undefined;
      }
      if (s.startedAt && s.finishedAt) {
        s.durationMs = Math.max(
          0,
          Date.parse(s.finishedAt) - Date.parse(s.startedAt),
        );
      } else if (s.durationMs !== undefined && !(s.durationMs >= 0)) {
        s.durationMs = undefined;
      }
      return s;
    });
  }
  return out;
}
