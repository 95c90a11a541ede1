import {
  CompoundEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import {
  CI_INSIGHTS_WINDOWS,
  CiInsightsResponse,
  CiInsightsWindow,
} from '@ci-experience/plugin-ci-experience-common';
import Accordion from '@material-ui/core/Accordion';
import AccordionDetails from '@material-ui/core/AccordionDetails';
import AccordionSummary from '@material-ui/core/AccordionSummary';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import LinearProgress from '@material-ui/core/LinearProgress';
import Paper from '@material-ui/core/Paper';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import Autocomplete from '@material-ui/lab/Autocomplete';
import { useEffect, useState } from 'react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { ciExperienceApiRef } from '../../api';
import { errorMessage } from '../../lib/errors';
import { CiFigureTiles } from './CiFigureTiles';
import { CiInsightsCharts } from './CiInsightsCharts';
import { CiInsightsRankings } from './CiInsightsRankings';

/** The window the header opens on. */
export const DEFAULT_INSIGHTS_WINDOW: CiInsightsWindow = '30d';

const WINDOW_LABELS: Record<CiInsightsWindow, string> = {
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
  '90d': 'Last 90 days',
};

const dayFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  timeZone: 'UTC',
});

/** `1 May 2024 – 30 May 2024`: `to` is exclusive, so its last day is shown. */
export function formatWindowRange(from: string, to: string): string {
  const start = Date.parse(from);
  const end = Date.parse(to) - 1;
  if (Number.isNaN(start) || Number.isNaN(end)) {
    return `${from} – ${to}`;
  }
  return `${dayFormat.format(start)} – ${dayFormat.format(end)}`;
}

function uniqueSorted(values: Array<string | undefined>): string[] {
  return [...new Set(values.filter((v): v is string => !!v))].sort((a, b) =>
    a.localeCompare(b),
  );
}

/** `prev` with `more` added, or `prev` itself when nothing is new. */
function merge(prev: string[], more: string[]): string[] {
  const next = uniqueSorted([...prev, ...more]);
  return next.length === prev.length ? prev : next;
}

/** Props of {@link CiInsightsHeader}. */
export interface CiInsightsHeaderProps {
  entityRef: CompoundEntityRef;
  /** Branches to offer besides the default, e.g. those of loaded runs. */
  branchesSeen?: string[];
  /** Workflows to offer, e.g. those of loaded runs. */
  workflowsSeen?: string[];
}

/**
 * The health header of the CI tab: a window, workflow and branch-set picker,
 * the figures of the window beside the previous one, and, folded away so
 * that the runs below stay in view, charts and rankings.
 */
export function CiInsightsHeader(props: CiInsightsHeaderProps) {
  const api = useApi(ciExperienceApiRef);
  const [window, setWindow] = useState<CiInsightsWindow>(
    DEFAULT_INSIGHTS_WINDOW,
  );
  const [workflow, setWorkflow] = useState('');
  // Empty: the default branch of each source.
  const [branches, setBranches] = useState<string[]>([]);
  const [expanded, setExpanded] = useState(false);

  const refKey = stringifyEntityRef(props.entityRef);
  const branchKey = JSON.stringify(branches);
  const { value, loading, error, retry } =
    useAsyncRetry(async (): Promise<CiInsightsResponse> => {
      return api.getInsights(props.entityRef, {
        window,
        workflow: workflow || undefined,
        branches: branches.length > 0 ? branches : undefined,
      });
      // eslint-disable-next-line react-hooks/exhaustive-deps
    }, [api, refKey, window, workflow, branchKey]);
  // Remembered so that the pickers keep their options while another
  // window loads or fails.
  const [counted, setCounted] = useState<string[]>([]);
  const [workflowsKnown, setWorkflowsKnown] = useState<string[]>([]);
  useEffect(() => {
    if (value) {
      setCounted(prev => merge(prev, value.branches));
      setWorkflowsKnown(prev =>
        merge(
          prev,
          value.workflows.map(w => w.workflow),
        ),
      );
    }
  }, [value]);

  const defaultBranches = branches.length === 0 ? value?.branches : undefined;
  const branchOptions = uniqueSorted([
    ...(props.branchesSeen ?? []),
    ...counted,
    ...branches,
  ]);
  const workflowOptions = uniqueSorted([
    ...(props.workflowsSeen ?? []),
    ...workflowsKnown,
    workflow,
  ]);

  let scope = '';
  if (value) {
    const where =
      value.branches.length > 0 ? ` on ${value.branches.join(', ')}` : '';
    const days = Math.round(
      (Date.parse(value.window.to) - Date.parse(value.window.from)) /
        86_400_000,
    );
    scope = `${formatWindowRange(value.window.from, value.window.to)}${where}${
      value.workflow ? `, workflow ${value.workflow}` : ''
    }; arrows compare with the previous ${days} ${
      days === 1 ? 'day' : 'days'
    }.`;
  }

  return (
    <Paper variant="outlined" component="section" aria-label="CI health">
      <Box p={2}>
        <Box display="flex" flexWrap="wrap" alignItems="flex-end" mb={1}>
          <Box mr={2} mb={1} flexGrow={1}>
            <Typography variant="h6" component="h2">
              CI health
            </Typography>
            <Typography variant="caption" color="textSecondary">
              {scope || '\u00a0'}
            </Typography>
          </Box>
          <Box mr={2} mb={1} minWidth={140}>
            <TextField
              id="ci-insights-window"
              label="Window"
              select
              fullWidth
              SelectProps={{ native: true }}
              InputLabelProps={{ shrink: true }}
              value={window}
              onChange={event =>
                setWindow(String(event.target.value) as CiInsightsWindow)
              }
            >
              {CI_INSIGHTS_WINDOWS.map(option => (
                <option key={option} value={option}>
                  {WINDOW_LABELS[option]}
                </option>
              ))}
            </TextField>
          </Box>
          <Box mr={2} mb={1} minWidth={160}>
            <TextField
              id="ci-insights-workflow"
              label="Workflows"
              select
              fullWidth
              SelectProps={{ native: true }}
              InputLabelProps={{ shrink: true }}
              value={workflow}
              onChange={event => setWorkflow(String(event.target.value))}
            >
              <option value="">All workflows</option>
              {workflowOptions.map(option => (
                <option key={option} value={option}>
                  {option}
                </option>
              ))}
            </TextField>
          </Box>
          <Box mb={1} minWidth={220} maxWidth={420}>
            <Autocomplete
              multiple
              size="small"
              id="ci-insights-branches"
              options={branchOptions}
              value={branches}
              onChange={(_event, next) => setBranches(next)}
              filterSelectedOptions
              renderInput={params => (
                <TextField
                  {...params}
                  label="Branches"
                  InputLabelProps={{ shrink: true }}
                  placeholder={
                    branches.length === 0
                      ? `Default branch${
                          defaultBranches?.length
                            ? ` (${defaultBranches.join(', ')})`
                            : ''
                        }`
                      : undefined
                  }
                />
              )}
            />
          </Box>
        </Box>
        {loading ? (
          <LinearProgress aria-label="Loading CI health" />
        ) : (
          <Box height={4} />
        )}
        {error && (
          <Box mt={1} mb={1}>
            <Alert
              severity="error"
              action={
                <Button color="inherit" size="small" onClick={retry}>
                  Retry
                </Button>
              }
            >
              {`Could not load the CI health: ${errorMessage(error)}`}
            </Alert>
          </Box>
        )}
        {value && !error && (
          <>
            <Box mt={1}>
              <CiFigureTiles
                current={value.current}
                previous={value.previous}
                minSample={value.minSample}
              />
            </Box>
            <Box mt={1}>
              <Accordion
                expanded={expanded}
                onChange={(_event, next) => setExpanded(next)}
                TransitionProps={{ unmountOnExit: true }}
                elevation={0}
                variant="outlined"
              >
                <AccordionSummary aria-controls="ci-insights-details">
                  <Typography variant="body2">
                    {expanded
                      ? 'Hide charts and rankings'
                      : 'Show charts and rankings'}
                  </Typography>
                </AccordionSummary>
                <AccordionDetails id="ci-insights-details">
                  <Box width="100%">
                    <CiInsightsCharts insights={value} />
                    <Box mt={2}>
                      <CiInsightsRankings
                        flakiestWorkflows={value.flakiestWorkflows}
                        flakiestJobs={value.flakiestJobs}
                        slowestJobs={value.slowestJobs}
                        mostFailingJobs={value.mostFailingJobs}
                      />
                    </Box>
                  </Box>
                </AccordionDetails>
              </Accordion>
            </Box>
          </>
        )}
      </Box>
    </Paper>
  );
}
