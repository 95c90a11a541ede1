import { CiAlertRule } from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Chip from '@material-ui/core/Chip';
import Menu from '@material-ui/core/Menu';
import MenuItem from '@material-ui/core/MenuItem';
import Switch from '@material-ui/core/Switch';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { useState } from 'react';
import { formatRelativeTime } from '../../lib/format';
import {
  describeRule,
  describeScope,
  formatDateTime,
  isSnoozed,
  SEVERITY_LABELS,
  SNOOZE_CHOICES,
} from './alerts';

const useStyles = makeStyles(theme => ({
  firing: {
    backgroundColor: theme.palette.error.main,
    color: theme.palette.error.contrastText,
  },
  ok: {
    backgroundColor: theme.palette.success.main,
    color: theme.palette.success.contrastText,
  },
  critical: { color: theme.palette.error.main, fontWeight: 500 },
  warning: { color: theme.palette.warning.dark, fontWeight: 500 },
  info: { color: theme.palette.text.secondary },
  nowrap: { whiteSpace: 'nowrap' },
}));

/** What can be done to a rule from its row. */
export interface CiAlertRuleRowActions {
  onToggle: (rule: CiAlertRule, enabled: boolean) => void;
  /** `hours` undefined: unsnooze. */
  onSnooze: (rule: CiAlertRule, hours: number | undefined) => void;
  onEdit: (rule: CiAlertRule) => void;
  onDelete: (rule: CiAlertRule) => void;
}

function SnoozeMenu(props: {
  rule: CiAlertRule;
  disabled: boolean;
  onSnooze: CiAlertRuleRowActions['onSnooze'];
}) {
  const { rule, disabled, onSnooze } = props;
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  const choose = (hours: number | undefined) => {
    setAnchor(null);
    onSnooze(rule, hours);
  };
  const menuId = `ci-alert-snooze-${rule.id}`;
  return (
    <>
      <Button
        size="small"
        aria-label={`Snooze ${rule.name}`}
        aria-haspopup="true"
        aria-controls={anchor ? menuId : undefined}
        disabled={disabled}
        onClick={event => setAnchor(event.currentTarget)}
      >
        Snooze
      </Button>
      <Menu
        id={menuId}
        anchorEl={anchor}
        keepMounted={false}
        open={!!anchor}
        onClose={() => setAnchor(null)}
      >
        {SNOOZE_CHOICES.map(choice => (
          <MenuItem key={choice.hours} onClick={() => choose(choice.hours)}>
            {choice.label}
          </MenuItem>
        ))}
        <MenuItem disabled={!isSnoozed(rule)} onClick={() => choose(undefined)}>
          Unsnooze
        </MenuItem>
      </Menu>
    </>
  );
}

/** Props of {@link CiAlertRulesTable}. */
export interface CiAlertRulesTableProps {
  rules: CiAlertRule[];
  /** The row controls; a read-only table without them. */
  actions?: CiAlertRuleRowActions;
  /** The id of a rule being changed, whose controls wait. */
  busyId?: string;
}

/**
 * An entity's alert rules: what each watches, its state, and (for those
 * allowed to change them) enable, snooze, edit and delete.
 */
export function CiAlertRulesTable(props: CiAlertRulesTableProps) {
  const { rules, actions, busyId } = props;
  const classes = useStyles();
  return (
    <Table size="small" aria-label="Alert rules">
      <TableHead>
        <TableRow>
          <TableCell>Name</TableCell>
          <TableCell>Kind</TableCell>
          <TableCell>Workflow / branches</TableCell>
          <TableCell>Severity</TableCell>
          <TableCell>State</TableCell>
          <TableCell>Last detail</TableCell>
          <TableCell>Enabled</TableCell>
          {actions && <TableCell>Actions</TableCell>}
        </TableRow>
      </TableHead>
      <TableBody>
        {rules.map(rule => {
          const busy = busyId === rule.id;
          const since = formatRelativeTime(rule.stateSince);
          const snoozed = isSnoozed(rule);
          return (
            <TableRow key={rule.id} aria-label={rule.name}>
              <TableCell>{rule.name}</TableCell>
              <TableCell>{describeRule(rule)}</TableCell>
              <TableCell>{describeScope(rule)}</TableCell>
              <TableCell>
                <span className={classes[rule.severity] ?? classes.info}>
                  {SEVERITY_LABELS[rule.severity] ?? rule.severity}
                </span>
              </TableCell>
              <TableCell className={classes.nowrap}>
                <Chip
                  size="small"
                  label={rule.state === 'firing' ? 'Firing' : 'OK'}
                  className={
                    rule.state === 'firing' ? classes.firing : classes.ok
                  }
                />
                {since && (
                  <Typography
                    variant="caption"
                    color="textSecondary"
                    component="span"
                    title={rule.stateSince}
                  >
                    {' '}
                    since {since}
                  </Typography>
                )}
                {snoozed && rule.snoozedUntil && (
                  <Typography
                    variant="caption"
                    color="textSecondary"
                    component="p"
                  >
                    Snoozed until {formatDateTime(rule.snoozedUntil)}
                  </Typography>
                )}
              </TableCell>
              <TableCell>
                <Typography variant="body2" title={rule.lastEvaluatedAt}>
                  {rule.lastDetail ?? '—'}
                </Typography>
              </TableCell>
              <TableCell>
                {actions ? (
                  <Switch
                    size="small"
                    color="primary"
                    checked={rule.enabled}
                    disabled={busy}
                    inputProps={{ 'aria-label': `Enabled: ${rule.name}` }}
                    onChange={event =>
                      actions.onToggle(rule, event.target.checked)
                    }
                  />
                ) : (
                  <>{rule.enabled ? 'Yes' : 'No'}</>
                )}
              </TableCell>
              {actions && (
                <TableCell className={classes.nowrap}>
                  <Box display="flex">
                    <SnoozeMenu
                      rule={rule}
                      disabled={busy}
                      onSnooze={actions.onSnooze}
                    />
                    <Button
                      size="small"
                      aria-label={`Edit ${rule.name}`}
                      disabled={busy}
                      onClick={() => actions.onEdit(rule)}
                    >
                      Edit
                    </Button>
                    <Button
                      size="small"
                      aria-label={`Delete ${rule.name}`}
                      disabled={busy}
                      onClick={() => actions.onDelete(rule)}
                    >
                      Delete
                    </Button>
                  </Box>
                </TableCell>
              )}
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}
