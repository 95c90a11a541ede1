import { Link, LogViewer, Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { CiJob } from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Alert from '@material-ui/lab/Alert';
import { useEffect } from 'react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { ciExperienceApiRef } from '../../api';
import { errorMessage } from '../../lib/errors';
import { formatBytes } from '../../lib/format';

/** The most height the log viewer takes; it scrolls inside. */
const MAX_LOG_HEIGHT = 480;
/** LogViewer's search bar and its lines, in pixels. */
const LOG_HEADER_HEIGHT = 56;
const LOG_LINE_HEIGHT = 20;

/** Short logs get a short viewer; long ones scroll inside the maximum. */
function logHeight(text: string): number {
  let lines = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
    lines += 1;
  }
  return Math.min(
    MAX_LOG_HEIGHT,
    LOG_HEADER_HEIGHT + (lines + 1) * LOG_LINE_HEIGHT,
  );
}

/**
 * One job's log, read through the backend when the job is expanded (not
 * before: logs are large and most jobs are never opened). The text goes to
 * `LogViewer`, which renders it as text with ANSI colours, search and line
 * links; log text never becomes markup.
 */
export function CiJobLogPanel(props: {
  runId: string;
  job: CiJob;
  /** The provider serves logs through the backend. */
  available: boolean;
  /** Called each time the log has been read. */
  onLoaded?: () => void;
}) {
  const { runId, job, available, onLoaded } = props;
  const api = useApi(ciExperienceApiRef);
  const { value, loading, error, retry } = useAsyncRetry(
    async () => (available ? api.getJobLog(runId, job.id) : undefined),
    [api, runId, job.id, available],
  );
  useEffect(() => {
    if (value) {
      onLoaded?.();
    }
    // Once per answer, not per render of the caller.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);

  const atProvider = job.url && (
    <Link to={job.url} externalLinkIcon>
      Open the job at the provider
    </Link>
  );

  if (!available) {
    return (
      <Alert severity="info">
        This provider's logs cannot be read through the portal. {atProvider}
      </Alert>
    );
  }
  if (error) {
    return (
      <Alert
        severity="warning"
        action={
          <Button color="inherit" size="small" onClick={retry}>
            Retry
          </Button>
        }
      >
        The log could not be loaded: {errorMessage(error)} {atProvider}
      </Alert>
    );
  }
  if (loading && !value) {
    return <Progress />;
  }
  if (!value) {
    return null;
  }

  return (
    <Box>
      {value.truncated && (
        <Box mb={1}>
          <Alert severity="info" data-testid="log-truncated">
            Truncated: only the end of this log is shown
            {value.totalBytes !== undefined &&
              ` (the whole log is ${formatBytes(value.totalBytes)})`}
            .{' '}
            {value.url ? (
              <Link to={value.url} externalLinkIcon>
                Full log at the provider
              </Link>
            ) : (
              atProvider
            )}
          </Alert>
        </Box>
      )}
      {value.text ? (
        <Box height={logHeight(value.text)} data-testid="job-log">
          <LogViewer text={value.text} />
        </Box>
      ) : (
        <Alert severity="info">This job's log is empty.</Alert>
      )}
      <Box mt={1} display="flex" justifyContent="flex-end">
        <Button size="small" onClick={retry} disabled={loading}>
          {loading ? 'Reloading…' : 'Reload log'}
        </Button>
      </Box>
    </Box>
  );
}
