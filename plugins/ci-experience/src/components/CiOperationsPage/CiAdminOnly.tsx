import { usePermission } from '@backstage/plugin-permission-react';
import { ciAdminReadPermission } from '@ci-experience/plugin-ci-experience-common';
import { ReactNode } from 'react';

/**
 * Renders its children only for those granted `ci-experience.admin.read`,
 * e.g. the CI operations item of an app's sidebar.
 *
 * @public
 */
export function CiAdminOnly(props: { children?: ReactNode }) {
  const { allowed } = usePermission({ permission: ciAdminReadPermission });
  return allowed ? <>{props.children}</> : null;
}
