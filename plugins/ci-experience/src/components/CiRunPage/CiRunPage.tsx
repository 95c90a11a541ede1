import {
  InfoCard,
  Link,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import {
  CiRunDetail,
  isFinalStatus,
} from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Grid from '@material-ui/core/Grid';
import Typography from '@material-ui/core/Typography';
import { useRef, useState } from 'react';
import { useParams } from 'react-router-dom';
import { useCiRun } from '../../hooks/useCiRun';
import { usePollWhile } from '../../hooks/usePollWhile';
import { formatRunNumber, workflowName } from '../../lib/format';
import { CiFailureDetails } from '../CiFailure';
import { runPagePath } from '../CiRunsTable';
import { CiRunStatus } from '../CiRunStatus';
import { CiRunAction, CiRunActionsBar } from './CiRunActionsBar';
import { CiRunAttempts } from './CiRunAttempts';
import { CiRunSummary } from './CiRunSummary';
import { CiRunTestsPanel } from './CiRunTestsPanel';
import { CiRunTimeline } from './CiRunTimeline';

/** How often an unfinished run is re-read. */
export const RUN_POLL_INTERVAL_MS = 5000;
/** How long the page looks for the new attempt after a rerun. */
const AWAIT_ATTEMPT_MS = 2 * 60_000;
/**
 * How long the page re-reads a finished run whose job list the next sync
 * reads (`jobsPending`): a sync reaches it within a minute or two.
 */
export const AWAIT_JOBS_MS = 5 * 60_000;

// The page is mounted at `runs/:runId` under the CI tab. Links are relative
// to that route: `..` is the runs list, `../runs/<id>` another attempt.
const RUNS_LIST = '..';
const otherRun = (runId: string) => `../${runPagePath(runId)}`;

function BackLink() {
  return <Link to={RUNS_LIST}>← All runs</Link>;
}

/**
 * One run of the CI tab, at `runs/:runId`: what ran, where the time went,
 * why it failed and how to fix it, each job's log, its other attempts, and
 * rerun and cancel. The URL can be shared as is.
 */
export function CiRunPage() {
  const { runId = '' } = useParams();
  const { data: run, error, refresh } = useCiRun(runId);
  // After a rerun, the new attempt arrives by webhook or sync within
  // seconds to minutes: the page looks for it for a while.
  // Jobs whose log was read without steps on the job: the run is re-read
  // once for each, for the steps the backend took from the log.
  const [logsRead] = useState(() => new Set<string>());
  const [awaiting, setAwaiting] = useState<{
    runId: string;
    attempts: number;
    until: number;
  }>();

  const awaitingAttempt =
    !!run &&
    awaiting?.runId === run.id &&
    run.attempts.length <= awaiting.attempts &&
    Date.now() < awaiting.until;
  // A run a webhook finished before its job list was read: re-read until
  // the next sync has read it, for a while.
  const firstSeen = useRef<{ runId: string; at: number }>();
  if (run && firstSeen.current?.runId !== run.id) {
    firstSeen.current = { runId: run.id, at: Date.now() };
  }
  const awaitingJobs =
    !!run?.jobsPending &&
    Date.now() - (firstSeen.current?.at ?? 0) < AWAIT_JOBS_MS;
  usePollWhile(
    !!run && (!isFinalStatus(run.status) || awaitingAttempt || awaitingJobs),
    refresh,
    run,
    RUN_POLL_INTERVAL_MS,
  );

  if (error && !run) {
    return (
      <Box>
        <Box mb={2}>
          <BackLink />
        </Box>
        <ResponseErrorPanel error={error} />
      </Box>
    );
  }
  if (!run) {
    return <Progress />;
  }

  const onDone = (action: CiRunAction) => {
    if (action !== 'cancel') {
      setAwaiting({
        runId: run.id,
        attempts: run.attempts.length,
        until: Date.now() + AWAIT_ATTEMPT_MS,
      });
    }
    refresh();
  };
  const failedJobs = run.jobs.filter(job => job.status === 'failed');
  const showFailure =
    !!run.failure || run.status === 'failed' || failedJobs.length > 0;

  return (
    <Box>
      <Box mb={2}>
        <BackLink />
      </Box>
      {error && (
        <Box mb={2}>
          <ResponseErrorPanel error={error} />
        </Box>
      )}
      <Box
        mb={2}
        display="flex"
        alignItems="flex-start"
        justifyContent="space-between"
        flexWrap="wrap"
        style={{ gap: 16 }}
      >
        <Box>
          <Typography variant="h5" component="h2" title={run.workflow}>
            {workflowName(run)} {formatRunNumber(run)}
          </Typography>
          <CiRunStatus status={run.status} />
        </Box>
        <CiRunActionsBar run={run} onDone={onDone} />
      </Box>
      <Grid container spacing={3}>
        <Grid item xs={12} md={6}>
          <InfoCard title="Summary">
            <CiRunSummary run={run} />
          </InfoCard>
        </Grid>
        <Grid item xs={12} md={6}>
          {showFailure && (
            <Box mb={3}>
              <InfoCard title="Why it failed">
                <FailureOverview run={run} failedJobs={failedJobs.length} />
              </InfoCard>
            </Box>
          )}
          {run.attempts.length > 0 && (
            <InfoCard title="Attempts">
              <CiRunAttempts run={run} linkTo={otherRun} />
            </InfoCard>
          )}
        </Grid>
        <Grid item xs={12}>
          <InfoCard title="Jobs">
            {run.jobsPending && (
              <Box mb={2}>
                <Typography
                  variant="body2"
                  color="textSecondary"
                  data-testid="jobs-pending"
                >
                  The run has finished; its complete job list and the jobs'
                  steps arrive with the next sync of its source (within a minute
                  or two, unless the provider's request budget is spent).
                </Typography>
              </Box>
            )}
            <CiRunTimeline
              run={run}
              onJobLogRead={jobId => {
                const key = `${run.id}\u0000${jobId}`;
                if (!logsRead.has(key)) {
                  logsRead.add(key);
                  refresh();
                }
              }}
            />
          </InfoCard>
        </Grid>
        <Grid item xs={12}>
          <InfoCard title="Tests">
            <CiRunTestsPanel runId={run.id} />
          </InfoCard>
        </Grid>
      </Grid>
    </Box>
  );
}

/** The run's failure class, or why there is none. */
function FailureOverview(props: { run: CiRunDetail; failedJobs: number }) {
  const { run, failedJobs } = props;
  if (run.failure) {
    return (
      <>
        <CiFailureDetails failure={run.failure} />
        {failedJobs > 1 && (
          <Box mt={1}>
            <Typography variant="caption" color="textSecondary">
              The class of the first failed job; {failedJobs} jobs failed, each
              with its own class below.
            </Typography>
          </Box>
        )}
      </>
    );
  }
  let what = 'This run failed';
  if (failedJobs === 1) {
    what = '1 job failed';
  } else if (failedJobs > 1) {
    what = `${failedJobs} jobs failed`;
  }
  return (
    <Typography variant="body2" color="textSecondary">
      {what}, and the failure has not been classified yet: a class is assigned
      shortly after a failure is ingested. The jobs and their logs are below.
    </Typography>
  );
}
