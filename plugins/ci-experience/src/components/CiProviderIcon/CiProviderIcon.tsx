import { ReactElement } from 'react';
import { providerLabel } from '../../lib/format';

// Simple marks drawn here rather than the providers' logos (trademarks, and
// no icon package is a dependency): a distinct shape and colour per
// provider is enough to tell rows apart at a glance. The name is always
// there for screen readers and on hover.
const MARKS: Record<string, ReactElement> = {
  // A play button: a workflow run.
  'github-actions': (
    <>
      <rect x="0.5" y="0.5" width="15" height="15" rx="3.5" fill="#2088FF" />
      <path d="M6 4.5v7l5.5-3.5z" fill="#fff" />
    </>
  ),
  // The tanuki's outline: two ears and a chin.
  gitlab: <path d="M8 15L1 8.5 2.6 1.5 5 7h6l2.4-5.5L15 8.5z" fill="#FC6D26" />,
  // A red badge with a J.
  jenkins: (
    <>
      <circle cx="8" cy="8" r="7.5" fill="#D33833" />
      <path
        d="M9.6 4v5.2c0 1.5-.9 2.3-2.2 2.3-.9 0-1.6-.4-2-1.1l1-.7c.2.4.5.6.9.6.5 0 .8-.3.8-1V4z"
        fill="#fff"
      />
    </>
  ),
  // Two green slanted blocks.
  buildkite: (
    <>
      <path d="M1 3l6 3v7L1 10z" fill="#14CC80" />
      <path d="M9 6l6-3v7l-6 3z" fill="#0B8F59" />
    </>
  ),
  // A ring around a dot.
  circleci: (
    <>
      <circle
        cx="8"
        cy="8"
        r="6.25"
        fill="none"
        stroke="#343434"
        strokeWidth="2.5"
      />
      <circle cx="8" cy="8" r="2" fill="#343434" />
    </>
  ),
};

// Any other provider: a neutral gear-like mark.
const GENERIC = (
  <>
    <circle
      cx="8"
      cy="8"
      r="6"
      fill="none"
      stroke="#757575"
      strokeWidth="2"
      strokeDasharray="3 1.7"
    />
    <circle cx="8" cy="8" r="2.2" fill="#757575" />
  </>
);

/** Whether the icon has a mark of its own for `provider`. */
export function hasProviderMark(provider: string): boolean {
  return Object.prototype.hasOwnProperty.call(MARKS, provider);
}

/**
 * A small mark of a run's provider (`github-actions`, `gitlab`, `jenkins`,
 * `buildkite`, `circleci`; a generic mark for any other), labelled with the
 * provider's name.
 */
export function CiProviderIcon(props: { provider: string; size?: number }) {
  const { provider, size = 16 } = props;
  const label = providerLabel(provider);
  const own = hasProviderMark(provider);
  return (
    <svg
      role="img"
      aria-label={label}
      data-provider={own ? provider : 'generic'}
      width={size}
      height={size}
      viewBox="0 0 16 16"
      style={{ flexShrink: 0, verticalAlign: 'text-bottom' }}
    >
      <title>{label}</title>
      {own ? MARKS[provider] : GENERIC}
    </svg>
  );
}
