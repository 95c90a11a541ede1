export { CiAlertsSection, READ_ONLY_LINE } from './CiAlertsSection';
export { CiAlertRuleDialog, PREVIEW_DEBOUNCE_MS } from './CiAlertRuleDialog';
export type { CiAlertRuleDialogProps } from './CiAlertRuleDialog';
export { CiAlertRulesTable } from './CiAlertRulesTable';
export type {
  CiAlertRulesTableProps,
  CiAlertRuleRowActions,
} from './CiAlertRulesTable';
export { CiAlertFiringsTable } from './CiAlertFiringsTable';
