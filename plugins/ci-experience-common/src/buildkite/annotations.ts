import { Entity } from '@backstage/catalog-model';

/**
 * The annotation Roadie's Backstage Buildkite plugin
 * (`@roadiehq/backstage-plugin-buildkite`, its `BUILDKITE_ANNOTATION`) reads:
 * `org-slug/pipeline-slug`, e.g. `acme/payments-service`. Entities annotated
 * for that plugin work unchanged.
 *
 * @public
 */
export const BUILDKITE_PROJECT_SLUG_ANNOTATION = 'buildkite.com/project-slug';

/**
 * This plugin's own name for the same value (`org-slug/pipeline-slug`),
 * kept for entities annotated before {@link BUILDKITE_PROJECT_SLUG_ANNOTATION}
 * was read. Both may be given; their pipelines are read once each.
 *
 * @public
 */
export const BUILDKITE_PIPELINE_SLUG_ANNOTATION = 'buildkite.com/pipeline-slug';

/**
 * The annotations that make an entity show Buildkite builds.
 *
 * @public
 */
export const BUILDKITE_CI_ANNOTATIONS: readonly string[] = [
  BUILDKITE_PROJECT_SLUG_ANNOTATION,
  BUILDKITE_PIPELINE_SLUG_ANNOTATION,
];

/**
 * A Buildkite pipeline as an entity names it.
 *
 * @public
 */
export interface BuildkitePipelineRef {
  /** The organization slug, e.g. `acme`. */
  organization: string;
  /** The pipeline slug, e.g. `payments-service`. */
  pipeline: string;
}

/** Buildkite slugs: letters, digits, `-`, `_` and `.`; no `..`, no spaces. */
const SLUG = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

/**
 * Splits a `buildkite.com/project-slug` (or `pipeline-slug`) value into organization and pipeline
 * slugs. Returns undefined for anything but exactly `org/pipeline` (a URL,
 * more or fewer segments, `..`, spaces).
 *
 * @public
 */
export function parseBuildkitePipelineSlug(
  value: string | undefined,
): BuildkitePipelineRef | undefined {
  const trimmed = value?.trim();
  if (!trimmed) {
    return undefined;
  }
  const parts = trimmed.split('/');
  if (parts.length !== 2) {
    return undefined;
  }
  const [organization, pipeline] = parts;
  if (
    !SLUG.test(organization) ||
    !SLUG.test(pipeline) ||
    organization.includes('..') ||
    pipeline.includes('..')
  ) {
    return undefined;
  }
  return { organization, pipeline };
}

/**
 * The pipelines an entity names: one per comma-separated value of
 * `buildkite.com/project-slug` (Roadie's) and `buildkite.com/pipeline-slug`,
 * in that order (malformed values are left out, duplicates once).
 *
 * @public
 */
export function getBuildkitePipelineRefs(
  entity: Entity,
): BuildkitePipelineRef[] {
  const annotations = entity.metadata.annotations ?? {};
  const raw = BUILDKITE_CI_ANNOTATIONS.map(a => annotations[a] ?? '')
    .filter(v => v.trim())
    .join(',');
  if (!raw) {
    return [];
  }
  const out: BuildkitePipelineRef[] = [];
  for (const part of raw.split(',')) {
    const ref = parseBuildkitePipelineSlug(part);
    if (
      ref &&
      !out.some(
        r =>
          r.organization.toLowerCase() === ref.organization.toLowerCase() &&
          r.pipeline.toLowerCase() === ref.pipeline.toLowerCase(),
      )
    ) {
      out.push(ref);
    }
  }
  return out;
}

/**
 * Whether an entity carries a Buildkite annotation.
 *
 * @public
 */
export function hasBuildkiteAnnotation(entity: Entity): boolean {
  const annotations = entity.metadata.annotations ?? {};
  return BUILDKITE_CI_ANNOTATIONS.some(a => Boolean(annotations[a]?.trim()));
}
