import {
  getCompoundEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  ciAlertManagePermission,
  CiAlertRule,
  CiAlertRuleInput,
} from '@ci-experience/plugin-ci-experience-common';
import Accordion from '@material-ui/core/Accordion';
import AccordionDetails from '@material-ui/core/AccordionDetails';
import AccordionSummary from '@material-ui/core/AccordionSummary';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogContentText from '@material-ui/core/DialogContentText';
import DialogTitle from '@material-ui/core/DialogTitle';
import LinearProgress from '@material-ui/core/LinearProgress';
import Paper from '@material-ui/core/Paper';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { useMemo, useState } from 'react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { ciExperienceApiRef } from '../../api';
import { errorMessage } from '../../lib/errors';
import { ruleToInput } from './alerts';
import { CiAlertFiringsTable } from './CiAlertFiringsTable';
import { CiAlertRuleDialog } from './CiAlertRuleDialog';
import { CiAlertRulesTable } from './CiAlertRulesTable';

/** The line shown instead of the controls to those not allowed. */
export const READ_ONLY_LINE =
  'Only the owners of this entity can change its alerts.';

function LoadError(props: { what: string; error: Error; retry: () => void }) {
  return (
    <Alert
      severity="error"
      action={
        <Button color="inherit" size="small" onClick={props.retry}>
          Retry
        </Button>
      }
    >
      {`Could not load the ${props.what}: ${errorMessage(props.error)}`}
    </Alert>
  );
}

function summary(rules: CiAlertRule[] | undefined): string {
  if (!rules) {
    return '\u00a0';
  }
  if (rules.length === 0) {
    return 'No alert rules yet.';
  }
  const firing = rules.filter(r => r.enabled && r.state === 'firing').length;
  const disabled = rules.filter(r => !r.enabled).length;
  return [
    `${rules.length} ${rules.length === 1 ? 'rule' : 'rules'}`,
    `${firing} firing`,
    ...(disabled ? [`${disabled} disabled`] : []),
  ].join(', ');
}

/**
 * The Alerts section of the CI tab: the entity's alert rules with their
 * state, a form to create and edit them (with a preview of how often a
 * drafted rule would have fired), and the history of their firings.
 * Changing rules needs `ci-experience.alert.manage` on the entity; others
 * see the rules and the history read-only.
 */
export function CiAlertsSection() {
  const api = useApi(ciExperienceApiRef);
  const { entity } = useEntity();
  const entityRef = useMemo(() => getCompoundEntityRef(entity), [entity]);
  const refKey = stringifyEntityRef(entity);
  const permission = usePermission({
    permission: ciAlertManagePermission,
    resourceRef: refKey,
  });

  const rules = useAsyncRetry(
    () => api.getAlertRules(entityRef),
    [api, entityRef],
  );
  const firings = useAsyncRetry(
    () => api.getAlertFirings(entityRef),
    [api, entityRef],
  );

  const [dialog, setDialog] = useState<{ rule?: CiAlertRule }>();
  const [deleting, setDeleting] = useState<CiAlertRule>();
  const [busyId, setBusyId] = useState<string>();
  const [actionError, setActionError] = useState<string>();
  const [historyOpen, setHistoryOpen] = useState(false);

  const allowed = !permission.loading && permission.allowed;
  const denied = !permission.loading && !permission.allowed;

  const reload = () => {
    rules.retry();
    firings.retry();
  };

  const act = async (
    rule: CiAlertRule,
    what: string,
    request: () => Promise<unknown>,
  ) => {
    setBusyId(rule.id);
    setActionError(undefined);
    try {
      await request();
      reload();
    } catch (e) {
      setActionError(`Could not ${what} “${rule.name}”: ${errorMessage(e)}`);
    } finally {
      setBusyId(undefined);
    }
  };

  const update = (rule: CiAlertRule, what: string, input: CiAlertRuleInput) =>
    act(rule, what, () => api.updateAlertRule(rule.id, input));

  const ruleList = rules.value?.rules;
  const firingList = firings.value?.firings;
  const openFirings = firingList?.filter(f => !f.resolvedAt).length ?? 0;

  return (
    <Paper variant="outlined" component="section" aria-label="Alerts">
      <Box p={2}>
        <Box display="flex" flexWrap="wrap" alignItems="flex-start" mb={1}>
          <Box mr={2} flexGrow={1}>
            <Typography variant="h6" component="h2">
              Alerts
            </Typography>
            <Typography variant="caption" color="textSecondary">
              {summary(ruleList)}
            </Typography>
          </Box>
          {allowed && (
            <Button
              variant="outlined"
              color="primary"
              onClick={() => setDialog({})}
            >
              New rule
            </Button>
          )}
        </Box>
        {denied && (
          <Typography variant="body2" color="textSecondary" paragraph>
            {READ_ONLY_LINE}
          </Typography>
        )}
        {rules.loading && !ruleList && (
          <LinearProgress aria-label="Loading the alert rules" />
        )}
        {rules.error && (
          <LoadError
            what="alert rules"
            error={rules.error}
            retry={rules.retry}
          />
        )}
        {actionError && (
          <Box mb={1}>
            <Alert severity="error" onClose={() => setActionError(undefined)}>
              {actionError}
            </Alert>
          </Box>
        )}
        {ruleList && ruleList.length === 0 && allowed && (
          <Typography variant="body2" color="textSecondary">
            Create a rule to be told when the default branch breaks, a run is
            stuck, the success rate drops or runs get slower or flakier.
          </Typography>
        )}
        {ruleList && ruleList.length > 0 && (
          <Box style={{ overflowX: 'auto' }}>
            <CiAlertRulesTable
              rules={ruleList}
              busyId={busyId}
              actions={
                allowed
                  ? {
                      onToggle: (rule, enabled) =>
                        update(
                          rule,
                          enabled ? 'enable' : 'disable',
                          ruleToInput(rule, { enabled }),
                        ),
                      onSnooze: (rule, hours) =>
                        update(
                          rule,
                          hours ? 'snooze' : 'unsnooze',
                          ruleToInput(rule, {
                            snoozedUntil: hours
                              ? new Date(
                                  Date.now() + hours * 3_600_000,
                                ).toISOString()
                              : null,
                          }),
                        ),
                      onEdit: rule => setDialog({ rule }),
                      onDelete: rule => setDeleting(rule),
                    }
                  : undefined
              }
            />
          </Box>
        )}

        <Box mt={2}>
          <Accordion
            expanded={historyOpen}
            onChange={(_event, next) => setHistoryOpen(next)}
            TransitionProps={{ unmountOnExit: true }}
            elevation={0}
            variant="outlined"
          >
            <AccordionSummary aria-controls="ci-alert-history">
              <Typography variant="body2">
                {historyOpen ? 'Hide firing history' : 'Show firing history'}
                {firingList &&
                  ` (${openFirings} open, ${firingList.length} in all)`}
              </Typography>
            </AccordionSummary>
            <AccordionDetails id="ci-alert-history">
              <Box width="100%" style={{ overflowX: 'auto' }}>
                {firings.error && (
                  <LoadError
                    what="firing history"
                    error={firings.error}
                    retry={firings.retry}
                  />
                )}
                {firings.loading && !firingList && (
                  <LinearProgress aria-label="Loading the firing history" />
                )}
                {firingList && firingList.length === 0 && (
                  <Typography variant="body2" color="textSecondary">
                    No alert has fired yet.
                  </Typography>
                )}
                {firingList && firingList.length > 0 && (
                  <CiAlertFiringsTable firings={firingList} />
                )}
              </Box>
            </AccordionDetails>
          </Accordion>
        </Box>
      </Box>

      {dialog && (
        <CiAlertRuleDialog
          entityRef={entityRef}
          rule={dialog.rule}
          onClose={() => setDialog(undefined)}
          onSaved={() => {
            setDialog(undefined);
            reload();
          }}
        />
      )}

      <Dialog
        open={!!deleting}
        onClose={() => setDeleting(undefined)}
        aria-labelledby="ci-alert-delete-title"
      >
        <DialogTitle id="ci-alert-delete-title">
          Delete the alert rule “{deleting?.name}”?
        </DialogTitle>
        <DialogContent>
          <DialogContentText>
            It stops being checked and notifies nobody any more. This cannot be
            undone.
          </DialogContentText>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setDeleting(undefined)}>Keep it</Button>
          <Button
            color="secondary"
            onClick={() => {
              const rule = deleting;
              setDeleting(undefined);
              if (rule) {
                act(rule, 'delete', () => api.deleteAlertRule(rule.id));
              }
            }}
          >
            Delete rule
          </Button>
        </DialogActions>
      </Dialog>
    </Paper>
  );
}
