import { LoggerService } from '@backstage/backend-plugin-api';
import {
  ANNOTATION_LOCATION,
  ANNOTATION_SOURCE_LOCATION,
  Entity,
  parseLocationRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import {
  CiSyncError,
  compileGlob,
  Glob,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiProvider,
  CiSource,
  CiSourceRepository,
} from '@ci-experience/plugin-ci-experience-node';

/**
 * One entry of `ciExperience.sources.allow`: sources of `provider` (on
 * `host`, when given) whose name matches the `source` glob.
 */
export interface SourceAllowRule {
  /** A provider id, as in `CiRun.provider`, e.g. `gitlab`. */
  provider: string;
  /** The source's host, e.g. `gitlab.example.com`; any when absent. */
  host?: string;
  /** A glob over `CiRun.source` (`*` any run of characters, `/` included). */
  source: string;
}

/** Whether an entity may have a source synced, served and acted on. */
export type SourceVerdict =
  | { allowed: true }
  | { allowed: false; error: CiSyncError };

/** The config key adopters set; named in every refusal. */
export const SOURCES_ALLOW_KEY = 'ciExperience.sources.allow';

const PROVIDER_ID = /^[a-z0-9-]{1,64}$/;
const MAX_PATTERN_LENGTH = 512;

interface CompiledRule {
  provider: string;
  host?: string;
  source: Glob;
}

/** A location's repository part: its URL's host and path. */
function locationUrl(
  ref: string | undefined,
): { type: string; host?: string; path?: string } | undefined {
  if (!ref) {
    return undefined;
  }
  try {
    const { type, target } = parseLocationRef(ref);
    if (type !== 'url') {
      return { type };
    }
    const url = new URL(target);
    return {
      type,
      host: url.host.toLocaleLowerCase('en-US'),
      path: decodeURIComponent(url.pathname)
        .replace(/^\/+|\/+$/g, '')
        .toLocaleLowerCase('en-US'),
    };
  } catch {
    return undefined;
  }
}

/** Whether a location URL lies in a repository (its root or below it). */
function isIn(
  location: { host?: string; path?: string },
  repository: CiSourceRepository,
): boolean {
  if (!location.host || location.path === undefined) {
    return false;
  }
  const path = repository.path
    .replace(/^\/+|\/+$/g, '')
    .toLocaleLowerCase('en-US');
  if (!path || location.host !== repository.host.toLocaleLowerCase('en-US')) {
    return false;
  }
  return [path, `${path}.git`].some(
    root => location.path === root || location.path!.startsWith(`${root}/`),
  );
}

/**
 * Decides which sources an entity's annotations may reach: an annotation is
 * text anyone who can register an entity writes, while the backend reads
 * the source with the portal's own credentials (an org-wide token or
 * GitHub App). A source is allowed when
 *
 * - it is the repository the entity is defined in: the catalog's
 *   `backstage.io/managed-by-location` (set by the catalog, not by the
 *   entity's author) lies in it; `backstage.io/source-location` counts only
 *   for entities read from the backend's own disk (`file:` locations, which
 *   the portal's operators write), since in a repository anyone who may
 *   change the entity may point it anywhere; or
 * - an entry of `ciExperience.sources.allow` matches it (catalogs kept in
 *   one central repository, and CI systems whose sources name pipelines or
 *   jobs rather than repositories: Jenkins, Buildkite).
 *
 * A bad entry is logged and skipped (it allows nothing), never fatal.
 */
export class SourcePolicy {
  /** What the config said of a source: every listing asks again. */
  private readonly byConfig = new Map<string, boolean>();

  private constructor(private readonly rules: CompiledRule[]) {}

  static fromConfig(
    config: Config,
    logger: Pick<LoggerService, 'warn'>,
  ): SourcePolicy {
    const rules: SourceAllowRule[] = [];
    const entries = config.getOptional<unknown>(SOURCES_ALLOW_KEY);
    if (entries !== undefined && !Array.isArray(entries)) {
      logger.warn(
        `Ignored ${SOURCES_ALLOW_KEY}: expected a list of { provider, host?, source }; only sources in the repository that defines their entity are synced`,
      );
      return new SourcePolicy([]);
    }
    (entries ?? []).forEach((entry, index) => {
      const problem = SourcePolicy.problemOf(entry);
      if (problem) {
        logger.warn(
          `Ignored ${SOURCES_ALLOW_KEY}[${index}]: ${problem}; it allows nothing`,
        );
        return;
      }
      rules.push(entry as SourceAllowRule);
    });
    return SourcePolicy.fromRules(rules);
  }

  static fromRules(rules: SourceAllowRule[]): SourcePolicy {
    return new SourcePolicy(
      rules.map(rule => ({
        provider: rule.provider,
        ...(rule.host ? { host: rule.host.toLocaleLowerCase('en-US') } : {}),
        source: compileGlob(rule.source),
      })),
    );
  }

  private static problemOf(entry: unknown): string | undefined {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
      return 'expected { provider, host?, source }';
    }
    const { provider, host, source, ...rest } = entry as Record<
      string,
      unknown
    >;
    const unknownKeys = Object.keys(rest);
    if (unknownKeys.length > 0) {
      return `unknown key ${unknownKeys.join(
        ', ',
      )} (expected provider, host, source)`;
    }
    if (typeof provider !== 'string' || !PROVIDER_ID.test(provider)) {
      return 'provider must be a provider id such as github-actions or gitlab';
    }
    if (
      typeof source !== 'string' ||
      !source.trim() ||
      source.length > MAX_PATTERN_LENGTH
    ) {
      return `source must be a pattern of 1 to ${MAX_PATTERN_LENGTH} characters`;
    }
    if (host !== undefined && (typeof host !== 'string' || !host.trim())) {
      return 'host must be a host name';
    }
    return undefined;
  }

  /** Whether `entity` may reach `source`, and why not when it may not. */
  check(
    source: CiSource,
    entity: Entity,
    provider: Pick<CiProvider, 'repositoryOf'> | undefined,
  ): SourceVerdict {
    if (this.allowedByConfig(source)) {
      return { allowed: true };
    }
    const repository = provider?.repositoryOf?.(source);
    const annotations = entity.metadata.annotations ?? {};
    const definedAt = locationUrl(annotations[ANNOTATION_LOCATION]);
    const locations = [definedAt];
    if (definedAt?.type === 'file') {
      locations.push(locationUrl(annotations[ANNOTATION_SOURCE_LOCATION]));
    }
    if (
      repository &&
      locations.some(location => location && isIn(location, repository))
    ) {
      return { allowed: true };
    }
    const name = `${source.provider} source ${source.source}${
      source.host ? ` on ${source.host}` : ''
    }`;
    const why = repository
      ? `it is not the repository ${stringifyEntityRef(entity)} is defined in`
      : `${
          source.provider
        } sources name no repository to compare with where ${stringifyEntityRef(
          entity,
        )} is defined`;
    return {
      allowed: false,
      error: {
        name: 'NotAllowedError',
        message: `The ${name} is not synced for this entity: ${why}, and no ${SOURCES_ALLOW_KEY} entry allows it`,
      },
    };
  }

  private allowedByConfig(source: CiSource): boolean {
    const id = `${source.provider}\n${source.host ?? ''}\n${source.source}`;
    const known = this.byConfig.get(id);
    if (known !== undefined) {
      return known;
    }
    const host = source.host?.toLocaleLowerCase('en-US');
    const allowed = this.rules.some(
      rule =>
        rule.provider === source.provider &&
        (rule.host === undefined || rule.host === host) &&
        rule.source.matches(source.source),
    );
    if (this.byConfig.size >= 50_000) {
      this.byConfig.clear();
    }
    this.byConfig.set(id, allowed);
    return allowed;
  }
}
