import { Link, Table, TableColumn } from '@backstage/core-components';
import { CiRun } from '@ci-experience/plugin-ci-experience-common';
import SvgIcon from '@material-ui/core/SvgIcon';
import { CSSProperties, ReactNode } from 'react';
import {
  formatDuration,
  formatRelativeTime,
  formatRunNumber,
  providerLabel,
  runDurationMs,
  workflowName,
} from '../../lib/format';
import { CiFailureInline } from '../CiFailure';
import { CiProviderIcon } from '../CiProviderIcon';
import { CiRunStatus } from '../CiRunStatus';

function firstLine(text: string | undefined): string | undefined {
  return text?.trim().split('\n', 1)[0];
}

/**
 * One line of text, cut with an ellipsis where its cell ends; the whole text
 * is in `title`, shown on hover.
 */
export const ONE_LINE: CSSProperties = {
  display: 'block',
  overflow: 'hidden',
  textOverflow: 'ellipsis',
  whiteSpace: 'nowrap',
};

function OneLine(props: {
  title?: string;
  children: ReactNode;
  style?: CSSProperties;
}) {
  return (
    <span title={props.title} style={{ ...ONE_LINE, ...props.style }}>
      {props.children}
    </span>
  );
}

/** Material's "open in new" mark, small: the run at its provider. */
function OpenInNew() {
  return (
    <SvgIcon
      aria-hidden
      style={{ fontSize: 14, verticalAlign: 'text-bottom' }}
      viewBox="0 0 24 24"
    >
      <path d="M19 19H5V5h7V3H5c-1.11 0-2 .9-2 2v14c0 1.1.89 2 2 2h14c1.1 0 2-.9 2-2v-7h-2v7zM14 3v2h3.59l-9.83 9.83 1.41 1.41L19 6.41V10h2V3h-7z" />
    </SvgIcon>
  );
}

// One line per run, whatever the texts: cells never wrap, and the table
// fits its box. The layout is fixed: columns of short, bounded values
// (status, run number, times) have widths in pixels that fit their longest
// text; the others share what is left in the proportions given, and cut
// their text with an ellipsis.
const cell: CSSProperties = {
  whiteSpace: 'nowrap',
  overflow: 'hidden',
  textOverflow: 'ellipsis',
  paddingLeft: 8,
  paddingRight: 8,
};

/** Widths of the columns of bounded texts, in pixels, padding included. */
const FIXED = { status: 115, run: 170, started: 125, duration: 80 };

function fixed(
  px: number,
): Pick<TableColumn<CiRun>, 'width' | 'cellStyle' | 'headerStyle'> {
  return { width: `${px}px`, cellStyle: cell, headerStyle: cell };
}

/**
 * A column of free text, in percent of the table. These add up to 56%, what
 * the fixed columns leave of a table 1,114 px wide or wider (a 1440 px
 * screen gives it about 1,175 px); wider tables share the rest among all
 * columns. (Chrome ignores `calc()` mixing percent and pixels here.)
 */
function elastic(
  pct: number,
): Pick<TableColumn<CiRun>, 'width' | 'cellStyle' | 'headerStyle'> {
  return { width: `${pct}%`, cellStyle: cell, headerStyle: cell };
}

const columns: TableColumn<CiRun>[] = [
  {
    title: 'Status',
    field: 'status',
    ...fixed(FIXED.status),
    render: run => <CiRunStatus status={run.status} />,
  },
  {
    title: 'Failure',
    ...elastic(10),
    render: run =>
      run.failure ? (
        <OneLine>
          <CiFailureInline failure={run.failure} />
        </OneLine>
      ) : null,
  },
  {
    title: 'Workflow',
    ...elastic(11),
    render: run => (
      <span
        style={{ display: 'flex', alignItems: 'center', gap: 6, minWidth: 0 }}
      >
        <CiProviderIcon provider={run.provider} />
        <OneLine title={run.workflow} style={{ minWidth: 0 }}>
          {workflowName(run)}
        </OneLine>
      </span>
    ),
  },
  {
    title: 'Run',
    ...fixed(FIXED.run),
    render: run => (
      <>
        <Link
          to={runPagePath(run.id)}
          aria-label={`${workflowName(run)} ${formatRunNumber(
            run,
          )}: jobs and logs`}
        >
          {formatRunNumber(run)}
        </Link>
        <Link
          to={run.url}
          title={`${run.workflow} ${formatRunNumber(run)} on ${providerLabel(
            run.provider,
          )}`}
          aria-label={`${workflowName(run)} ${formatRunNumber(
            run,
          )} on ${providerLabel(run.provider)}`}
          style={{ marginLeft: 4 }}
        >
          <OpenInNew />
        </Link>
      </>
    ),
  },
  {
    title: 'Branch',
    ...elastic(8),
    render: run =>
      run.branch ? <OneLine title={run.branch}>{run.branch}</OneLine> : '—',
  },
  {
    title: 'Commit',
    ...elastic(20),
    render: run => (
      <OneLine title={run.commitMessage?.trim()}>
        {run.commitSha && (
          <code style={{ marginRight: 6 }}>{run.commitSha.slice(0, 7)}</code>
        )}
        <span>{firstLine(run.commitMessage)}</span>
      </OneLine>
    ),
  },
  {
    title: 'Actor',
    ...elastic(7),
    render: run =>
      run.actor ? <OneLine title={run.actor}>{run.actor}</OneLine> : '—',
  },
  {
    title: 'Started',
    ...fixed(FIXED.started),
    render: run => {
      // A queued run has no start yet; its creation is the useful time then.
      const time = run.startedAt ?? run.createdAt;
      return <span title={time}>{formatRelativeTime(time) ?? '—'}</span>;
    },
  },
  {
    title: 'Duration',
    ...fixed(FIXED.duration),
    render: run => {
      const ms = runDurationMs(run);
      return ms === undefined ? '—' : formatDuration(ms);
    },
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
 * The run list, one line per run. The table's own paging is off: pages come
 * from the backend, which pages by cursor, so the caller renders a "Load
 * more" control.
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
          tableLayout: 'fixed',
        }}
      />
      {props.footer}
    </>
  );
}
