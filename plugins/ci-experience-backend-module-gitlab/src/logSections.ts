import {
  CiRunStatus,
  CiStep,
  isFinalStatus,
} from '@ci-experience/plugin-ci-experience-common';

/**
 * A section marker as GitLab reads it from a job log (its
 * `Gitlab::Regex.build_trace_section_regex`): `section_start:<unix
 * seconds>:<name>[<options>]\r\e[0K` or `section_end:<unix seconds>:<name>\r\e[0K`,
 * anywhere on a line (the runner writes them after other escapes, and one
 * line often ends a section and starts the next). The header people see is
 * the text after a start marker up to the end of its line.
 */
const MARKER =
  // eslint-disable-next-line no-control-regex -- GitLab's markers end in ESC [0K
  /section_(start|end):(\d{1,12}):([A-Za-z0-9_.-]{1,255})(\[\w+=\w+(?:, ?\w+=\w+)*\])?\r\x1b\[0K/g;

/** ANSI escape sequences (colours, line clearing). */
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_])/g;

/** The latest second a section time may have: 9999-12-31T23:59:59Z. */
const MAX_SECONDS = 253_402_300_799;

/**
 * The runner's own wrap-up stages, run after the job's script whatever its
 * outcome (gitlab-runner `common/build.go`): a failed job fails before them.
 */
const WRAP_UP = new Set([
  'after_script',
  'archive_cache',
  'archive_cache_on_failure',
  'upload_artifacts_on_success',
  'upload_artifacts_on_failure',
  'cleanup_file_variables',
]);

/**
 * What is known of the job whose log it is.
 *
 * @public
 */
export interface GitlabSectionJob {
  status: CiRunStatus;
  startedAt?: string;
  finishedAt?: string;
}

interface Section {
  name: string;
  header: string;
  start: number;
  end?: number;
}

/**
 * The steps of a GitLab job from its log's sections (`section_start` /
 * `section_end`). Only top-level sections become steps (the runner's stages:
 * `prepare_executor`, `get_sources`, `step_script`, ..., and any a script
 * opens outside them); sections nested in them (a script's own collapsible
 * sections) belong to their parent. A step's name is its header text,
 * without colours, else the section's name.
 *
 * Status rule:
 *
 * - a section that ended (`section_end`) succeeded;
 * - in a failed job whose sections all ended, the step that failed is the
 *   last section before the runner's wrap-up (`after_script`,
 *   `archive_cache*`, `upload_artifacts_*`, `cleanup_file_variables`), or
 *   the last section when there is no other;
 * - a section that never ended takes the job's status when the job has
 *   finished (a failed or cancelled job stopped in it), else it is running.
 *
 * Times are the markers' whole seconds, brought within the job's start and
 * finish when those are known; an unended section of a finished job ends
 * with the job. An end marker whose start is not in the text (a log read
 * from its tail) is ignored, as GitLab's own log view does.
 *
 * @public
 */
export function parseGitlabSections(
  text: string,
  job: GitlabSectionJob,
): CiStep[] {
  const sections: Section[] = [];
  /** The names of the open sections, outermost first. */
  const open: string[] = [];
  let current: Section | undefined;
  for (const match of text.matchAll(MARKER)) {
    const [whole, action, seconds, name] = match;
    const at = Number(seconds);
    if (at > MAX_SECONDS) {
      continue;
    }
    if (action === 'start') {
      if (open.length === 0) {
        current = {
          name,
          header: headerAfter(text, (match.index ?? 0) + whole.length),
          start: at * 1000,
        };
        sections.push(current);
      }
      open.push(name);
    } else {
      const depth = open.lastIndexOf(name);
      if (depth < 0) {
        continue;
      }
      open.length = depth;
      if (depth === 0 && current) {
        current.end = at * 1000;
        current = undefined;
      }
    }
  }
  return toSteps(sections, job);
}

/** The header of a section: the rest of its start marker's line, plain. */
function headerAfter(text: string, from: number): string {
  const newline = text.indexOf('\n', from);
  let line = text.slice(from, newline < 0 ? text.length : newline);
  // Another marker on the same line ends the header.
  const next = line.search(/section_(?:start|end):\d/);
  if (next >= 0) {
    line = line.slice(0, next);
  }
  return line.replace(ANSI, '').replace(/\r/g, '').trim().slice(0, 255);
}

function toSteps(sections: Section[], job: GitlabSectionJob): CiStep[] {
  const finished = isFinalStatus(job.status);
  const jobStart = job.startedAt ? Date.parse(job.startedAt) : undefined;
  const jobEnd =
    finished && job.finishedAt ? Date.parse(job.finishedAt) : undefined;
  const statuses: CiRunStatus[] = sections.map(s => {
    if (s.end === undefined) {
      return finished ? job.status : 'running';
    }
    return 'succeeded';
  });
  if (
    job.status === 'failed' &&
    sections.length > 0 &&
    sections.every(s => s.end !== undefined)
  ) {
    let failed = sections.length - 1;
    for (let i = sections.length - 1; i >= 0; i--) {
      if (!WRAP_UP.has(sections[i].name)) {
        failed = i;
        break;
      }
    }
    statuses[failed] = 'failed';
  }
  const fit = (t: number) => {
    let at = t;
    if (jobStart !== undefined && Number.isFinite(jobStart) && at < jobStart) {
      at = jobStart;
    }
    if (jobEnd !== undefined && Number.isFinite(jobEnd) && at > jobEnd) {
      at = jobEnd;
    }
    return at;
  };
  return sections.map((s, i) => {
    const start = fit(s.start);
    let end: number | undefined;
    if (s.end !== undefined) {
      end = Math.max(start, fit(s.end));
    } else if (finished && jobEnd !== undefined && Number.isFinite(jobEnd)) {
      end = Math.max(start, jobEnd);
    }
    return {
      number: i + 1,
      name: s.header || s.name,
      status: statuses[i],
      providerStatus: s.end === undefined ? 'no section_end' : 'section_end',
      startedAt: new Date(start).toISOString(),
      ...(end !== undefined
        ? {
            finishedAt: new Date(end).toISOString(),
            durationMs: end - start,
          }
        : {}),
    };
  });
}
