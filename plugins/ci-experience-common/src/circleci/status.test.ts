import {
  CIRCLECI_JOB_STATUS_MAP,
  CIRCLECI_PIPELINE_STATE_MAP,
  CIRCLECI_WORKFLOW_STATUS_MAP,
  mapCircleciStatus,
} from './status';

describe('mapCircleciStatus', () => {
  it.each([
    ['created', 'queued'],
    ['setup-pending', 'queued'],
    ['setup', 'queued'],
    ['pending', 'queued'],
    ['errored', 'failed'],
  ])('maps the pipeline state %s to %s', (raw, status) => {
    expect(mapCircleciStatus('pipeline', raw)).toEqual({
      status,
      providerStatus: raw,
    });
  });

  it.each([
    ['success', 'succeeded'],
    ['running', 'running'],
    ['not_run', 'skipped'],
    ['failed', 'failed'],
    ['error', 'failed'],
    ['failing', 'running'],
    ['on_hold', 'running'],
    ['canceled', 'cancelled'],
    ['unauthorized', 'failed'],
  ])('maps the workflow status %s to %s', (raw, status) => {
    expect(mapCircleciStatus('workflow', raw)).toEqual({
      status,
      providerStatus: raw,
    });
  });

  it.each([
    ['success', 'succeeded'],
    ['running', 'running'],
    ['not_run', 'skipped'],
    ['failed', 'failed'],
    ['retried', 'failed'],
    ['queued', 'queued'],
    ['not_running', 'queued'],
    ['infrastructure_fail', 'failed'],
    ['timedout', 'failed'],
    ['on_hold', 'queued'],
    ['terminated-unknown', 'failed'],
    ['blocked', 'queued'],
    ['canceled', 'cancelled'],
    ['unauthorized', 'failed'],
  ])('maps the job status %s to %s', (raw, status) => {
    expect(mapCircleciStatus('job', raw)).toEqual({
      status,
      providerStatus: raw,
    });
  });

  it('covers every documented status and nothing else', () => {
    expect(Object.keys(CIRCLECI_PIPELINE_STATE_MAP)).toHaveLength(5);
    expect(Object.keys(CIRCLECI_WORKFLOW_STATUS_MAP)).toHaveLength(9);
    expect(Object.keys(CIRCLECI_JOB_STATUS_MAP)).toHaveLength(14);
  });

  it('keeps the kinds apart: a job status is not a pipeline state', () => {
    expect(mapCircleciStatus('pipeline', 'success').status).toBe('failed');
    expect(mapCircleciStatus('workflow', 'queued').status).toBe('failed');
    expect(mapCircleciStatus('job', 'failing').status).toBe('failed');
  });

  it('never shows an unknown, missing or differently cased value as green', () => {
    expect(mapCircleciStatus('workflow', 'exploded')).toEqual({
      status: 'failed',
      providerStatus: 'exploded',
    });
    expect(mapCircleciStatus('job', 'SUCCESS')).toEqual({
      status: 'failed',
      providerStatus: 'SUCCESS',
    });
    expect(mapCircleciStatus('job', undefined)).toEqual({
      status: 'failed',
      providerStatus: 'unknown',
    });
    expect(mapCircleciStatus('pipeline', null).status).toBe('failed');
  });

  it('never maps a value named like an Object.prototype member through the prototype', () => {
    for (const value of ['constructor', 'toString', '__proto__', 'valueOf']) {
      for (const kind of ['pipeline', 'workflow', 'job'] as const) {
        expect(mapCircleciStatus(kind, value)).toEqual({
          status: 'failed',
          providerStatus: value,
        });
      }
    }
  });
});
