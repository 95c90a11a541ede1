import fs from 'node:fs';
import path from 'node:path';
import {
  BEP_LIMITS,
  BuildEventFold,
  durationMs,
  readBuildEventJson,
} from './buildEvents';

const fixture = (name: string) =>
  fs.readFileSync(path.join(__dirname, '__fixtures__', name), 'utf8');

describe('readBuildEventJson', () => {
  it('reads a failed bazel test of Bazel 7 (recorded)', () => {
    const { invocation, malformedLines } = readBuildEventJson(
      fixture('nextjs_test_fail.bep.ndjson'),
    );
    expect(malformedLines).toBe(0);
    expect(invocation).toMatchObject({
      id: '571d0839-fd63-4442-bb4d-61f7bfa4ddae',
      command: 'test',
      bazelVersion: '7.1.0',
      patterns: ['//next.js/...'],
      host: 'Namelesss-MacBook-Pro.local',
      user: 'nameless',
      startedAt: '2024-05-13T23:43:23.045Z',
      finishedAt: '2024-05-13T23:43:26.247Z',
      exitCode: 3,
      exitName: 'TESTS_FAILED',
      success: false,
      metadata: { BUILD_STEP_LABEL: 'nextjs_test' },
      metrics: {
        actionsCreated: 22,
        actionsExecuted: 2,
        actionCacheHits: 9,
        actionCacheMisses: 2,
        remoteCacheHits: 0,
        wallTimeMs: 3149,
      },
      firstFailure: {
        label: '//next.js/pages:jest_test',
        message: 'Test //next.js/pages:jest_test: FAILED',
      },
    });
    expect(invocation!.targets).toHaveLength(20);
    expect(invocation!.targets.every(t => t.success === true)).toBe(true);
    expect(
      invocation!.targets.find(t => t.label === '//next.js:build_test')?.kind,
    ).toMatch(/rule$/);
    expect(
      [...invocation!.tests].sort((a, b) => (a.label < b.label ? -1 : 1)),
    ).toEqual([
      {
        label: '//next.js/pages:jest_test',
        status: 'FAILED',
        attempts: 1,
        shards: 1,
        runs: 1,
        durationMs: 1382,
        cached: false,
      },
      {
        label: '//next.js:build_smoke_test',
        status: 'PASSED',
        attempts: 1,
        shards: 1,
        runs: 1,
        durationMs: 717,
        cached: true,
      },
      {
        label: '//next.js:build_test',
        status: 'PASSED',
        attempts: 1,
        shards: 1,
        runs: 1,
        durationMs: 97,
        cached: true,
      },
    ]);
  });

  it('reads remote execution and the critical path of the tool log (Bazel 8, recorded)', () => {
    const { invocation } = readBuildEventJson(
      fixture('remote_execution_tests.bep.ndjson'),
    );
    expect(invocation).toMatchObject({
      id: 'eb510b31-a9cc-441f-8898-5104ef0025fd',
      bazelVersion: '8.3.1',
      exitCode: 0,
      exitName: 'SUCCESS',
      success: true,
      metrics: {
        actionsCreated: 95,
        actionsExecuted: 51,
        // Left out of the JSON when zero.
        actionCacheHits: 0,
        actionCacheMisses: 52,
        criticalPathMs: 16_410,
        wallTimeMs: 40_572,
      },
    });
    expect(invocation!.firstFailure).toBeUndefined();
    expect(invocation!.tests.map(t => [t.label, t.status])).toEqual([
      ['@@+_repo_rules+abseil-hello//:hello_test', 'PASSED'],
    ]);
  });

  it('reads the critical path of Bazel 9 timing metrics', () => {
    const { invocation } = readBuildEventJson(
      fixture('extended_metrics.bep.ndjson'),
    );
    expect(invocation?.metrics.criticalPathMs).toBe(1234);
    expect(invocation?.startedAt).toBe('2026-08-02T12:53:20.000Z');
  });

  it('counts malformed lines and reads the rest', () => {
    const lines = fixture('extended_metrics.bep.ndjson').split('\n');
    const { invocation, malformedLines } = readBuildEventJson(
      ['{not json', ...lines, '[1,2', 'null'].join('\n'),
    );
    expect(malformedLines).toBe(2);
    expect(invocation?.id).toBe('11111111-2222-4333-8444-555555555555');
  });

  it('knows no invocation without its started event', () => {
    expect(
      readBuildEventJson('{"id":{"buildFinished":{}},"finished":{}}')
        .invocation,
    ).toBeUndefined();
  });
});

describe('BuildEventFold', () => {
  const started = {
    id: { started: {} },
    started: { uuid: 'inv-1', command: 'test' },
  };
  const result = (attempt: number, status: string, cached = false) => ({
    id: { testResult: { label: '//a:t', run: 1, shard: 1, attempt } },
    testResult: {
      status,
      testAttemptDuration: '0.5s',
      ...(cached ? { cachedLocally: true } : {}),
    },
  });

  it('counts a retried test as FLAKY from its summary, and each attempt once', () => {
    // A test failing its first attempt and passing its second, as Bazel
    // reports it with --flaky_test_attempts (TestStatus FLAKY = 2).
    const fold = new BuildEventFold();
    for (const event of [
      started,
      result(1, 'FAILED'),
      result(2, 'PASSED'),
      // A resumed stream sends an event again.
      result(2, 'PASSED'),
      {
        id: { testSummary: { label: '//a:t' } },
        testSummary: {
          overallStatus: 'FLAKY',
          attemptCount: 2,
          runCount: 1,
          totalRunCount: 2,
          totalRunDuration: '1.000s',
        },
      },
    ]) {
      fold.add(event);
    }
    expect(fold.result()?.tests).toEqual([
      {
        label: '//a:t',
        status: 'FLAKY',
        attempts: 2,
        shards: 1,
        runs: 1,
        durationMs: 1000,
        cached: false,
      },
    ]);
  });

  it('ignores what is not an event, and stays within its limits', () => {
    const fold = new BuildEventFold();
    for (const junk of [null, 1, 'x', [], {}, { id: 3 }, { id: {} }]) {
      expect(fold.add(junk)).toBe(false);
    }
    fold.add(started);
    for (let i = 0; i < BEP_LIMITS.metadata + 10; i++) {
      fold.add({
        id: { buildMetadata: {} },
        buildMetadata: { metadata: { [`K${i}`]: 'v' } },
      });
    }
    fold.add({
      id: { targetCompleted: { label: 'x'.repeat(5000) } },
      completed: {},
    });
    const inv = fold.result()!;
    expect(Object.keys(inv.metadata)).toHaveLength(BEP_LIMITS.metadata);
    expect(inv.targets[0].label).toHaveLength(1024);
    expect(inv.targets[0].success).toBe(false);
    expect(inv.firstFailure?.message).toMatch(/failed$/);
  });

  it('reads proto3 JSON durations', () => {
    expect(durationMs('1.234s')).toBe(1234);
    expect(durationMs('0.000808s')).toBe(0);
    expect(durationMs('12s')).toBe(12_000);
    expect(durationMs('1.2')).toBeUndefined();
    expect(durationMs(5)).toBeUndefined();
  });
});
