import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { describeCiProviderContract } from '@ci-experience/plugin-ci-experience-node/testUtils';
import { setupServer } from 'msw/node';
import { createGithub, createProvider, TOKEN } from './__testUtils__/github';

// The node package's contract kit, run against the GitHub provider and the
// simulator's GitHub (its faults stand for GitHub's refusals and outages):
// the same kit a third-party provider runs (docs/providers/write-a-provider.md).
const server = setupServer();
registerMswTestHooks(server);
const { github } = createGithub();

describeCiProviderContract('GithubActionsProvider', {
  createProvider: () => {
    server.use(...github.handlers());
    return createProvider();
  },
  entity: {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name: 'payments-service',
      annotations: { 'github.com/project-slug': 'demo-org/payments-service' },
    },
  },
  failWith: status =>
    github.setFault({ status, message: `simulated ${status}` }),
  reset: () => github.setFault(undefined),
  secrets: [TOKEN],
});
