import {
  parseBuildkiteDelivery,
  BUILDKITE_PROVIDER_ID,
} from '@ci-experience/plugin-ci-experience-backend-module-buildkite';
import {
  GITHUB_ACTIONS_PROVIDER_ID,
  parseGithubDelivery,
} from '@ci-experience/plugin-ci-experience-backend-module-github';
import {
  GITLAB_PROVIDER_ID,
  parseGitlabDelivery,
} from '@ci-experience/plugin-ci-experience-backend-module-gitlab';
import { headerOf } from '@ci-experience/plugin-ci-experience-node';
import {
  DeliveryIngestor,
  DeliveryIngestorOptions,
} from '../providers/shared/DeliveryIngestor';

type Options = Omit<DeliveryIngestorOptions, 'provider' | 'label' | 'parse'>;

/** GitHub deliveries through the shared ingestor, as the plugin wires them. */
export class GithubWebhookIngestor extends DeliveryIngestor {
  constructor(options: Options) {
    super({
      ...options,
      provider: GITHUB_ACTIONS_PROVIDER_ID,
      label: 'GitHub',
      parse: parseGithubDelivery,
    });
  }
}

/** GitLab deliveries through the shared ingestor, as the plugin wires them. */
export class GitlabWebhookIngestor extends DeliveryIngestor {
  constructor(options: Options) {
    super({
      ...options,
      provider: GITLAB_PROVIDER_ID,
      label: 'GitLab',
      parse: parseGitlabDelivery,
    });
  }
}

/** Buildkite deliveries through the shared ingestor, as the plugin wires them. */
export class BuildkiteWebhookIngestor extends DeliveryIngestor {
  constructor(options: Options) {
    super({
      kindOf: event => headerOf(event, 'x-buildkite-event'),
      ...options,
      provider: BUILDKITE_PROVIDER_ID,
      label: 'Buildkite',
      parse: parseBuildkiteDelivery,
    });
  }
}
