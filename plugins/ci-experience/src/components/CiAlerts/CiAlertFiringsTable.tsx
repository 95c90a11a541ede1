import { Link } from '@backstage/core-components';
import { CiAlertFiring } from '@ci-experience/plugin-ci-experience-common';
import Chip from '@material-ui/core/Chip';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { Fragment } from 'react';
import { formatRelativeTime } from '../../lib/format';
import { runPagePath } from '../CiRunsTable';
import { describeDeliveries, formatDateTime, SEVERITY_LABELS } from './alerts';

/** How many of a firing's runs are linked; the rest are counted. */
const MAX_RUN_LINKS = 5;

function Time(props: { iso: string }) {
  return (
    <span title={formatDateTime(props.iso)}>
      {formatRelativeTime(props.iso) ?? formatDateTime(props.iso)}
    </span>
  );
}

function RunLinks(props: { firing: CiAlertFiring }) {
  const { runIds, ruleName } = props.firing;
  if (runIds.length === 0) {
    return <>—</>;
  }
  const shown = runIds.slice(0, MAX_RUN_LINKS);
  return (
    <>
      {shown.map((runId, index) => (
        <Fragment key={runId}>
          {index > 0 && ', '}
          <Link
            to={runPagePath(runId)}
            aria-label={`${
              index === 0 ? 'Latest run' : `Run ${index + 1}`
            } that made ${ruleName} fire`}
          >
            {index === 0 ? 'latest' : index + 1}
          </Link>
        </Fragment>
      ))}
      {runIds.length > shown.length &&
        ` and ${runIds.length - shown.length} more`}
    </>
  );
}

/**
 * An entity's firings, open ones first: when each opened and resolved, why,
 * where its notices went, and the runs that caused it (linked to their
 * pages in the CI tab, newest first).
 */
export function CiAlertFiringsTable(props: { firings: CiAlertFiring[] }) {
  return (
    <Table size="small" aria-label="Firing history">
      <TableHead>
        <TableRow>
          <TableCell>Rule</TableCell>
          <TableCell>Severity</TableCell>
          <TableCell>Opened</TableCell>
          <TableCell>Resolved</TableCell>
          <TableCell>Detail</TableCell>
          <TableCell>Deliveries</TableCell>
          <TableCell>Runs (newest first)</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {props.firings.map(firing => (
          <TableRow key={firing.id} aria-label={`${firing.ruleName} firing`}>
            <TableCell>{firing.ruleName}</TableCell>
            <TableCell>
              {SEVERITY_LABELS[firing.severity] ?? firing.severity}
            </TableCell>
            <TableCell>
              <Time iso={firing.openedAt} />
            </TableCell>
            <TableCell>
              {firing.resolvedAt ? (
                <Time iso={firing.resolvedAt} />
              ) : (
                <Chip size="small" color="secondary" label="open" />
              )}
            </TableCell>
            <TableCell>{firing.detail}</TableCell>
            <TableCell>
              <Typography variant="body2">
                {describeDeliveries(firing)}
              </Typography>
            </TableCell>
            <TableCell>
              <RunLinks firing={firing} />
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
