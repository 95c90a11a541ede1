import { useEffect, useRef } from 'react';

/** How often the views re-ask the backend while a first sync is under way. */
export const FIRST_SYNC_POLL_INTERVAL_MS = 3000;

/**
 * Calls `poll` every `intervalMs` while `active` is true. `trigger` restarts
 * the wait, so that each poll waits for the previous answer rather than
 * piling up requests on a slow backend.
 */
export function usePollWhile(
  active: boolean,
  poll: () => void,
  trigger: unknown,
  intervalMs: number = FIRST_SYNC_POLL_INTERVAL_MS,
) {
  const pollRef = useRef(poll);
  pollRef.current = poll;

  useEffect(() => {
    if (!active) {
      return undefined;
    }
    const timer = setTimeout(() => pollRef.current(), intervalMs);
    return () => clearTimeout(timer);
  }, [active, trigger, intervalMs]);
}
