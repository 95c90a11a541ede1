import { CiRankedItem } from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { formatFigureDuration } from '../../lib/insights';

/** The ranked items shown per table: the top ones, as the backend ordered them. */
const TOP = 5;

interface Column {
  label: string;
  value: (item: CiRankedItem) => string;
  numeric?: boolean;
}

const optionalDuration = (ms: number | undefined) =>
  ms === undefined ? '—' : formatFigureDuration(ms);

const workflowColumn: Column = { label: 'Workflow', value: i => i.workflow };
const jobColumn: Column = {
  label: 'Job',
  value: i => i.job ?? '—',
};
const breaksColumn: Column = {
  label: 'Flaky breaks',
  value: i => String(i.flakyBreaks),
  numeric: true,
};
const costColumn: Column = {
  label: 'Time lost',
  value: i => formatFigureDuration(i.flakyCostMs),
  numeric: true,
};

function RankingTable(props: {
  title: string;
  items: CiRankedItem[];
  columns: Column[];
  empty: string;
}) {
  const items = props.items.slice(0, TOP);
  return (
    <Box flex="1 1 320px" minWidth={280} m={1}>
      <Typography variant="subtitle2" component="h3">
        {props.title}
      </Typography>
      {items.length === 0 ? (
        <Typography variant="body2" color="textSecondary">
          {props.empty}
        </Typography>
      ) : (
        <Table size="small" aria-label={props.title}>
          <TableHead>
            <TableRow>
              {props.columns.map(column => (
                <TableCell
                  key={column.label}
                  align={column.numeric ? 'right' : 'left'}
                >
                  {column.label}
                </TableCell>
              ))}
            </TableRow>
          </TableHead>
          <TableBody>
            {items.map(item => (
              <TableRow key={`${item.workflow}\u0000${item.job ?? ''}`}>
                {props.columns.map(column => (
                  <TableCell
                    key={column.label}
                    align={column.numeric ? 'right' : 'left'}
                  >
                    {column.value(item)}
                  </TableCell>
                ))}
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
    </Box>
  );
}

/**
 * Compact tables: the flakiest workflows and jobs (breaks and the time they
 * cost), the slowest jobs and the most often failing jobs.
 */
export function CiInsightsRankings(props: {
  flakiestWorkflows: CiRankedItem[];
  flakiestJobs: CiRankedItem[];
  slowestJobs: CiRankedItem[];
  mostFailingJobs: CiRankedItem[];
}) {
  return (
    <Box display="flex" flexWrap="wrap" mx={-1}>
      <RankingTable
        title="Flakiest workflows"
        items={props.flakiestWorkflows}
        columns={[workflowColumn, breaksColumn, costColumn]}
        empty="No flaky workflow in this window."
      />
      <RankingTable
        title="Flakiest jobs"
        items={props.flakiestJobs}
        columns={[jobColumn, workflowColumn, breaksColumn, costColumn]}
        empty="No flaky job in this window."
      />
      <RankingTable
        title="Slowest jobs"
        items={props.slowestJobs}
        columns={[
          jobColumn,
          workflowColumn,
          {
            label: 'p50',
            value: i => optionalDuration(i.durationP50),
            numeric: true,
          },
          {
            label: 'p95',
            value: i => optionalDuration(i.durationP95),
            numeric: true,
          },
        ]}
        empty="No finished job with a duration in this window."
      />
      <RankingTable
        title="Most failing jobs"
        items={props.mostFailingJobs}
        columns={[
          jobColumn,
          workflowColumn,
          {
            label: 'Failures',
            value: i => `${i.failures} of ${i.runs}`,
            numeric: true,
          },
        ]}
        empty="No failed job in this window."
      />
    </Box>
  );
}
