import { CiJob } from '@ci-experience/plugin-ci-experience-common';
import { DeliveryWrite, StoredRun } from '../database/CiStore';
import { clampTimes } from '@ci-experience/plugin-ci-experience-node';

/**
 * A run about to be stored, with its times (and its jobs') canonical and
 * clamped (see `clampTimes`): a run dated in the future would otherwise stay
 * at the top of every list, and one updated "in 9999" would win every later
 * forward-only write. Throws `OutOfRangeDateError` for a time that does not
 * parse or lies outside 1970–9999. `changes` says what was clamped, for a
 * warning.
 */
export function clampRun(
  run: StoredRun,
  now: number,
): { run: StoredRun; changes: string[] } {
  const clamped = clampTimes(run, { now, extra: ['providerUpdatedAt'] });
  const changes = [...clamped.changes];
  let jobs = run.jobs;
  if (jobs) {
    jobs = jobs.map(job => {
      const c = clampJob(job, now);
      changes.push(...c.changes);
      return c.job;
    });
  }
  return { run: { ...clamped.value, ...(jobs ? { jobs } : {}) }, changes };
}

/** A job's times canonical and clamped, as {@link clampRun} does a run's. */
export function clampJob(
  job: CiJob,
  now: number,
): { job: CiJob; changes: string[] } {
  const clamped = clampTimes(job, { now });
  return {
    job: clamped.value,
    changes: clamped.changes.map(c => `job ${job.id} ${c}`),
  };
}

/** A delivery's runs and jobs clamped, as {@link clampRun} does. */
export function clampDelivery(
  write: DeliveryWrite,
  now: number,
): { write: DeliveryWrite; changes: string[] } {
  const changes: string[] = [];
  const runs = write.runs?.map(r => {
    const c = clampRun(r, now);
    changes.push(
      ...c.changes.map(change => `run ${r.providerRunId} ${change}`),
    );
    return c.run;
  });
  const jobs = write.jobs?.map(entry => {
    const c = clampJob(entry.job, now);
    changes.push(...c.changes);
    return { ...entry, job: c.job };
  });
  return {
    write: {
      ...write,
      ...(runs ? { runs } : {}),
      ...(jobs ? { jobs } : {}),
    },
    changes,
  };
}
