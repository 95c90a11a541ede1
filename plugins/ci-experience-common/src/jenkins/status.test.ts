import {
  JENKINS_RESULT_MAP,
  JENKINS_STAGE_STATUS_MAP,
  mapJenkinsStageStatus,
  mapJenkinsStatus,
} from './status';

describe('mapJenkinsStatus', () => {
  it.each([
    ['SUCCESS', 'succeeded'],
    ['UNSTABLE', 'failed'],
    ['FAILURE', 'failed'],
    ['ABORTED', 'cancelled'],
    ['NOT_BUILT', 'skipped'],
  ])('maps the finished result %s to %s, keeping it raw', (result, status) => {
    expect(mapJenkinsStatus({ result, building: false })).toEqual({
      status,
      providerStatus: result,
    });
  });

  it('counts a build as running while it builds, even with a result already set', () => {
    expect(mapJenkinsStatus({ result: null, building: true })).toEqual({
      status: 'running',
      providerStatus: 'BUILDING',
    });
    expect(
      mapJenkinsStatus({ result: 'UNSTABLE', building: true }).status,
    ).toBe('running');
  });

  it('counts a queue item as queued', () => {
    expect(mapJenkinsStatus({ queued: true })).toEqual({
      status: 'queued',
      providerStatus: 'QUEUED',
    });
  });

  it('never shows an unknown or missing result as green', () => {
    expect(mapJenkinsStatus({ result: 'EXPLODED', building: false })).toEqual({
      status: 'failed',
      providerStatus: 'EXPLODED',
    });
    expect(mapJenkinsStatus({ result: null, building: false })).toEqual({
      status: 'failed',
      providerStatus: 'NO_RESULT',
    });
    expect(mapJenkinsStatus({ result: 'success' }).status).toBe('failed');
  });

  it('never maps a value named like an Object.prototype member through the prototype', () => {
    for (const value of ['constructor', 'toString', '__proto__', 'valueOf']) {
      expect(mapJenkinsStatus({ result: value })).toEqual({
        status: 'failed',
        providerStatus: value,
      });
      expect(mapJenkinsStageStatus(value).status).toBe('failed');
    }
  });

  it('covers every documented result and nothing else', () => {
    expect(Object.keys(JENKINS_RESULT_MAP).sort()).toEqual(
      ['ABORTED', 'FAILURE', 'NOT_BUILT', 'SUCCESS', 'UNSTABLE'].sort(),
    );
  });
});

describe('mapJenkinsStageStatus', () => {
  it.each([
    ['SUCCESS', 'succeeded'],
    ['UNSTABLE', 'failed'],
    ['FAILED', 'failed'],
    ['ABORTED', 'cancelled'],
    ['NOT_EXECUTED', 'skipped'],
    ['IN_PROGRESS', 'running'],
    ['PAUSED_PENDING_INPUT', 'running'],
    ['QUEUED', 'queued'],
  ])('maps %s to %s', (raw, status) => {
    expect(mapJenkinsStageStatus(raw)).toEqual({ status, providerStatus: raw });
  });

  it('keeps a missing status as UNKNOWN, failed', () => {
    expect(mapJenkinsStageStatus(undefined)).toEqual({
      status: 'failed',
      providerStatus: 'UNKNOWN',
    });
    expect(Object.keys(JENKINS_STAGE_STATUS_MAP)).toHaveLength(8);
  });
});
