import {
  getCompoundEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  ciRunExecutePermission,
  CiRunDetail,
  isFinalStatus,
} from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogContentText from '@material-ui/core/DialogContentText';
import DialogTitle from '@material-ui/core/DialogTitle';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { useState } from 'react';
import { ciExperienceApiRef } from '../../api';
import { errorMessage } from '../../lib/errors';
import { formatRunNumber, providerLabel, workflowName } from '../../lib/format';

/** An action on a run. */
export type CiRunAction = 'rerun' | 'rerunFailed' | 'cancel';

const DONE: Record<CiRunAction, string> = {
  rerun:
    'Rerun requested: the new attempt shows up here once the provider has started it.',
  rerunFailed:
    'Rerun of the failed jobs requested: the new attempt shows up here once the provider has started it.',
  cancel: 'Cancel requested: the run stops once the provider has cancelled it.',
};

const FAILED: Record<CiRunAction, string> = {
  rerun: 'Rerun failed',
  rerunFailed: 'Rerun of the failed jobs failed',
  cancel: 'Cancel failed',
};

/**
 * Which actions make sense for a run: what its provider can do (`actions`)
 * in the state the run is in. A finished run can be rerun (its failed jobs
 * only, if it has any and the provider can); an unfinished one cancelled.
 */
export function applicableActions(run: CiRunDetail): CiRunAction[] {
  const final = isFinalStatus(run.status);
  const failed =
    run.status === 'failed' || run.jobs.some(job => job.status === 'failed');
  const applicable: CiRunAction[] = [];
  if (final && run.actions.rerun) {
    applicable.push('rerun');
  }
  if (final && failed && run.actions.rerunFailed) {
    applicable.push('rerunFailed');
  }
  if (!final && run.actions.cancel) {
    applicable.push('cancel');
  }
  return applicable;
}

/**
 * Rerun, Rerun failed jobs and Cancel, as the run's provider allows them.
 * The backend checks `ci-experience.run.execute` on the entity; the buttons
 * are disabled, with the reason, where the same check denies it here.
 */
export function CiRunActionsBar(props: {
  run: CiRunDetail;
  /** Called once the backend has accepted an action. */
  onDone: (action: CiRunAction) => void;
}) {
  const { run, onDone } = props;
  const api = useApi(ciExperienceApiRef);
  const { entity } = useEntity();
  const permission = usePermission({
    permission: ciRunExecutePermission,
    resourceRef: stringifyEntityRef(entity),
  });
  const [busy, setBusy] = useState<CiRunAction>();
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [outcome, setOutcome] = useState<
    { action: CiRunAction; error?: string } | undefined
  >();

  const actions = applicableActions(run);
  if (actions.length === 0) {
    return null;
  }

  const act = async (action: CiRunAction) => {
    setBusy(action);
    setOutcome(undefined);
    const ref = getCompoundEntityRef(entity);
    try {
      if (action === 'cancel') {
        await api.cancelRun(ref, run.id);
      } else {
        await api.rerunRun(ref, run.id, {
          failedOnly: action === 'rerunFailed',
        });
      }
      setOutcome({ action });
      onDone(action);
    } catch (e) {
      setOutcome({ action, error: errorMessage(e) });
    } finally {
      setBusy(undefined);
    }
  };

  // The provider's words where a rerun is not simply "run every job again"
  // (Jenkins: a new build of the branch's head; GitLab: retry kinds).
  const rerunLabel = run.actions.rerunLabel || 'Rerun';
  const rerunFailedLabel = run.actions.rerunFailedLabel || 'Rerun failed jobs';
  const denied = !permission.loading && !permission.allowed;
  const disabled = permission.loading || denied || busy !== undefined;
  const runName = `${workflowName(run)} ${formatRunNumber(run)}`;

  return (
    <Box>
      <Box display="flex" flexWrap="wrap" style={{ gap: 8 }}>
        {actions.includes('rerun') && (
          <Button
            variant="outlined"
            color="primary"
            disabled={disabled}
            onClick={() => act('rerun')}
          >
            {busy === 'rerun' ? 'Rerunning…' : rerunLabel}
          </Button>
        )}
        {actions.includes('rerunFailed') && (
          <Button
            variant="outlined"
            color="primary"
            disabled={disabled}
            onClick={() => act('rerunFailed')}
          >
            {busy === 'rerunFailed' ? 'Rerunning…' : rerunFailedLabel}
          </Button>
        )}
        {actions.includes('cancel') && (
          <Button
            variant="outlined"
            disabled={disabled}
            onClick={() => setConfirmCancel(true)}
          >
            {busy === 'cancel' ? 'Cancelling…' : 'Cancel'}
          </Button>
        )}
      </Box>
      {denied && (
        <Typography variant="caption" color="textSecondary" component="p">
          You do not have permission to rerun or cancel runs of{' '}
          {entity.metadata.title ?? entity.metadata.name}.
        </Typography>
      )}
      {outcome && (
        <Box mt={1}>
          {outcome.error ? (
            <Alert severity="error" onClose={() => setOutcome(undefined)}>
              {FAILED[outcome.action]}: {outcome.error}
            </Alert>
          ) : (
            <Alert severity="success" onClose={() => setOutcome(undefined)}>
              {DONE[outcome.action]}
            </Alert>
          )}
        </Box>
      )}
      <Dialog
        open={confirmCancel}
        onClose={() => setConfirmCancel(false)}
        aria-labelledby="ci-cancel-title"
      >
        <DialogTitle id="ci-cancel-title">Cancel {runName}?</DialogTitle>
        <DialogContent>
          <DialogContentText>
            {providerLabel(run.provider)} stops every job of this run that is
            still queued or running. This cannot be undone; the run can be rerun
            once it has stopped.
          </DialogContentText>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setConfirmCancel(false)}>Keep running</Button>
          <Button
            color="secondary"
            onClick={() => {
              setConfirmCancel(false);
              act('cancel');
            }}
          >
            Cancel run
          </Button>
        </DialogActions>
      </Dialog>
    </Box>
  );
}
