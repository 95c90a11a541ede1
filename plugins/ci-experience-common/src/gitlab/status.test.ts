import { isFinalStatus } from '../types';
import { GITLAB_STATUS_MAP, mapGitlabStatus } from './status';

describe('mapGitlabStatus', () => {
  // Every status GitLab documents for pipelines and jobs (REST API v4
  // "Pipelines" and "Jobs" pages), with the status it must show as.
  it.each([
    ['created', 'queued'],
    ['waiting_for_resource', 'queued'],
    ['preparing', 'queued'],
    ['pending', 'queued'],
    ['scheduled', 'queued'],
    ['manual', 'queued'],
    ['running', 'running'],
    ['waiting_for_callback', 'running'],
    ['canceling', 'running'],
    ['success', 'succeeded'],
    ['failed', 'failed'],
    ['canceled', 'cancelled'],
    ['skipped', 'skipped'],
  ] as const)('maps %s to %s and keeps the raw value', (raw, expected) => {
    expect(mapGitlabStatus(raw)).toEqual({
      status: expected,
      providerStatus: raw,
    });
  });

  it('covers exactly the documented statuses (plus the British spelling)', () => {
    expect(Object.keys(GITLAB_STATUS_MAP).sort()).toEqual(
      [
        'canceled',
        'canceling',
        'cancelled',
        'created',
        'failed',
        'manual',
        'pending',
        'preparing',
        'running',
        'scheduled',
        'skipped',
        'success',
        'waiting_for_callback',
        'waiting_for_resource',
      ].sort(),
    );
  });

  it('never maps an unknown or prototype-named value through Object.prototype, nor to succeeded', () => {
    for (const raw of [
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'SUCCESS',
      'success ',
      'passed',
      'brand_new_status',
    ]) {
      const mapped = mapGitlabStatus(raw);
      expect(mapped).toEqual({ status: 'queued', providerStatus: raw });
      // Not final: the run is read again until GitLab reports a known end.
      expect(isFinalStatus(mapped.status)).toBe(false);
    }
  });

  it('treats a missing status as unknown and queued', () => {
    expect(mapGitlabStatus(undefined)).toEqual({
      status: 'queued',
      providerStatus: 'unknown',
    });
    expect(mapGitlabStatus(null)).toEqual({
      status: 'queued',
      providerStatus: 'unknown',
    });
    expect(mapGitlabStatus('')).toEqual({
      status: 'queued',
      providerStatus: 'unknown',
    });
  });
});
