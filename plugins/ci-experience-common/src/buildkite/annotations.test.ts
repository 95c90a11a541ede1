import { Entity } from '@backstage/catalog-model';
import {
  BUILDKITE_PIPELINE_SLUG_ANNOTATION,
  getBuildkitePipelineRefs,
  hasBuildkiteAnnotation,
  parseBuildkitePipelineSlug,
} from './annotations';

const entity = (annotations: Record<string, string>): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'svc', annotations },
});

describe('Buildkite annotations', () => {
  it('uses the annotation name of the Buildkite plugin', () => {
    expect(BUILDKITE_PIPELINE_SLUG_ANNOTATION).toBe(
      'buildkite.com/pipeline-slug',
    );
  });

  it('splits org-slug/pipeline-slug', () => {
    expect(parseBuildkitePipelineSlug(' acme/payments-service ')).toEqual({
      organization: 'acme',
      pipeline: 'payments-service',
    });
  });

  it.each([
    'payments-service',
    'acme/payments/extra',
    '/acme/payments',
    'acme/',
    'acme/pay ments',
    'acme/..',
    'https://buildkite.com/acme/payments',
    '',
  ])('refuses the malformed value %j', value => {
    expect(parseBuildkitePipelineSlug(value)).toBeUndefined();
  });

  it('reads comma-separated pipelines, once each, leaving out bad ones', () => {
    expect(
      getBuildkitePipelineRefs(
        entity({
          [BUILDKITE_PIPELINE_SLUG_ANNOTATION]: 'acme/a, acme/b, bad, ACME/A',
        }),
      ),
    ).toEqual([
      { organization: 'acme', pipeline: 'a' },
      { organization: 'acme', pipeline: 'b' },
    ]);
    expect(getBuildkitePipelineRefs(entity({}))).toEqual([]);
  });

  it('knows whether an entity is annotated', () => {
    expect(
      hasBuildkiteAnnotation(
        entity({ [BUILDKITE_PIPELINE_SLUG_ANNOTATION]: 'a/b' }),
      ),
    ).toBe(true);
    expect(hasBuildkiteAnnotation(entity({}))).toBe(false);
  });
});
