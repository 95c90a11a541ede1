import {
  CompoundEntityRef,
  getCompoundEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { InfoCard, Link } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import {
  CI_INSIGHTS_WINDOWS,
  CiFigure,
  CiInsightsWindow,
  CiRollupItem,
  CiRollupResponse,
  CiRunStatus as CiRunStatusValue,
} from '@ci-experience/plugin-ci-experience-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import LinearProgress from '@material-ui/core/LinearProgress';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { ReactNode, useState } from 'react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { ciExperienceApiRef } from '../../api';
import { errorMessage } from '../../lib/errors';
import {
  formatFigureDuration,
  formatHealth,
  formatPercent,
} from '../../lib/insights';
import { CiRunStatus } from '../CiRunStatus';
import { DEFAULT_INSIGHTS_WINDOW } from '../CiInsights';
import { ciTabPath, rollupItemName, sortRollupItems } from './rollup';
import { FlakyTestsRollup } from './FlakyTestsRollup';

const WINDOW_LABELS: Record<CiInsightsWindow, string> = {
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
  '90d': 'Last 90 days',
};

type RollupKind = 'group' | 'system';

function rollupKind(kind: string): RollupKind | undefined {
  const lower = kind.toLocaleLowerCase('en-US');
  if (lower === 'group' || lower === 'system') {
    return lower;
  }
  return undefined;
}

function useRollup(
  kind: RollupKind,
  entityRef: CompoundEntityRef,
  window: CiInsightsWindow,
) {
  const api = useApi(ciExperienceApiRef);
  const refKey = stringifyEntityRef(entityRef);
  return useAsyncRetry(
    async (): Promise<CiRollupResponse> =>
      kind === 'group'
        ? api.getGroupInsights(entityRef, window)
        : api.getSystemInsights(entityRef, window),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [api, kind, refKey, window],
  );
}

/** A figure of a roll-up row: greyed with its sample when below the minimum. */
function FigureCell(props: {
  figure?: CiFigure;
  format: (value: number) => string;
  minSample: number;
  /** What the sample counts. */
  noun?: 'runs' | 'commits';
}) {
  const { figure, format, minSample, noun = 'runs' } = props;
  if (figure?.value === undefined) {
    return <TableCell align="right">—</TableCell>;
  }
  if (figure.lowSample) {
    return (
      <TableCell align="right">
        <Box
          component="span"
          color="text.disabled"
          title={`too few ${noun} (${figure.sample} of ${minSample})`}
        >
          {`${format(figure.value)} (${figure.sample} of ${minSample})`}
        </Box>
      </TableCell>
    );
  }
  return <TableCell align="right">{format(figure.value)}</TableCell>;
}

function healthNote(item: CiRollupItem): string | undefined {
  if (!item.hasCi) {
    return 'no CI';
  }
  if (item.health === undefined) {
    return 'no runs';
  }
  return undefined;
}

function RollupTable(props: {
  response: CiRollupResponse;
  detailed: boolean;
  title: string;
}) {
  const { response, detailed } = props;
  const items = sortRollupItems(response.items);
  if (items.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        No components found.
      </Typography>
    );
  }
  return (
    <Table size="small" aria-label={props.title}>
      <TableHead>
        <TableRow>
          <TableCell>Component</TableCell>
          <TableCell align="right">Health</TableCell>
          <TableCell align="right">Success rate</TableCell>
          {detailed && <TableCell align="right">p95 duration</TableCell>}
          {detailed && <TableCell align="right">Flaky rate</TableCell>}
          {detailed && <TableCell>Last status</TableCell>}
          {detailed && <TableCell align="right">Runs</TableCell>}
        </TableRow>
      </TableHead>
      <TableBody>
        {items.map(item => {
          const note = healthNote(item);
          return (
            <TableRow key={item.entityRef} data-testid="ci-rollup-row">
              <TableCell>
                {item.hasCi ? (
                  <Link to={ciTabPath(item.entityRef)}>
                    {rollupItemName(item)}
                  </Link>
                ) : (
                  rollupItemName(item)
                )}
              </TableCell>
              <TableCell align="right">
                {note ? (
                  <Box component="span" color="text.secondary">
                    {note}
                  </Box>
                ) : (
                  formatHealth(item.health)
                )}
              </TableCell>
              <FigureCell
                figure={item.figures?.successRate}
                format={formatPercent}
                minSample={response.minSample}
              />
              {detailed && (
                <FigureCell
                  figure={item.figures?.durationP95}
                  format={formatFigureDuration}
                  minSample={response.minSample}
                />
              )}
              {detailed && (
                <FigureCell
                  figure={item.figures?.flakyRate}
                  format={formatPercent}
                  noun="commits"
                  minSample={response.minSample}
                />
              )}
              {detailed && (
                <TableCell>
                  {item.lastStatus ? (
                    <CiRunStatus status={item.lastStatus as CiRunStatusValue} />
                  ) : (
                    '—'
                  )}
                </TableCell>
              )}
              {detailed && (
                <TableCell align="right">
                  {item.figures?.runs.value ?? 0}
                </TableCell>
              )}
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}

function RollupView(props: {
  kind: RollupKind;
  entityRef: CompoundEntityRef;
  detailed: boolean;
  title: string;
  windowPicker?: ReactNode;
  window: CiInsightsWindow;
}) {
  const { value, loading, error, retry } = useRollup(
    props.kind,
    props.entityRef,
    props.window,
  );
  return (
    <Box>
      {loading && <LinearProgress aria-label="Loading CI health" />}
      {error && (
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
      )}
      {value && !error && (
        <RollupTable
          response={value}
          detailed={props.detailed}
          title={props.title}
        />
      )}
    </Box>
  );
}

function WindowSelect(props: {
  value: CiInsightsWindow;
  onChange: (window: CiInsightsWindow) => void;
}) {
  return (
    <TextField
      id="ci-rollup-window"
      label="Window"
      select
      SelectProps={{ native: true }}
      InputLabelProps={{ shrink: true }}
      value={props.value}
      onChange={event =>
        props.onChange(String(event.target.value) as CiInsightsWindow)
      }
    >
      {CI_INSIGHTS_WINDOWS.map(option => (
        <option key={option} value={option}>
          {WINDOW_LABELS[option]}
        </option>
      ))}
    </TextField>
  );
}

function titleOf(kind: RollupKind): string {
  return kind === 'group'
    ? 'CI health of owned components'
    : 'CI health of the components';
}

function NotApplicable() {
  return (
    <Typography variant="body2" color="textSecondary">
      CI health roll-ups are shown for groups and systems only.
    </Typography>
  );
}

/**
 * A card for Group and System pages: the components the group owns (or
 * the system holds) with their CI health over the last 30 days, worst
 * first, each linking to its CI tab.
 *
 * @public
 */
export function EntityCiRollupCard() {
  const { entity } = useEntity();
  const kind = rollupKind(entity.kind);
  const title = kind ? titleOf(kind) : 'CI health';
  return (
    <InfoCard
      title={title}
      subheader="Last 30 days on the default branch, worst first"
    >
      {kind ? (
        <RollupView
          kind={kind}
          entityRef={getCompoundEntityRef(entity)}
          detailed={false}
          title={title}
          window={DEFAULT_INSIGHTS_WINDOW}
        />
      ) : (
        <NotApplicable />
      )}
    </InfoCard>
  );
}

/**
 * A tab for Group and System pages: the components the group owns (or the
 * system holds), worst first, with health, success rate, p95 duration,
 * flaky rate, last status and runs over a chosen window.
 *
 * @public
 */
export function EntityCiRollupContent() {
  const { entity } = useEntity();
  const kind = rollupKind(entity.kind);
  const [window, setWindow] = useState<CiInsightsWindow>(
    DEFAULT_INSIGHTS_WINDOW,
  );
  if (!kind) {
    return <NotApplicable />;
  }
  const title = titleOf(kind);
  return (
    <Box display="flex" flexDirection="column" style={{ gap: 24 }}>
      <InfoCard
        title={title}
        subheader="On the default branch, worst first. Health is the success rate times (1 − flaky rate)."
        action={
          <Box mt={1} mr={1}>
            <WindowSelect value={window} onChange={setWindow} />
          </Box>
        }
      >
        <RollupView
          key={stringifyEntityRef(entity)}
          kind={kind}
          entityRef={getCompoundEntityRef(entity)}
          detailed
          title={title}
          window={window}
        />
      </InfoCard>
      <FlakyTestsRollup
        kind={kind}
        entityRef={getCompoundEntityRef(entity)}
        window={window}
      />
    </Box>
  );
}
