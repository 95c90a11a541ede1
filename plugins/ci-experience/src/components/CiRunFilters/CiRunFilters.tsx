import {
  CI_RUN_STATUSES,
  CiRunStatus,
  matchesWorkflowPattern,
} from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import TextField from '@material-ui/core/TextField';
import { ChangeEvent } from 'react';
import { ciRunStatusLabel } from '../CiRunStatus';
import { providerLabel } from '../../lib/format';

/** The value the selects use for "no filter". */
export const ALL = '';

/**
 * The branch select's value for "the entity's allow-listed branches". NUL
 * cannot be in a branch name, so it never meets one.
 */
export const ALLOWED_BRANCHES = '\u0000allowed';

/**
 * The branch select's value for "each source's own default branch" (the
 * tab's default view). NUL cannot be in a branch name.
 */
export const DEFAULT_BRANCHES = '\u0000default';

/** The label of the "default branches" choice, naming them where known. */
export function defaultBranchesLabel(defaultBranches: string[]): string {
  if (defaultBranches.length === 1) {
    return `Default branch (${defaultBranches[0]})`;
  }
  if (defaultBranches.length > 1) {
    return `Default branches (${defaultBranches.join(', ')})`;
  }
  return 'Default branches';
}

/** The chosen filters; {@link ALL} means unfiltered. */
export interface CiRunFilterValues {
  branch: string;
  status: CiRunStatus | typeof ALL;
  workflow: string;
  /** A provider id; {@link ALL} for every provider. */
  provider?: string;
}

/** Props of {@link CiRunFilters}. */
export interface CiRunFiltersProps {
  values: CiRunFilterValues;
  onChange: (values: CiRunFilterValues) => void;
  /**
   * The sources' own default branches, distinct. When given, the select
   * offers {@link DEFAULT_BRANCHES} first ("each source's runs on its own
   * default branch"), since it is what most people look at, and lists these
   * branches first, marked "(default)".
   */
  defaultBranches?: string[];
  /** Other branches to offer, e.g. those seen in loaded runs. */
  branches: string[];
  /**
   * The entity's allow-listed branch patterns from the portal's config: the
   * select then offers "Allowed branches" and lists only matching branches.
   */
  allowedBranches?: string[];
  workflows: string[];
  /** Provider ids of the entity's sources; a select shows when there are several. */
  providers?: string[];
  onRefresh: () => void;
  refreshing: boolean;
}

function uniqueSorted(values: string[], first: string[] = []): string[] {
  const head = [...new Set(first)].sort((a, b) => a.localeCompare(b));
  const rest = [...new Set(values)]
    .filter(value => value && !head.includes(value))
    .sort((a, b) => a.localeCompare(b));
  return [...head, ...rest];
}

/**
 * Branch, status and workflow selects, and a Refresh button. Native selects
 * keep the filters usable by keyboard and screen readers without extra work.
 */
export function CiRunFilters(props: CiRunFiltersProps) {
  const { values, onChange } = props;
  const defaultBranches = props.defaultBranches ?? [];
  // The chosen values stay listed even when no loaded run carries them.
  const { allowedBranches } = props;
  const branches = uniqueSorted(
    [
      ...props.branches.filter(
        branch =>
          !allowedBranches || matchesWorkflowPattern(branch, allowedBranches),
      ),
      values.branch === ALLOWED_BRANCHES || values.branch === DEFAULT_BRANCHES
        ? ALL
        : values.branch,
    ],
    defaultBranches,
  );
  const workflows = uniqueSorted([...props.workflows, values.workflow]);

  const handle =
    (field: keyof CiRunFilterValues) =>
    (event: ChangeEvent<{ value: unknown }>) =>
      onChange({ ...values, [field]: String(event.target.value) });

  return (
    <Box display="flex" flexWrap="wrap" alignItems="flex-end" mb={2}>
      <Box mr={2} minWidth={180}>
        <TextField
          id="ci-filter-branch"
          label="Branch"
          select
          fullWidth
          SelectProps={{ native: true }}
          InputLabelProps={{ shrink: true }}
          value={values.branch}
          onChange={handle('branch')}
        >
          {props.defaultBranches && (
            <option value={DEFAULT_BRANCHES}>
              {defaultBranchesLabel(defaultBranches)}
            </option>
          )}
          {branches.map(branch => (
            <option key={branch} value={branch}>
              {defaultBranches.includes(branch)
                ? `${branch} (default)`
                : branch}
            </option>
          ))}
          {allowedBranches && (
            <option value={ALLOWED_BRANCHES}>
              {`Allowed branches (${allowedBranches.join(', ')})`}
            </option>
          )}
          <option value={ALL}>All branches</option>
        </TextField>
      </Box>
      <Box mr={2} minWidth={140}>
        <TextField
          id="ci-filter-status"
          label="Status"
          select
          fullWidth
          SelectProps={{ native: true }}
          InputLabelProps={{ shrink: true }}
          value={values.status}
          onChange={handle('status')}
        >
          <option value={ALL}>Any</option>
          {CI_RUN_STATUSES.map(status => (
            <option key={status} value={status}>
              {ciRunStatusLabel(status)}
            </option>
          ))}
        </TextField>
      </Box>
      <Box mr={2} minWidth={180}>
        <TextField
          id="ci-filter-workflow"
          label="Workflow"
          select
          fullWidth
          SelectProps={{ native: true }}
          InputLabelProps={{ shrink: true }}
          value={values.workflow}
          onChange={handle('workflow')}
        >
          <option value={ALL}>All</option>
          {workflows.map(workflow => (
            <option key={workflow} value={workflow}>
              {workflow}
            </option>
          ))}
        </TextField>
      </Box>
      {(props.providers?.length ?? 0) > 1 && (
        <Box mr={2} minWidth={160}>
          <TextField
            id="ci-filter-provider"
            label="Provider"
            select
            fullWidth
            SelectProps={{ native: true }}
            InputLabelProps={{ shrink: true }}
            value={values.provider ?? ALL}
            onChange={handle('provider')}
          >
            <option value={ALL}>All providers</option>
            {props.providers!.map(provider => (
              <option key={provider} value={provider}>
                {providerLabel(provider)}
              </option>
            ))}
          </TextField>
        </Box>
      )}
      <Box flexGrow={1} />
      <Button
        variant="outlined"
        onClick={props.onRefresh}
        disabled={props.refreshing}
      >
        Refresh
      </Button>
    </Box>
  );
}
