import {
  CiFigure,
  CiHealthFigures,
} from '@ci-experience/plugin-ci-experience-common';
import { formatDuration } from './format';

/** `90%`, `95.1%`, `0.5%`: a 0..1 ratio as a percentage, one decimal at most. */
export function formatPercent(ratio: number): string {
  const percent = Math.round(ratio * 1000) / 10;
  return `${percent}%`;
}

/** A duration figure: `2m 30s`, `<1s` for a few milliseconds, `0s` for none. */
export function formatFigureDuration(ms: number): string {
  if (ms > 0 && ms < 1000) {
    return '<1s';
  }
  return formatDuration(ms);
}

/** `1.4/day`, `12/day`. */
export function formatPerDay(perDay: number): string {
  const rounded =
    perDay >= 10 ? Math.round(perDay) : Math.round(perDay * 10) / 10;
  return `${rounded}/day`;
}

/** Whether a rise of the figure is good news, bad news, or neither. */
export type CiFigureSense = 'up-is-good' | 'down-is-good' | 'neutral';

/** How one figure of {@link CiHealthFigures} is labelled and shown. */
export interface CiFigureDefinition {
  key: keyof CiHealthFigures;
  label: string;
  /** What the figure's sample counts: `runs`, `commits`, `recoveries`. */
  sampleNoun: 'runs' | 'commits' | 'recoveries';
  sense: CiFigureSense;
  format: (value: number) => string;
  /** One sentence on what it is, shown as a tooltip. */
  description: string;
}

/** The figures of the health header, in the order they are shown. */
export const CI_FIGURE_DEFINITIONS: CiFigureDefinition[] = [
  {
    key: 'successRate',
    label: 'Success rate',
    sampleNoun: 'runs',
    sense: 'up-is-good',
    format: formatPercent,
    description:
      'Succeeded runs over succeeded and failed runs; cancelled and skipped runs are left out.',
  },
  {
    key: 'runs',
    label: 'Runs',
    sampleNoun: 'runs',
    sense: 'neutral',
    format: value => String(Math.round(value)),
    description: 'Finished runs in the window; each attempt is a run.',
  },
  {
    key: 'throughputPerDay',
    label: 'Throughput',
    sampleNoun: 'runs',
    sense: 'neutral',
    format: formatPerDay,
    description: 'Finished runs per day of the window.',
  },
  {
    key: 'durationP50',
    label: 'Duration p50',
    sampleNoun: 'runs',
    sense: 'down-is-good',
    format: formatFigureDuration,
    description: 'Half of the finished runs took at most this long.',
  },
  {
    key: 'durationP95',
    label: 'Duration p95',
    sampleNoun: 'runs',
    sense: 'down-is-good',
    format: formatFigureDuration,
    description: '95% of the finished runs took at most this long.',
  },
  {
    key: 'queueP50',
    label: 'Queue p50',
    sampleNoun: 'runs',
    sense: 'down-is-good',
    format: formatFigureDuration,
    description: 'Half of the runs waited at most this long to start.',
  },
  {
    key: 'queueP95',
    label: 'Queue p95',
    sampleNoun: 'runs',
    sense: 'down-is-good',
    format: formatFigureDuration,
    description: '95% of the runs waited at most this long to start.',
  },
  {
    key: 'timeToRecoveryMean',
    label: 'Time to recovery',
    sampleNoun: 'recoveries',
    sense: 'down-is-good',
    format: formatFigureDuration,
    description:
      'On the default branch, from the first failing run to the next passing one, on average.',
  },
  {
    key: 'timeToRecoveryMax',
    label: 'Worst recovery',
    sampleNoun: 'recoveries',
    sense: 'down-is-good',
    format: formatFigureDuration,
    description:
      'On the default branch, the longest time from a failing run to the next passing one.',
  },
  {
    key: 'flakyRate',
    label: 'Flaky rate',
    sampleNoun: 'commits',
    sense: 'down-is-good',
    format: formatPercent,
    description:
      'Commits (per workflow) whose runs both failed and passed, reruns included.',
  },
];

/** `on 42 runs`, `on 1 commit`, `on 3 recoveries`. */
export function formatSample(sample: number, noun: string): string {
  if (sample === 1) {
    const singular = noun === 'recoveries' ? 'recovery' : noun.slice(0, -1);
    return `on 1 ${singular}`;
  }
  return `on ${sample} ${noun}`;
}

/** How a figure moved from the previous window. */
export interface CiFigureTrend {
  direction: 'up' | 'down' | 'flat';
  /** Whether that move is good news, bad news, or neither. */
  verdict: 'good' | 'bad' | 'neutral';
}

/**
 * The trend from `previous` to `current`; undefined when either has no
 * value. Values that read the same once formatted count as flat, so that
 * an arrow never points at a change the reader cannot see.
 */
export function figureTrend(
  definition: Pick<CiFigureDefinition, 'sense' | 'format'>,
  current: CiFigure,
  previous: CiFigure | undefined,
): CiFigureTrend | undefined {
  if (current.value === undefined || previous?.value === undefined) {
    return undefined;
  }
  if (
    current.value === previous.value ||
    definition.format(current.value) === definition.format(previous.value)
  ) {
    return { direction: 'flat', verdict: 'neutral' };
  }
  const direction = current.value > previous.value ? 'up' : 'down';
  if (definition.sense === 'neutral') {
    return { direction, verdict: 'neutral' };
  }
  const good = (direction === 'up') === (definition.sense === 'up-is-good');
  return { direction, verdict: good ? 'good' : 'bad' };
}

/**
 * The health of a roll-up item as a percentage, e.g. `40%`; `—` when it
 * has none.
 */
export function formatHealth(health: number | undefined): string {
  return health === undefined ? '—' : formatPercent(health);
}
