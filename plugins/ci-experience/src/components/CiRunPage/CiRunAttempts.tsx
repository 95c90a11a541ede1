import { Link } from '@backstage/core-components';
import { CiRunDetail } from '@ci-experience/plugin-ci-experience-common';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { describeAttempts } from '../../lib/attempts';
import { formatDuration, runDurationMs } from '../../lib/format';
import { CiFailureInline } from '../CiFailure';
import { CiRunStatus } from '../CiRunStatus';

/**
 * Every attempt of the run side by side, the one shown marked, the others
 * one click away: "attempt 1 failed, attempt 2 passed".
 */
export function CiRunAttempts(props: {
  run: CiRunDetail;
  /** The link to another attempt's page. */
  linkTo: (runId: string) => string;
}) {
  const { run, linkTo } = props;
  const attempts = [...run.attempts].sort((a, b) => a.attempt - b.attempt);
  if (attempts.length === 0) {
    return null;
  }
  return (
    <>
      {attempts.length > 1 && (
        <Typography variant="body1" paragraph data-testid="attempts-summary">
          {describeAttempts(attempts)}.
        </Typography>
      )}
      <Table size="small" aria-label="Attempts">
        <TableHead>
          <TableRow>
            <TableCell>Attempt</TableCell>
            <TableCell>Status</TableCell>
            <TableCell>Duration</TableCell>
            <TableCell>Failure</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {attempts.map(attempt => {
            const duration = runDurationMs(attempt);
            const current = attempt.id === run.id;
            return (
              <TableRow key={attempt.id} selected={current}>
                <TableCell>
                  {current ? (
                    <span aria-current="page">
                      Attempt {attempt.attempt} (shown)
                    </span>
                  ) : (
                    <Link to={linkTo(attempt.id)}>
                      Attempt {attempt.attempt}
                    </Link>
                  )}
                </TableCell>
                <TableCell>
                  <CiRunStatus status={attempt.status} />
                </TableCell>
                <TableCell>
                  {duration === undefined ? '—' : formatDuration(duration)}
                </TableCell>
                <TableCell>
                  {attempt.failure ? (
                    <CiFailureInline failure={attempt.failure} />
                  ) : (
                    '—'
                  )}
                </TableCell>
              </TableRow>
            );
          })}
        </TableBody>
      </Table>
    </>
  );
}
