import { LoggerService } from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { Config } from '@backstage/config';

/**
 * Per-entity branch allow-lists from `ciExperience.branchAllowList`:
 *
 * ```yaml
 * ciExperience:
 *   branchAllowList:
 *     - entity: component:default/payments-service   # or a list of refs
 *       branches: [main, 'release/*']
 *     - branches: [main, develop]                      # no entity: every other one
 * ```
 *
 * The first entry naming an entity wins; an entry without `entity` applies
 * to every entity no entry names. A bad entry is logged and skipped, never
 * fatal: a typo must not stop the portal.
 */
export class BranchAllowList {
  private constructor(
    private readonly byEntity: Map<string, string[]>,
    private readonly fallback: string[] | undefined,
  ) {}

  static empty(): BranchAllowList {
    return new BranchAllowList(new Map(), undefined);
  }

  static fromConfig(
    config: Config,
    logger: Pick<LoggerService, 'warn'>,
  ): BranchAllowList {
    const byEntity = new Map<string, string[]>();
    let fallback: string[] | undefined;
    const entries =
      config.getOptionalConfigArray('ciExperience.branchAllowList') ?? [];
    entries.forEach((entry, index) => {
      const where = `ciExperience.branchAllowList[${index}]`;
      try {
        const branches = entry
          .getStringArray('branches')
          .map(b => b.trim())
          .filter(Boolean);
        if (branches.length === 0 || branches.some(b => b.length > 512)) {
          throw new Error(
            'branches must list 1 or more names of 512 characters at most',
          );
        }
        const raw = entry.getOptional<string | string[]>('entity');
        if (raw === undefined) {
          fallback ??= branches;
          return;
        }
        const refs = [raw].flat();
        for (const ref of refs) {
          if (typeof ref !== 'string') {
            throw new Error('entity must be an entity ref or a list of them');
          }
          const key = stringifyEntityRef(
            parseEntityRef(ref, {
              defaultKind: 'component',
              defaultNamespace: 'default',
            }),
          ).toLocaleLowerCase('en-US');
          if (!byEntity.has(key)) {
            byEntity.set(key, branches);
          }
        }
      } catch (error) {
        logger.warn(
          `Ignored ${where}: ${
            (error as Error).message
          }; its entities show every branch`,
        );
      }
    });
    return new BranchAllowList(byEntity, fallback);
  }

  /** The branch patterns allowed for an entity; undefined: every branch. */
  patternsFor(entityRef: string): string[] | undefined {
    return (
      this.byEntity.get(entityRef.toLocaleLowerCase('en-US')) ?? this.fallback
    );
  }
}
