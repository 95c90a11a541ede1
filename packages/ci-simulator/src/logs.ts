import { SimJob } from './history';

/** One line a job's command printed, and when. */
export interface SimLogLine {
  at: number;
  text: string;
}

/**
 * What a simulated job's command printed, without GitHub's runner framing
 * (`##[group]`, the checkout and setup steps, `##[error]` markers), so that
 * each simulated provider can frame it in its own words.
 */
export interface SimCommandOutput {
  /** The command, e.g. `yarn test --ci`; undefined before the job got to it. */
  command?: string;
  /** When the command started. */
  commandAt?: number;
  /** What it printed (the failure lines CI tools print, or `Done in ...`). */
  lines: SimLogLine[];
  /** Its exit code when it failed with one. */
  exitCode?: number;
  /** How the job ended, when it did. */
  end?: 'success' | 'failure' | 'timed_out' | 'cancelled' | 'skipped';
  /** When the log ends: the job's end, or its last line. */
  lastAt?: number;
}

const LINE = /^(\d{4}-\d{2}-\d{2}T[\d:.]+Z) (.*)$/;

/** Reads a simulated job's GitHub-style log back into what its command printed. */
export function commandOutput(job: SimJob): SimCommandOutput {
  const parsed = job.log.map(raw => {
    const match = raw.match(LINE);
    return match
      ? { at: Date.parse(match[1]), text: match[2] }
      : { at: job.startedAt ?? 0, text: raw };
  });
  const out: SimCommandOutput = { lines: [] };
  let inCommand = false;
  let afterGroup = false;
  for (const line of parsed) {
    const group = line.text.match(/^##\[group\]Run (.+)$/);
    if (group) {
      inCommand = !group[1].startsWith('actions/');
      afterGroup = false;
      if (inCommand) {
        out.command = group[1];
        out.commandAt = line.at;
      }
      continue;
    }
    if (!inCommand) {
      continue;
    }
    if (line.text === '##[endgroup]') {
      afterGroup = true;
      continue;
    }
    if (!afterGroup || line.text === 'Cleaning up orphan processes') {
      continue;
    }
    const exit = line.text.match(
      /^##\[error\]Process completed with exit code (\d+)\.$/,
    );
    if (exit) {
      out.exitCode = Number(exit[1]);
      continue;
    }
    if (line.text.startsWith('##[')) {
      continue;
    }
    out.lines.push(line);
  }
  if (job.status === 'completed') {
    out.end = (job.conclusion as SimCommandOutput['end'] | null) ?? 'failure';
  }
  out.lastAt =
    job.completedAt ?? parsed[parsed.length - 1]?.at ?? job.startedAt;
  return out;
}

/** `HH:MM:SS` of a time, as Buildkite and Jenkins timestamps show it. */
export function clockTime(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}
