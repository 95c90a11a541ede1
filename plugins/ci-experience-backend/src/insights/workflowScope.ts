import { Entity } from '@backstage/catalog-model';
import {
  getWorkflowPatterns,
  matchesWorkflowPattern,
} from '@ci-experience/plugin-ci-experience-common';
import { InsightsService } from './InsightsService';

/**
 * The workflow names an entity owns in a monorepo (names resolved from
 * `ci-experience.io/workflows`, by name or file); undefined: all of its
 * sources' workflows.
 */
export async function workflowScopeOf(
  insights: Pick<InsightsService, 'workflowsOf'>,
  entity: Entity,
  sourceKeys: string[],
): Promise<string[] | undefined> {
  const patterns = getWorkflowPatterns(entity);
  if (!patterns) {
    return undefined;
  }
  const known = await insights.workflowsOf(sourceKeys);
  return [
    ...new Set(
      known
        .filter(
          k =>
            matchesWorkflowPattern(k.workflow, patterns) ||
            (k.workflowPath !== undefined &&
              matchesWorkflowPattern(k.workflowPath, patterns)),
        )
        .map(k => k.workflow),
    ),
  ].sort();
}
