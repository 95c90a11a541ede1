import { Link, Table, TableColumn } from '@backstage/core-components';
import { CiRun } from '@ci-experience/plugin-ci-experience-common';
import Typography from '@material-ui/core/Typography';
import { ReactNode } from 'react';
import {
  formatDuration,
  formatRelativeTime,
  formatRunNumber,
  providerLabel,
  runDurationMs,
} from '../../lib/format';
import { CiFailureInline } from '../CiFailure';
import { CiRunStatus } from '../CiRunStatus';

function firstLine(text: string | undefined): string | undefined {
  return text?.split('\n', 1)[0];
}

const columns: TableColumn<CiRun>[] = [
  {
    title: 'Status',
    field: 'status',
    cellStyle: { whiteSpace: 'nowrap' },
    render: run => <CiRunStatus status={run.status} />,
  },
  {
    title: 'Failure',
    render: run =>
      run.failure ? <CiFailureInline failure={run.failure} /> : null,
  },
  { title: 'Workflow', field: 'workflow' },
  {
    title: 'Run',
    cellStyle: { whiteSpace: 'nowrap' },
    render: run => (
      <Link
        to={runPagePath(run.id)}
        aria-label={`${run.workflow} ${formatRunNumber(run)}: jobs and logs`}
      >
        {formatRunNumber(run)}
      </Link>
    ),
  },
  { title: 'Branch', field: 'branch', render: run => run.branch ?? '—' },
  {
    title: 'Commit',
    render: run => (
      <>
        {run.commitSha && (
          <Typography variant="body2" component="code">
            {run.commitSha.slice(0, 7)}
          </Typography>
        )}{' '}
        <Typography variant="body2" component="span" title={run.commitMessage}>
          {firstLine(run.commitMessage)}
        </Typography>
      </>
    ),
  },
  { title: 'Actor', field: 'actor', render: run => run.actor ?? '—' },
  {
    title: 'Started',
    render: run => {
      // A queued run has no start yet; its creation is the useful time then.
      const time = run.startedAt ?? run.createdAt;
      return <span title={time}>{formatRelativeTime(time) ?? '—'}</span>;
    },
  },
  {
    title: 'Duration',
    render: run => {
      const ms = runDurationMs(run);
      return ms === undefined ? '—' : formatDuration(ms);
    },
  },
  {
    title: 'Provider',
    render: run => (
      <Link
        to={run.url}
        externalLinkIcon
        aria-label={`${run.workflow} ${formatRunNumber(run)} on ${providerLabel(
          run.provider,
        )}`}
      >
        {providerLabel(run.provider)}
      </Link>
    ),
  },
];

/** Props of {@link CiRunsTable}. */
export interface CiRunsTableProps {
  runs: CiRun[];
  loading: boolean;
  /** Why the list is empty; shown instead of a bare "no data". */
  emptyContent: ReactNode;
  /** Pagination controls, shown below the rows. */
  footer?: ReactNode;
}

/**
 * The path of a run's page, relative to the CI tab's runs list, which is
 * where the table is rendered.
 */
export function runPagePath(runId: string): string {
  return `runs/${encodeURIComponent(runId)}`;
}

/**
 * The run list. The table's own paging is off: pages come from the backend,
 * which pages by cursor, so the caller renders a "Load more" control.
 */
export function CiRunsTable(props: CiRunsTableProps) {
  return (
    <>
      <Table<CiRun>
        title="Runs"
        columns={columns}
        data={props.runs}
        isLoading={props.loading}
        emptyContent={props.emptyContent}
        options={{
          paging: false,
          search: false,
          padding: 'dense',
          toolbar: false,
        }}
      />
      {props.footer}
    </>
  );
}
