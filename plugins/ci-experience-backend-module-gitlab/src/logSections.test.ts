import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseGitlabSections } from './logSections';

/** A real gitlab-runner 13.12 trace (see __fixtures__/README.md). */
const trace = readFileSync(
  join(__dirname, '__fixtures__', 'trace-openwrt-ustream-ssl.txt'),
  'utf8',
);

const at = (seconds: number) => new Date(seconds * 1000).toISOString();

describe('parseGitlabSections', () => {
  it("reads a real runner trace's sections as steps, named by their headers", () => {
    const steps = parseGitlabSections(trace, { status: 'succeeded' });
    expect(steps.map(s => [s.number, s.name, s.status])).toEqual([
      [1, 'Resolving secrets', 'succeeded'],
      [2, 'Preparing the "docker+machine" executor', 'succeeded'],
      [3, 'Preparing environment', 'succeeded'],
      [4, 'Getting source from Git repository', 'succeeded'],
      [5, 'Executing "step_script" stage of the job script', 'succeeded'],
      [6, 'Cleaning up file based variables', 'succeeded'],
    ]);
    expect(steps[1]).toEqual({
      number: 2,
      name: 'Preparing the "docker+machine" executor',
      status: 'succeeded',
      providerStatus: 'section_end',
      startedAt: at(1624482342),
      finishedAt: at(1624482385),
      durationMs: 43_000,
    });
    expect(steps[4]).toMatchObject({
      startedAt: at(1624482389),
      finishedAt: at(1624483189),
      durationMs: 800_000,
    });
  });

  it('marks the last section before the wrap-up failed in a failed job', () => {
    const steps = parseGitlabSections(trace, { status: 'failed' });
    expect(steps.map(s => s.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'succeeded',
      'failed',
      // cleanup_file_variables runs after any outcome.
      'succeeded',
    ]);
  });

  it("gives sections that never ended the finished job's status and end, or running", () => {
    // The trace as it was while the script ran: no step_script end yet.
    const cut = trace.slice(0, trace.indexOf('section_end:1624483189'));
    const cancelled = parseGitlabSections(cut, {
      status: 'cancelled',
      startedAt: '2021-06-23T21:05:40.000Z',
      finishedAt: '2021-06-23T21:10:00.000Z',
    });
    expect(cancelled.map(s => s.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'succeeded',
      'cancelled',
    ]);
    expect(cancelled[4]).toMatchObject({
      providerStatus: 'no section_end',
      finishedAt: '2021-06-23T21:10:00.000Z',
    });
    const running = parseGitlabSections(cut, { status: 'running' });
    expect(running[4]).toMatchObject({ status: 'running' });
    expect(running[4].finishedAt).toBeUndefined();
  });

  it("keeps step times within the job's, whose times have milliseconds", () => {
    const steps = parseGitlabSections(trace, {
      status: 'succeeded',
      startedAt: '2021-06-23T21:05:42.640Z',
      finishedAt: '2021-06-23T21:19:49.100Z',
    });
    // The first markers say 21:05:42, the runner's whole second.
    expect(steps[0]).toMatchObject({
      startedAt: '2021-06-23T21:05:42.640Z',
      finishedAt: '2021-06-23T21:05:42.640Z',
      durationMs: 0,
    });
    for (const step of steps) {
      expect(step.durationMs).toBeGreaterThanOrEqual(0);
      expect(Date.parse(step.finishedAt!)).toBeLessThanOrEqual(
        Date.parse('2021-06-23T21:19:49.100Z'),
      );
    }
  });

  it("folds a script's own sections into the step they are in and ignores ends without a start", () => {
    const start = (t: number, name: string, opts = '') =>
      `\x1b[0Ksection_start:${t}:${name}${opts}\r\x1b[0K`;
    const end = (t: number, name: string) =>
      `\x1b[0Ksection_end:${t}:${name}\r\x1b[0K`;
    const text = [
      // A tail: this section's start was cut off.
      `${end(1700000000, 'get_sources')}`,
      `${start(1700000001, 'step_script')}Executing "step_script" stage`,
      `${start(1700000002, 'my_tests', '[collapsed=true]')}Running the tests`,
      'ok',
      `${end(1700000005, 'my_tests')}`,
      `${end(1700000006, 'step_script')}`,
      // A start with no header takes the section's name.
      `${start(1700000006, 'after_script')}`,
      `${end(1700000007, 'after_script')}`,
    ].join('\n');
    expect(
      parseGitlabSections(text, { status: 'failed' }).map(s => [
        s.name,
        s.status,
        s.durationMs,
      ]),
    ).toEqual([
      ['Executing "step_script" stage', 'failed', 5000],
      ['after_script', 'succeeded', 1000],
    ]);
  });

  it('reads nothing from a log without sections or with a broken marker', () => {
    expect(parseGitlabSections('plain output\n', { status: 'failed' })).toEqual(
      [],
    );
    expect(
      parseGitlabSections('section_start:99999999999999:x\r\x1b[0K', {
        status: 'succeeded',
      }),
    ).toEqual([]);
    expect(
      parseGitlabSections('section_start:1700000000:bad name\r\x1b[0K', {
        status: 'succeeded',
      }),
    ).toEqual([]);
  });
});
