import { Entity } from '@backstage/catalog-model';
import { ApiHolder, useApi } from '@backstage/core-plugin-api';
import { hasCiAnnotation } from '@ci-experience/plugin-ci-experience-common';
import { useEffect, useState } from 'react';
import { CiExperienceApi, ciExperienceApiRef } from '../api';

/**
 * Whether an entity names a CI source: a built-in provider's annotation at
 * once, else one of the annotations the backend's providers declare
 * (providers added by modules), asked once per page load.
 */
export async function entityHasCi(
  entity: Entity,
  api: Pick<CiExperienceApi, 'getAnnotations'> | undefined,
): Promise<boolean> {
  if (hasCiAnnotation(entity)) {
    return true;
  }
  if (!api?.getAnnotations) {
    return false;
  }
  const { annotations } = await api.getAnnotations();
  const own = entity.metadata.annotations ?? {};
  return annotations.some(name => Boolean(own[name]?.trim()));
}

/**
 * For a legacy `EntitySwitch.Case`'s `if`: like `isCiExperienceAvailable`,
 * and also true for an entity that names a source of a provider added by a
 * backend module (asked of the backend).
 *
 * @public
 */
export async function hasCiExperience(
  entity: Entity,
  context: { apis: ApiHolder },
): Promise<boolean> {
  return entityHasCi(entity, context.apis.get(ciExperienceApiRef));
}

/** {@link entityHasCi} in a component: undefined while the backend answers. */
export function useHasCi(entity: Entity): boolean | undefined {
  const api = useApi(ciExperienceApiRef);
  const builtIn = hasCiAnnotation(entity);
  const [answer, setAnswer] = useState<{ entity: Entity; has: boolean }>();
  useEffect(() => {
    if (builtIn) return undefined;
    let current = true;
    entityHasCi(entity, api).then(
      has => current && setAnswer({ entity, has }),
      () => current && setAnswer({ entity, has: false }),
    );
    return () => {
      current = false;
    };
  }, [api, entity, builtIn]);
  if (builtIn) return true;
  return answer?.entity === entity ? answer.has : undefined;
}
