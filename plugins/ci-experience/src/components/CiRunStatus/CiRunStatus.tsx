import {
  StatusAborted,
  StatusError,
  StatusOK,
  StatusPending,
  StatusRunning,
  StatusWarning,
} from '@backstage/core-components';
import { CiRunStatus as CiRunStatusValue } from '@ci-experience/plugin-ci-experience-common';
import { PropsWithChildren, ReactElement } from 'react';

type StatusIcon = (props: PropsWithChildren<{}>) => ReactElement;

// Cancelled and skipped runs are both "did not finish normally" and shown
// grey, like the provider pages do; neither is a failure, so not red.
const ICONS: Record<CiRunStatusValue, StatusIcon> = {
  queued: StatusPending,
  running: StatusRunning,
  succeeded: StatusOK,
  failed: StatusError,
  cancelled: StatusAborted,
  skipped: StatusAborted,
};

const LABELS: Record<CiRunStatusValue, string> = {
  queued: 'Queued',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
  skipped: 'Skipped',
};

/** The display word of a status; unknown values are shown as they are. */
export function ciRunStatusLabel(status: string): string {
  return LABELS[status as CiRunStatusValue] ?? status;
}

/**
 * A status icon followed by the status word. The word is always there so
 * that the status does not rely on colour alone.
 */
export function CiRunStatus(props: { status: CiRunStatusValue }) {
  // A status the backend adds later must not crash the page; a warning icon
  // says "look at this" without claiming success or failure.
  const Icon = ICONS[props.status] ?? StatusWarning;
  return <Icon>{ciRunStatusLabel(props.status)}</Icon>;
}
