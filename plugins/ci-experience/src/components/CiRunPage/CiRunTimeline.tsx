import {
  CiJob,
  CiRunDetail,
  CiRunStatus as CiRunStatusValue,
  CiStep,
} from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { Link } from '@backstage/core-components';
import { useState } from 'react';
import { formatDuration } from '../../lib/format';
import {
  barPosition,
  criticalPath,
  Interval,
  intervalOf,
  timelineBounds,
} from '../../lib/timeline';
import { CiFailureDetails } from '../CiFailure';
import { CiRunStatus, ciRunStatusLabel } from '../CiRunStatus';
import { CiJobLogPanel } from './CiJobLogPanel';

const LABEL_WIDTH = 300;
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
  critical?: boolean;
  className: string;
}) {
  const { name, status, interval, bounds, critical } = props;
  const classes = useStyles();
  const { leftPct, widthPct } = barPosition(interval, bounds);
  const description = `${name}: ${ciRunStatusLabel(status)}, ${formatDuration(
    interval.end - interval.start,
  )}, from ${formatDuration(interval.start - bounds.start)} to ${formatDuration(
    interval.end - bounds.start,
  )}${critical ? ', on the longest chain of jobs' : ''}`;
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
    <Box className={classes.row}>
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

function JobRow(props: {
  run: CiRunDetail;
  job: CiJob;
  bounds?: Interval;
  critical: boolean;
  expanded: boolean;
  onToggle: () => void;
  now: number;
}) {
  const { run, job, bounds, critical, expanded, now } = props;
  const classes = useStyles();
  const interval = intervalOf(job, now);
  const duration = durationOf(interval, job.durationMs);
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
        </Box>
        <Box className={classes.track}>
          {interval && bounds ? (
            <Bar
              name={job.name}
              status={job.status}
              interval={interval}
              bounds={bounds}
              critical={critical}
              className={classes.bar}
            />
          ) : (
            <Typography variant="caption" color="textSecondary">
              Not started
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
            />
          </Box>
        </Box>
      )}
    </Box>
  );
}

/**
 * A run's jobs and steps as bars on one time axis, so that it shows where
 * the time went; the longest chain of jobs that waited for each other is
 * outlined. Each job opens to its steps and log.
 */
export function CiRunTimeline(props: { run: CiRunDetail; now?: number }) {
  const { run } = props;
  const now = props.now ?? Date.now();
  const classes = useStyles();
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());

  if (run.jobs.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        No jobs are recorded for this run yet.
      </Typography>
    );
  }

  const bounds = timelineBounds(run.jobs, now);
  const path = criticalPath(run.jobs, now);
  // With one job, the chain is that job: nothing to point out.
  const onPath = new Set(run.jobs.length > 1 ? path.jobIds : []);
  const names = new Map(run.jobs.map(job => [job.id, job.name]));
  const toggle = (id: string) =>
    setExpanded(prev => {
      const next = new Set(prev);
      if (!next.delete(id)) {
        next.add(id);
      }
      return next;
    });

  return (
    <Box>
      {bounds && onPath.size > 0 && (
        <Box mb={1} data-testid="critical-path">
          <Typography variant="body2">
            <span className={classes.swatch} aria-hidden />
            Longest chain of jobs:{' '}
            <strong>
              {path.jobIds.map(id => names.get(id) ?? id).join(' → ')}
            </strong>
            , {formatDuration(path.durationMs)} of the{' '}
            {formatDuration(bounds.end - bounds.start)} from the first job's
            start to the last job's end.
          </Typography>
        </Box>
      )}
      {bounds && <Axis bounds={bounds} />}
      <Box role="list" aria-label="Jobs">
        {run.jobs.map(job => (
          <JobRow
            key={job.id}
            run={run}
            job={job}
            bounds={bounds}
            critical={onPath.has(job.id)}
            expanded={expanded.has(job.id)}
            onToggle={() => toggle(job.id)}
            now={now}
          />
        ))}
      </Box>
    </Box>
  );
}
