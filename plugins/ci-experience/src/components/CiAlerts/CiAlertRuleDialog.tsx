import { CompoundEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import {
  CI_ALERT_KINDS,
  CI_ALERT_SEVERITIES,
  CiAlertKind,
  CiAlertPreview,
  CiAlertRule,
  CiAlertRuleInput,
  CiAlertSeverity,
} from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Checkbox from '@material-ui/core/Checkbox';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import FormControlLabel from '@material-ui/core/FormControlLabel';
import LinearProgress from '@material-ui/core/LinearProgress';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { FormEvent, useEffect, useMemo, useState } from 'react';
import { ciExperienceApiRef } from '../../api';
import { errorMessage } from '../../lib/errors';
import {
  canPreview,
  CiAlertDraft,
  defaultParams,
  draftFromRule,
  draftToInput,
  draftToPreviewInput,
  formatDateTime,
  isTestKind,
  KIND_FIELDS,
  KIND_LABELS,
  newDraft,
  SEVERITY_LABELS,
  validateDraft,
} from './alerts';

/** How long the form waits after the last change before previewing. */
export const PREVIEW_DEBOUNCE_MS = 400;

/** How many would-be firings the preview lists by date. */
const PREVIEW_DATES = 5;

interface PreviewState {
  loading: boolean;
  result?: CiAlertPreview;
  error?: string;
}

/**
 * Asks the backend how often `input` would have fired, `PREVIEW_DEBOUNCE_MS`
 * after it last changed; an answer to an older draft is dropped.
 */
function useAlertPreview(
  entityRef: CompoundEntityRef,
  input: CiAlertRuleInput | undefined,
): PreviewState {
  const api = useApi(ciExperienceApiRef);
  const [state, setState] = useState<PreviewState>({ loading: false });
  const key = input ? JSON.stringify(input) : '';

  useEffect(() => {
    if (!input) {
      setState({ loading: false });
      return undefined;
    }
    let current = true;
    setState(prev => ({ ...prev, loading: true }));
    const timer = setTimeout(async () => {
      try {
        const result = await api.previewAlertRule(entityRef, input);
        if (current) {
          setState({ loading: false, result });
        }
      } catch (e) {
        if (current) {
          setState({ loading: false, error: errorMessage(e) });
        }
      }
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
    // `key` stands for `input`, which is a new object on each render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, key, entityRef.kind, entityRef.namespace, entityRef.name]);

  return state;
}

function PreviewLine(props: { previewable: boolean; state: PreviewState }) {
  const { previewable, state } = props;
  let content;
  if (!previewable) {
    content = (
      <Typography variant="body2" color="textSecondary">
        Fix the thresholds to see how often this rule would have fired.
      </Typography>
    );
  } else if (state.error) {
    content = (
      <Typography variant="body2" color="error">
        Could not preview this rule: {state.error}
      </Typography>
    );
  } else if (state.result) {
    const { firings, days, openedAt } = state.result;
    const latest = [...openedAt].reverse().slice(0, PREVIEW_DATES);
    const more = firings - latest.length;
    content = (
      <>
        <Typography variant="body2" data-testid="alert-preview-count">
          Would have fired {firings} {firings === 1 ? 'time' : 'times'} in the
          last {days} days.
        </Typography>
        {firings > 0 && latest.length > 0 && (
          <Typography variant="caption" color="textSecondary" component="p">
            {latest.length === 1 ? 'On' : 'Latest first:'}{' '}
            {latest.map(formatDateTime).join('; ')}
            {more > 0 ? `; and ${more} earlier` : ''}.
          </Typography>
        )}
      </>
    );
  } else {
    content = (
      <Typography variant="body2" color="textSecondary">
        Checking the entity's history…
      </Typography>
    );
  }
  return (
    <Box
      role="status"
      aria-live="polite"
      aria-label="Preview"
      aria-busy={state.loading}
      p={1.5}
      border={1}
      borderColor="divider"
      borderRadius={4}
      style={{ opacity: state.loading && state.result ? 0.6 : 1 }}
    >
      {content}
      {previewable && state.loading && (
        <Box mt={1}>
          <LinearProgress aria-label="Previewing the rule" />
        </Box>
      )}
    </Box>
  );
}

/**
 * The Slack part of the form. A stored webhook is never shown (the API does
 * not send it back): only that there is one, with Replace and Remove.
 */
function SlackField(props: {
  draft: CiAlertDraft;
  error?: string;
  onChange: (changes: Partial<CiAlertDraft>) => void;
}) {
  const { draft, error, onChange } = props;
  const urlField = (label: string) => (
    <TextField
      id="ci-alert-slack-url"
      label={label}
      type="url"
      fullWidth
      autoComplete="off"
      value={draft.slackUrl}
      onChange={event => onChange({ slackUrl: event.target.value })}
      error={!!error}
      helperText={
        error ??
        'An incoming webhook; it is stored encrypted and never shown again.'
      }
    />
  );

  if (!draft.slackStored) {
    return urlField('Slack webhook URL (optional)');
  }
  if (draft.slackAction === 'replace') {
    return (
      <Box>
        {urlField('New Slack webhook URL')}
        <Button
          size="small"
          onClick={() => onChange({ slackAction: 'keep', slackUrl: '' })}
        >
          Keep the current webhook
        </Button>
      </Box>
    );
  }
  if (draft.slackAction === 'remove') {
    return (
      <Box display="flex" alignItems="center" flexWrap="wrap">
        <Typography variant="body2">
          The Slack webhook will be removed when you save.
        </Typography>
        <Button size="small" onClick={() => onChange({ slackAction: 'keep' })}>
          Undo
        </Button>
      </Box>
    );
  }
  return (
    <Box display="flex" alignItems="center" flexWrap="wrap">
      <Typography variant="body2">A Slack webhook is set.</Typography>
      <Box ml={1}>
        <Button
          size="small"
          onClick={() => onChange({ slackAction: 'replace', slackUrl: '' })}
        >
          Replace
        </Button>
        <Button
          size="small"
          onClick={() => onChange({ slackAction: 'remove', slackUrl: '' })}
        >
          Remove
        </Button>
      </Box>
    </Box>
  );
}

/** Props of {@link CiAlertRuleDialog}. */
export interface CiAlertRuleDialogProps {
  entityRef: CompoundEntityRef;
  /** The rule to edit; a new rule when absent. */
  rule?: CiAlertRule;
  onClose: () => void;
  /** Called with the stored rule once the backend has saved it. */
  onSaved: (rule: CiAlertRule) => void;
}

/**
 * The form that creates or edits an alert rule, with a live preview of how
 * often the drafted rule would have fired. Rendered open; unmount to close.
 */
export function CiAlertRuleDialog(props: CiAlertRuleDialogProps) {
  const { entityRef, rule, onClose, onSaved } = props;
  const api = useApi(ciExperienceApiRef);
  const [draft, setDraft] = useState<CiAlertDraft>(() =>
    rule ? draftFromRule(rule) : newDraft(),
  );
  const [submitted, setSubmitted] = useState(false);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string>();

  const errors = useMemo(() => validateDraft(draft), [draft]);
  const previewable = canPreview(errors);
  const preview = useAlertPreview(
    entityRef,
    previewable ? draftToPreviewInput(draft) : undefined,
  );

  const change = (changes: Partial<CiAlertDraft>) =>
    setDraft(prev => ({ ...prev, ...changes }));
  /** A field's error, once it holds something or a save was tried. */
  const shown = (key: string, value: string) =>
    submitted || value.trim() ? errors[key] : undefined;

  const save = async (event?: FormEvent) => {
    event?.preventDefault();
    setSubmitted(true);
    if (Object.keys(errors).length > 0) {
      return;
    }
    setSaving(true);
    setSaveError(undefined);
    try {
      const input = draftToInput(draft);
      const saved = rule
        ? await api.updateAlertRule(rule.id, input)
        : await api.createAlertRule(entityRef, input);
      onSaved(saved);
    } catch (e) {
      setSaveError(errorMessage(e));
      setSaving(false);
    }
  };

  const title = rule ? `Edit alert rule “${rule.name}”` : 'New alert rule';
  const defaultBranchHint =
    draft.kind === 'default-branch-broken'
      ? 'Fires on the first of the two that is reached.'
      : undefined;

  return (
    <Dialog
      open
      onClose={saving ? undefined : onClose}
      aria-labelledby="ci-alert-rule-title"
      maxWidth="md"
      fullWidth
    >
      <form onSubmit={save} noValidate>
        <DialogTitle id="ci-alert-rule-title">{title}</DialogTitle>
        <DialogContent>
          <Box display="flex" flexWrap="wrap" style={{ gap: 16 }}>
            <Box flex="2 1 260px">
              <TextField
                id="ci-alert-name"
                label="Name"
                fullWidth
                value={draft.name}
                onChange={event => change({ name: event.target.value })}
                error={!!shown('name', draft.name)}
                helperText={shown('name', draft.name)}
              />
            </Box>
            <Box flex="1 1 200px">
              <TextField
                id="ci-alert-kind"
                label="Kind"
                select
                fullWidth
                SelectProps={{ native: true }}
                InputLabelProps={{ shrink: true }}
                value={draft.kind}
                onChange={event => {
                  const kind = String(event.target.value) as CiAlertKind;
                  change({ kind, params: defaultParams(kind) });
                }}
              >
                {CI_ALERT_KINDS.map(kind => (
                  <option key={kind} value={kind}>
                    {KIND_LABELS[kind]}
                  </option>
                ))}
              </TextField>
            </Box>
            <Box flex="1 1 140px">
              <TextField
                id="ci-alert-severity"
                label="Severity"
                select
                fullWidth
                SelectProps={{ native: true }}
                InputLabelProps={{ shrink: true }}
                value={draft.severity}
                onChange={event =>
                  change({
                    severity: String(event.target.value) as CiAlertSeverity,
                  })
                }
              >
                {CI_ALERT_SEVERITIES.map(severity => (
                  <option key={severity} value={severity}>
                    {SEVERITY_LABELS[severity]}
                  </option>
                ))}
              </TextField>
            </Box>
          </Box>

          <Box mt={2} display="flex" flexWrap="wrap" style={{ gap: 16 }}>
            {KIND_FIELDS[draft.kind].map(field => {
              const value = draft.params[field.key] ?? '';
              const error = shown(`params.${field.key}`, value);
              return (
                <Box key={field.key} flex="1 1 200px">
                  <TextField
                    id={`ci-alert-param-${field.key}`}
                    label={field.label}
                    type="number"
                    fullWidth
                    inputProps={{
                      min: field.min,
                      max: field.max,
                      step: field.integer ? 1 : 'any',
                    }}
                    value={value}
                    onChange={event =>
                      change({
                        params: {
                          ...draft.params,
                          [field.key]: event.target.value,
                        },
                      })
                    }
                    error={!!error}
                    helperText={error ?? field.helperText}
                  />
                </Box>
              );
            })}
          </Box>
          {defaultBranchHint && (
            <Typography variant="caption" color="textSecondary">
              {defaultBranchHint}
            </Typography>
          )}

          {isTestKind(draft.kind) ? (
            <Typography
              variant="caption"
              color="textSecondary"
              component="p"
              data-testid="ci-alert-test-kind-scope"
            >
              Reads the test results of every workflow and branch: a flake is
              found across the runs of one commit, whatever its branch.
            </Typography>
          ) : (
            <Box mt={2} display="flex" flexWrap="wrap" style={{ gap: 16 }}>
              <Box flex="1 1 200px">
                <TextField
                  id="ci-alert-workflow"
                  label="Workflow (optional)"
                  fullWidth
                  value={draft.workflow}
                  onChange={event => change({ workflow: event.target.value })}
                  helperText="Only the runs of this workflow; every workflow when empty"
                />
              </Box>
              <Box flex="1 1 260px">
                <TextField
                  id="ci-alert-branches"
                  label="Branches"
                  fullWidth
                  value={draft.branches}
                  onChange={event => change({ branches: event.target.value })}
                  placeholder="Default branch"
                  helperText="Comma separated; patterns such as release/* work. Empty: the default branch"
                />
              </Box>
            </Box>
          )}

          <Box mt={1} display="flex" flexWrap="wrap">
            <FormControlLabel
              control={
                <Checkbox
                  checked={draft.enabled}
                  onChange={event => change({ enabled: event.target.checked })}
                  color="primary"
                />
              }
              label="Enabled"
            />
            <FormControlLabel
              control={
                <Checkbox
                  checked={draft.notifications}
                  onChange={event =>
                    change({ notifications: event.target.checked })
                  }
                  color="primary"
                />
              }
              label="Backstage notifications to the owners"
            />
          </Box>

          <Box mt={1}>
            <SlackField
              draft={draft}
              error={
                draft.slackStored && draft.slackAction === 'replace'
                  ? shown('slackWebhookUrl', draft.slackUrl)
                  : errors.slackWebhookUrl
              }
              onChange={change}
            />
          </Box>

          <Box mt={2}>
            <PreviewLine previewable={previewable} state={preview} />
          </Box>

          {saveError && (
            <Box mt={2}>
              <Alert severity="error">
                Could not save the rule: {saveError}
              </Alert>
            </Box>
          )}
        </DialogContent>
        <DialogActions>
          <Button onClick={onClose} disabled={saving}>
            Cancel
          </Button>
          <Button type="submit" color="primary" disabled={saving}>
            {saving && 'Saving…'}
            {!saving && (rule ? 'Save changes' : 'Create rule')}
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
