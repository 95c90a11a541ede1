import {
  CiJob,
  CiJobKind,
  CiRunDetail,
  CiRunStatus as CiRunStatusValue,
  CiStep,
  isFinalStatus,
} from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Chip from '@material-ui/core/Chip';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { Link } from '@backstage/core-components';
import { ReactNode, useState } from 'react';
import { formatDuration } from '../../lib/format';
import {
  barPosition,
  Interval,
  intervalOf,
  RunCriticalPath,
  runCriticalPath,
  timelineBounds,
} from '../../lib/timeline';
import { CiFailureDetails } from '../CiFailure';
import { CiRunStatus, ciRunStatusLabel } from '../CiRunStatus';
import { CiJobLogPanel } from './CiJobLogPanel';

const LABEL_WIDTH = 360;
const TICKS = 4;

/** A status's colour, as a theme palette key. */
const STATUS_COLORS: Record<CiRunStatusValue, string> = {
  succeeded: 'success.main',
  failed: 'error.main',
  running: 'info.main',
  queued: 'warning.light',
  cancelled: 'grey.500',
  skipped: 'grey.400',
};

const useStyles = makeStyles(theme => ({
  row: {
    display: 'flex',
    alignItems: 'center',
    minHeight: 32,
    borderBottom: `1px solid ${theme.palette.divider}`,
  },
  label: {
    width: LABEL_WIDTH,
    flexShrink: 0,
    display: 'flex',
    alignItems: 'center',
    overflow: 'hidden',
    paddingRight: theme.spacing(1),
  },
  toggle: {
    textTransform: 'none',
    justifyContent: 'flex-start',
    minWidth: 0,
    overflow: 'hidden',
    textOverflow: 'ellipsis',
    whiteSpace: 'nowrap',
  },
  stepLabel: {
    width: LABEL_WIDTH,
    flexShrink: 0,
    paddingLeft: theme.spacing(4),
    paddingRight: theme.spacing(1),
    overflow: 'hidden',
    textOverflow: 'ellipsis',
    whiteSpace: 'nowrap',
  },
  track: {
    position: 'relative',
    flexGrow: 1,
    height: 18,
  },
  bar: {
    position: 'absolute',
    top: 2,
    bottom: 2,
    borderRadius: 3,
    opacity: 0.85,
  },
  stepBar: {
    position: 'absolute',
    top: 5,
    bottom: 5,
    borderRadius: 2,
    opacity: 0.6,
  },
  critical: {
    opacity: 1,
    outline: `2px solid ${theme.palette.text.primary}`,
    outlineOffset: 1,
  },
  swatch: {
    display: 'inline-block',
    width: 24,
    height: 10,
    marginRight: theme.spacing(1),
    verticalAlign: 'middle',
    borderRadius: 3,
    background: theme.palette.grey[400],
    outline: `2px solid ${theme.palette.text.primary}`,
    outlineOffset: 1,
  },
  axis: {
    position: 'relative',
    flexGrow: 1,
    height: 20,
  },
  tick: {
    position: 'absolute',
    top: 0,
    whiteSpace: 'nowrap',
  },
  group: {
    padding: theme.spacing(1.5, 0, 0.5, 0),
    borderBottom: `1px solid ${theme.palette.divider}`,
  },
  kind: {
    marginLeft: theme.spacing(1),
    flexShrink: 0,
    height: 20,
  },
  details: {
    padding: theme.spacing(1, 0, 2, 0),
    borderBottom: `1px solid ${theme.palette.divider}`,
  },
  failure: {
    padding: theme.spacing(1, 0, 1, 4),
    borderBottom: `1px solid ${theme.palette.divider}`,
  },
}));

function durationOf(interval: Interval | undefined, fallback?: number) {
  if (interval) {
    return formatDuration(interval.end - interval.start);
  }
  return fallback === undefined ? undefined : formatDuration(fallback);
}

/** A bar on the shared axis, described in words for screen readers. */
function Bar(props: {
  name: string;
  status: CiRunStatusValue;
  interval: Interval;
  bounds: Interval;
  /** Set on the critical path's jobs: what to call it. */
  critical?: string;
  /** Time the job waited before it started. */
  queuedMs?: number;
  className: string;
}) {
  const { name, status, interval, bounds, critical, queuedMs } = props;
  const classes = useStyles();
  const { leftPct, widthPct } = barPosition(interval, bounds);
  const description = `${name}: ${ciRunStatusLabel(status)}, ${formatDuration(
    interval.end - interval.start,
  )}, from ${formatDuration(interval.start - bounds.start)} to ${formatDuration(
    interval.end - bounds.start,
  )}${queuedMs !== undefined ? `, queued ${formatDuration(queuedMs)}` : ''}${
    critical ? `, on the ${critical}` : ''
  }`;
  return (
    <Box
      role="img"
      aria-label={description}
      title={description}
      className={`${props.className} ${critical ? classes.critical : ''}`}
      style={{ left: `${leftPct}%`, width: `${widthPct}%` }}
      bgcolor={STATUS_COLORS[status] ?? 'grey.500'}
    />
  );
}

function Axis(props: { bounds: Interval }) {
  const classes = useStyles();
  const span = props.bounds.end - props.bounds.start;
  return (
    <Box className={classes.row} aria-hidden>
      <Box className={classes.label}>
        <Typography variant="caption" color="textSecondary">
          Job
        </Typography>
      </Box>
      <Box className={classes.axis}>
        {Array.from({ length: TICKS + 1 }, (_, i) => (
          <Typography
            key={i}
            variant="caption"
            color="textSecondary"
            className={classes.tick}
            style={{
              left: `${(i / TICKS) * 100}%`,
              transform: `translateX(-${(i / TICKS) * 100}%)`,
            }}
          >
            {formatDuration((span * i) / TICKS)}
          </Typography>
        ))}
      </Box>
    </Box>
  );
}

function StepRow(props: { step: CiStep; bounds?: Interval; now: number }) {
  const { step, bounds, now } = props;
  const classes = useStyles();
  const interval = intervalOf(step, now);
  const duration = durationOf(interval, step.durationMs);
  return (
    <Box className={classes.row} data-testid="job-step">
      <Typography
        variant="body2"
        className={classes.stepLabel}
        title={step.name}
      >
        {step.number}. {step.name}
        {duration && (
          <Typography variant="caption" color="textSecondary">
            {' '}
            · {duration}
          </Typography>
        )}
      </Typography>
      <Box className={classes.track}>
        {interval && bounds ? (
          <Bar
            name={step.name}
            status={step.status}
            interval={interval}
            bounds={bounds}
            className={classes.stepBar}
          />
        ) : (
          <Typography variant="caption" color="textSecondary">
            {ciRunStatusLabel(step.status)}
          </Typography>
        )}
      </Box>
    </Box>
  );
}

const KINDS: Record<CiJobKind, { label: string; title: string }> = {
  manual: {
    label: 'manual',
    title: 'A manual or block step: it waits for a person to start it',
  },
  wait: {
    label: 'wait',
    title: 'A wait step: what follows waits for the steps before it',
  },
  trigger: {
    label: 'trigger',
    title: 'A trigger step: it starts another pipeline',
  },
};

/** What a job is, where it is not a plain script job. */
function KindChip(props: { job: CiJob }) {
  const classes = useStyles();
  const kind = props.job.kind ? KINDS[props.job.kind] : undefined;
  if (!kind) {
    return null;
  }
  return (
    <Chip
      size="small"
      variant="outlined"
      className={classes.kind}
      label={kind.label}
      title={kind.title}
      data-testid={`job-kind-${props.job.kind}`}
    />
  );
}

/** Raw statuses of a manual step still waiting: GitLab `manual`, Buildkite `blocked`. */
const AWAITING_PERSON = new Set(['manual', 'blocked']);

/** What the track says of a job that has no bar. */
function notStartedText(job: CiJob): string {
  if (job.kind === 'manual') {
    // A finished run may still have a manual job to play (GitLab keeps it
    // playable): the raw status tells.
    return !isFinalStatus(job.status) ||
      AWAITING_PERSON.has(job.providerStatus?.toLowerCase() ?? '')
      ? 'Waiting for a person to start it'
      : 'Not started (manual)';
  }
  if (job.kind === 'wait' && !isFinalStatus(job.status)) {
    return 'Waiting for the steps before it';
  }
  return 'Not started';
}

function JobRow(props: {
  run: CiRunDetail;
  job: CiJob;
  bounds?: Interval;
  /** What the critical path is called, when the job is on it. */
  critical?: string;
  expanded: boolean;
  onToggle: () => void;
  onLogRead?: (jobId: string) => void;
  now: number;
}) {
  const { run, job, bounds, critical, expanded, now, onLogRead } = props;
  const classes = useStyles();
  const interval = intervalOf(job, now);
  const duration = durationOf(interval, job.durationMs);
  const queued =
    job.queuedMs !== undefined && job.queuedMs >= 0
      ? formatDuration(job.queuedMs)
      : undefined;
  const detailsId = `ci-job-${run.id}-${job.id}`;
  return (
    <Box role="listitem" aria-label={job.name}>
      <Box className={classes.row}>
        <Box className={classes.label}>
          <Button
            size="small"
            className={classes.toggle}
            aria-expanded={expanded}
            aria-controls={detailsId}
            onClick={props.onToggle}
            title={
              expanded
                ? `Hide ${job.name}`
                : `Show steps and log of ${job.name}`
            }
          >
            {expanded ? '▾' : '▸'}&nbsp;{job.name}
          </Button>
          <KindChip job={job} />
          <Box ml={1} flexShrink={0}>
            <CiRunStatus status={job.status} />
          </Box>
          {duration && (
            <Typography
              variant="caption"
              color="textSecondary"
              style={{ marginLeft: 8, flexShrink: 0 }}
            >
              {duration}
            </Typography>
          )}
          {queued && (
            <Typography
              variant="caption"
              color="textSecondary"
              style={{ marginLeft: 8, flexShrink: 0 }}
              title={`Waited ${queued} between being queued and starting`}
              data-testid="job-queued"
            >
              queued {queued}
            </Typography>
          )}
        </Box>
        <Box className={classes.track}>
          {interval && bounds ? (
            <Bar
              name={job.name}
              status={job.status}
              interval={interval}
              bounds={bounds}
              critical={critical}
              queuedMs={job.queuedMs}
              className={classes.bar}
            />
          ) : (
            <Typography variant="caption" color="textSecondary">
              {notStartedText(job)}
            </Typography>
          )}
        </Box>
      </Box>
      {job.status === 'failed' && job.failure && (
        <Box className={classes.failure}>
          <CiFailureDetails failure={job.failure} />
        </Box>
      )}
      {expanded && (
        <Box id={detailsId} className={classes.details}>
          {(job.steps ?? []).map(step => (
            <StepRow key={step.number} step={step} bounds={bounds} now={now} />
          ))}
          <Box
            mt={2}
            display="flex"
            alignItems="center"
            justifyContent="space-between"
          >
            <Typography variant="subtitle2">Log of {job.name}</Typography>
            {job.url && (
              <Link to={job.url} externalLinkIcon>
                Job at the provider
              </Link>
            )}
          </Box>
          <Box mt={1}>
            <CiJobLogPanel
              runId={run.id}
              job={job}
              available={run.actions.logs}
              onLoaded={onLogRead && (() => onLogRead(job.id))}
            />
          </Box>
        </Box>
      )}
    </Box>
  );
}

/** The jobs in sections by their `group` (stage), in the order they first appear. */
function sections(jobs: CiJob[]): Array<{ group?: string; jobs: CiJob[] }> {
  const result: Array<{ group?: string; jobs: CiJob[] }> = [];
  const byGroup = new Map<string | undefined, CiJob[]>();
  for (const job of jobs) {
    const group = job.group || undefined;
    let list = byGroup.get(group);
    if (!list) {
      list = [];
      byGroup.set(group, list);
      result.push({ group, jobs: list });
    }
    list.push(job);
  }
  return result;
}

/** The sentence above the timeline naming the critical path. */
function CriticalPathText(props: {
  path: RunCriticalPath;
  names: Map<string, string>;
  bounds: Interval;
}) {
  const { path, names, bounds } = props;
  const classes = useStyles();
  const graph = path.basis === 'graph';
  return (
    <Box mb={1} data-testid="critical-path" data-basis={path.basis}>
      <Typography
        variant="body2"
        title={
          graph
            ? "The chain of jobs, each waiting for the one before it in the provider's job graph, that takes the longest: shortening any other job does not make the run finish sooner."
            : "This provider gives no job graph: the chain is estimated from the jobs' times, as the longest chain of jobs each starting after the one before it ended."
        }
      >
        <span className={classes.swatch} aria-hidden />
        {graph
          ? 'Critical path, from the job graph: '
          : 'Critical path, estimated from job times: '}
        <strong>
          {path.jobIds.map(id => names.get(id) ?? id).join(' → ')}
        </strong>
        , {formatDuration(path.durationMs)} of the{' '}
        {formatDuration(bounds.end - bounds.start)} from the first job's start
        to the last job's end.
      </Typography>
    </Box>
  );
}

/**
 * A run's jobs and steps as bars on one time axis, so that it shows where
 * the time went, grouped by stage where the provider has stages. The
 * critical path is outlined: from the provider's job graph where it has one,
 * otherwise estimated from the jobs' times, and labelled so. Each job opens
 * to its steps and log.
 */
export function CiRunTimeline(props: {
  run: CiRunDetail;
  now?: number;
  /**
   * Called when a job's log has been read. Some providers' steps come from
   * the log (GitLab's sections, Jenkins' stage nodes): the backend keeps
   * them on the job as it serves the log, so the run is worth re-reading.
   */
  onJobLogRead?: (jobId: string) => void;
}) {
  const { run, onJobLogRead } = props;
  const now = props.now ?? Date.now();
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());

  if (run.jobs.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        No jobs are recorded for this run yet.
      </Typography>
    );
  }

  const bounds = timelineBounds(run.jobs, now);
  const path = runCriticalPath(run.jobs, now);
  // With one job, the chain is that job: nothing to point out.
  const onPath = new Set(run.jobs.length > 1 ? path.jobIds : []);
  const criticalName =
    path.basis === 'graph' ? 'critical path' : 'estimated critical path';
  const names = new Map(run.jobs.map(job => [job.id, job.name]));
  const toggle = (id: string) =>
    setExpanded(prev => {
      const next = new Set(prev);
      if (!next.delete(id)) {
        next.add(id);
      }
      return next;
    });
  const rows = (jobs: CiJob[]) =>
    jobs.map(job => (
      <JobRow
        key={job.id}
        run={run}
        job={job}
        bounds={bounds}
        critical={onPath.has(job.id) ? criticalName : undefined}
        expanded={expanded.has(job.id)}
        onToggle={() => toggle(job.id)}
        onLogRead={job.steps?.length ? undefined : onJobLogRead}
        now={now}
      />
    ));
  const grouped = sections(run.jobs);

  return (
    <Box>
      {bounds && onPath.size > 0 && (
        <CriticalPathText path={path} names={names} bounds={bounds} />
      )}
      {bounds && <Axis bounds={bounds} />}
      {grouped.some(section => section.group) ? (
        grouped.map(section => (
          <GroupSection key={section.group ?? ''} group={section.group}>
            {rows(section.jobs)}
          </GroupSection>
        ))
      ) : (
        <Box role="list" aria-label="Jobs">
          {rows(run.jobs)}
        </Box>
      )}
    </Box>
  );
}

/** The jobs of one group (stage), under its name. */
function GroupSection(props: { group?: string; children: ReactNode }) {
  const classes = useStyles();
  const name = props.group ?? 'Other jobs';
  return (
    <Box role="group" aria-label={`Group ${name}`}>
      <Typography variant="overline" component="h3" className={classes.group}>
        {name}
      </Typography>
      <Box role="list" aria-label={`Jobs of ${name}`}>
        {props.children}
      </Box>
    </Box>
  );
}
