import { isFinalStatus } from '../types';
import { BUILDKITE_STATUS_MAP, mapBuildkiteStatus } from './status';

describe('mapBuildkiteStatus', () => {
  // Every build state of Buildkite's REST "Builds" page and every job state
  // of its REST/GraphQL job states, with the status it must show as.
  it.each([
    ['creating', 'queued'],
    ['scheduled', 'queued'],
    ['pending', 'queued'],
    ['waiting', 'queued'],
    ['limiting', 'queued'],
    ['limited', 'queued'],
    ['platform_limiting', 'queued'],
    ['platform_limited', 'queued'],
    ['assigned', 'queued'],
    ['accepted', 'queued'],
    ['blocked', 'queued'],
    ['running', 'running'],
    ['started', 'running'],
    ['failing', 'running'],
    ['canceling', 'running'],
    ['timing_out', 'running'],
    ['passed', 'succeeded'],
    ['unblocked', 'succeeded'],
    ['failed', 'failed'],
    ['waiting_failed', 'failed'],
    ['blocked_failed', 'failed'],
    ['unblocked_failed', 'failed'],
    ['timed_out', 'failed'],
    ['expired', 'failed'],
    ['broken', 'skipped'],
    ['canceled', 'cancelled'],
    ['cancelled', 'cancelled'],
    ['skipped', 'skipped'],
    ['not_run', 'skipped'],
    ['finished', 'failed'],
  ] as const)('maps %s to %s and keeps the raw value', (raw, expected) => {
    expect(mapBuildkiteStatus(raw)).toEqual({
      status: expected,
      providerStatus: raw,
    });
  });

  it('covers exactly the documented states (plus the British spelling)', () => {
    expect(Object.keys(BUILDKITE_STATUS_MAP).length).toBe(30);
  });

  it('reads finished with the passed flag, never green without it', () => {
    expect(mapBuildkiteStatus('finished', { passed: true }).status).toBe(
      'succeeded',
    );
    expect(mapBuildkiteStatus('finished', { passed: false }).status).toBe(
      'failed',
    );
    expect(mapBuildkiteStatus('finished', { passed: null }).status).toBe(
      'failed',
    );
    // passed: true never turns another state green.
    expect(mapBuildkiteStatus('failed', { passed: true }).status).toBe(
      'failed',
    );
  });

  it('blocked waits for a person: queued and not final', () => {
    expect(isFinalStatus(mapBuildkiteStatus('blocked').status)).toBe(false);
  });

  it('never maps an unknown or prototype-named value through Object.prototype, nor to succeeded', () => {
    for (const raw of [
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'PASSED',
      'passed ',
      'success',
      'brand_new_state',
    ]) {
      const mapped = mapBuildkiteStatus(raw);
      expect(mapped).toEqual({ status: 'queued', providerStatus: raw });
      expect(isFinalStatus(mapped.status)).toBe(false);
    }
  });

  it('treats a missing state as unknown and queued', () => {
    for (const raw of [undefined, null, '']) {
      expect(mapBuildkiteStatus(raw)).toEqual({
        status: 'queued',
        providerStatus: 'unknown',
      });
    }
  });
});
