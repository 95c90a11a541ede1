import { parseEntityRef } from '@backstage/catalog-model';
import { CiRollupItem } from '@ci-experience/plugin-ci-experience-common';

/**
 * Worst first, as the backend orders them: health ascending, then
 * components with CI but no run in the window, then those without CI; ties
 * by name. Sorted here too so that the order never rests on the transport.
 */
export function sortRollupItems(items: CiRollupItem[]): CiRollupItem[] {
  const rank = (item: CiRollupItem) => {
    if (!item.hasCi) {
      return 2;
    }
    return item.health === undefined ? 1 : 0;
  };
  return [...items].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.health ?? 0) - (b.health ?? 0) ||
      a.entityRef.localeCompare(b.entityRef),
  );
}

/** `/catalog/default/component/payments/ci`: the CI tab of the component. */
export function ciTabPath(entityRef: string): string {
  const ref = parseEntityRef(entityRef, {
    defaultKind: 'component',
    defaultNamespace: 'default',
  });
  return `/${[
    'catalog',
    ref.namespace.toLocaleLowerCase('en-US'),
    ref.kind.toLocaleLowerCase('en-US'),
    ref.name,
    'ci',
  ]
    .map(encodeURIComponent)
    .join('/')}`;
}

/** The name to show: the title, else the name, namespaced when not default. */
export function rollupItemName(item: CiRollupItem): string {
  if (item.title) {
    return item.title;
  }
  const ref = parseEntityRef(item.entityRef, {
    defaultKind: 'component',
    defaultNamespace: 'default',
  });
  return ref.namespace === 'default'
    ? ref.name
    : `${ref.namespace}/${ref.name}`;
}
