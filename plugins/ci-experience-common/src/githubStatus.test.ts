import {
  GITHUB_CONCLUSION_MAP,
  GITHUB_STATUS_MAP,
  mapGithubStatus,
} from './githubStatus';
import { CI_RUN_STATUSES, isFinalStatus } from './types';

describe('mapGithubStatus', () => {
  it.each([
    ['queued', null, 'queued'],
    ['requested', null, 'queued'],
    ['pending', null, 'queued'],
    ['waiting', null, 'queued'],
    ['action_required', null, 'queued'],
    ['in_progress', null, 'running'],
    ['completed', 'success', 'succeeded'],
    ['completed', 'neutral', 'succeeded'],
    ['completed', 'failure', 'failed'],
    ['completed', 'timed_out', 'failed'],
    ['completed', 'startup_failure', 'failed'],
    ['completed', 'action_required', 'queued'],
    ['completed', 'cancelled', 'cancelled'],
    ['completed', 'stale', 'cancelled'],
    ['completed', 'skipped', 'skipped'],
  ])(
    'maps status %s with conclusion %s to %s',
    (status, conclusion, expected) => {
      const mapped = mapGithubStatus(status, conclusion);
      expect(mapped.status).toBe(expected);
      expect(mapped.providerStatus).toBe(conclusion ?? status);
    },
  );

  it('keeps an unknown conclusion raw and never shows it as green', () => {
    expect(mapGithubStatus('completed', 'exploded')).toEqual({
      status: 'failed',
      providerStatus: 'exploded',
    });
  });

  it('never maps a value named like an Object.prototype member through the prototype', () => {
    for (const value of [
      'constructor',
      'toString',
      '__proto__',
      'hasOwnProperty',
    ]) {
      expect(mapGithubStatus('completed', value).status).toBe('failed');
      expect(mapGithubStatus(value, null).status).toBe('queued');
    }
  });

  it('treats completed without a conclusion yet as still running', () => {
    expect(mapGithubStatus('completed', null).status).toBe('running');
  });

  it('treats an unknown status without conclusion as queued', () => {
    expect(mapGithubStatus('brand_new_state', undefined)).toEqual({
      status: 'queued',
      providerStatus: 'brand_new_state',
    });
    expect(mapGithubStatus(undefined, undefined).providerStatus).toBe(
      'unknown',
    );
  });

  it('maps only to known statuses', () => {
    for (const value of [
      ...Object.values(GITHUB_STATUS_MAP),
      ...Object.values(GITHUB_CONCLUSION_MAP),
    ]) {
      expect(CI_RUN_STATUSES).toContain(value);
    }
  });
});

describe('isFinalStatus', () => {
  it('is false only for queued and running', () => {
    expect(CI_RUN_STATUSES.filter(s => !isFinalStatus(s))).toEqual([
      'queued',
      'running',
    ]);
  });
});
