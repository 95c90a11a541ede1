import { Link } from '@backstage/core-components';
import { CiRunDetail } from '@ci-experience/plugin-ci-experience-common';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { ReactNode } from 'react';
import {
  formatDuration,
  formatRelativeTime,
  providerLabel,
  runDurationMs,
} from '../../lib/format';
import { CiRunStatus } from '../CiRunStatus';

const useStyles = makeStyles(theme => ({
  list: {
    display: 'grid',
    gridTemplateColumns: 'max-content 1fr',
    columnGap: theme.spacing(3),
    rowGap: theme.spacing(1),
    margin: 0,
  },
  term: {
    color: theme.palette.text.secondary,
  },
  value: {
    margin: 0,
    minWidth: 0,
    wordBreak: 'break-word',
  },
  message: {
    whiteSpace: 'pre-wrap',
  },
}));

const EVENTS: Record<string, string> = {
  push: 'Push',
  pull_request: 'Pull request',
  merge_request: 'Merge request',
  schedule: 'Schedule',
  workflow_dispatch: 'Manual',
  manual: 'Manual',
  api: 'API',
};

/** The run's facts: status, what started it, commit, who, when, how long. */
export function CiRunSummary(props: { run: CiRunDetail }) {
  const { run } = props;
  const classes = useStyles();
  const duration = runDurationMs(run);
  const started = run.startedAt ?? run.createdAt;

  const rows: Array<[string, ReactNode]> = [
    ['Status', <CiRunStatus status={run.status} />],
    [
      'Workflow',
      <>
        {run.workflow}
        {run.workflowPath && run.workflowPath !== run.workflow && (
          <Typography variant="caption" color="textSecondary" component="div">
            {run.workflowPath}
          </Typography>
        )}
      </>,
    ],
    ['Trigger', run.event ? EVENTS[run.event] ?? run.event : undefined],
    [
      'Commit',
      run.commitSha && (
        <>
          <Typography variant="body2" component="code" title={run.commitSha}>
            {run.commitSha.slice(0, 7)}
          </Typography>
          {run.commitMessage && (
            <Typography
              variant="body2"
              component="div"
              className={classes.message}
            >
              {run.commitMessage.trim()}
            </Typography>
          )}
        </>
      ),
    ],
    ['Branch', run.branch],
    ['Actor', run.actor],
    [
      'Started',
      <span title={started}>{formatRelativeTime(started) ?? started}</span>,
    ],
    [
      'Queued for',
      run.queuedMs !== undefined ? formatDuration(run.queuedMs) : undefined,
    ],
    ['Duration', duration !== undefined ? formatDuration(duration) : undefined],
    [
      'Provider',
      <Link to={run.url} externalLinkIcon>
        {`${providerLabel(run.provider)}: ${run.source}`}
      </Link>,
    ],
  ];

  return (
    <dl className={classes.list}>
      {rows.map(([term, value]) => (
        <div key={term} style={{ display: 'contents' }}>
          <Typography variant="body2" component="dt" className={classes.term}>
            {term}
          </Typography>
          <Typography
            variant="body2"
            component="dd"
            className={classes.value}
            aria-label={term}
          >
            {value ?? '—'}
          </Typography>
        </div>
      ))}
    </dl>
  );
}
