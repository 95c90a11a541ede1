import {
  CHECKOUT_E2E_TESTS,
  CHECKOUT_UNIT_TESTS,
  INVENTORY_INTEGRATION_TESTS,
  INVENTORY_UNIT_TESTS,
  PAYMENTS_UNIT_TESTS,
} from './demoTests';
import { SimRepoSpec } from './model';

/*
 * What the demo portal shows: its repositories, their people and commit
 * messages, and the epoch the runs' time slots are counted from.
 */

/**
 * Runs sit in fixed time slots counted from this moment, so that a restarted
 * simulator serves the same run ids, numbers and outcomes for the same times,
 * as GitHub would; only how far back it shows depends on when it started.
 */
export const TIMELINE_EPOCH = Date.UTC(2026, 0, 1);

export const ACTORS = [
  'octocat',
  'monalisa',
  'hubot',
  'dependabot[bot]',
  'mona-dev',
];
export const MESSAGES = [
  'Fix rounding of refunds in invoices',
  'Bump axios from 1.6.7 to 1.7.2',
  'Add retry to the payment gateway client',
  'Update README with local setup',
  'Speed up the integration test fixtures',
  'Handle empty carts at checkout',
  'Refactor the ledger export',
  'Pin the Node version in CI',
];

/** The demo services' repositories: what `yarn start` shows. */
export const DEMO_REPOS: SimRepoSpec[] = [
  {
    owner: 'demo-org',
    repo: 'payments-service',
    defaultBranch: 'main',
    featureBranches: [
      'feature/refunds',
      'fix/rounding',
      'dependabot/npm/axios',
    ],
    failureRate: 0.2,
    workflows: [
      {
        id: 1001,
        name: 'CI',
        file: 'ci.yml',
        jobs: [
          { name: 'lint', command: 'yarn lint', failures: ['lint'] },
          {
            name: 'test',
            command: 'yarn test --ci',
            failures: [
              'test',
              'test',
              'out-of-memory',
              'dependency-install',
              'registry',
            ],
            tests: PAYMENTS_UNIT_TESTS,
          },
          {
            name: 'build',
            command: 'yarn build',
            failures: ['timeout', 'no-space'],
          },
        ],
      },
      {
        id: 1002,
        name: 'Deploy',
        file: 'deploy.yml',
        defaultBranchOnly: true,
        jobs: [
          {
            name: 'deploy',
            command: './scripts/deploy.sh production',
            failures: ['timeout'],
          },
        ],
      },
    ],
  },
  {
    owner: 'demo-org',
    repo: 'checkout-web',
    defaultBranch: 'main',
    featureBranches: ['feature/new-cart', 'chore/eslint-9'],
    failureRate: 0.35,
    workflows: [
      {
        id: 2001,
        name: 'Build and test',
        file: 'build.yml',
        jobs: [
          {
            name: 'install',
            command: 'npm ci',
            failures: ['dependency-install', 'registry'],
          },
          {
            name: 'unit-tests',
            command: 'npm test',
            failures: ['test'],
            tests: CHECKOUT_UNIT_TESTS,
          },
          {
            name: 'e2e',
            command: 'npm run e2e',
            failures: ['test', 'timeout'],
            tests: CHECKOUT_E2E_TESTS,
          },
        ],
      },
    ],
  },
  {
    owner: 'demo-org',
    repo: 'inventory-api',
    defaultBranch: 'develop',
    featureBranches: ['feature/stock-sync'],
    failureRate: 0.1,
    workflows: [
      {
        id: 3001,
        name: 'CI',
        file: 'ci.yml',
        jobs: [
          {
            name: 'test',
            command: 'go test ./...',
            failures: ['test'],
            tests: INVENTORY_UNIT_TESTS,
          },
          {
            name: 'docker',
            command: 'docker build .',
            failures: ['timeout', 'no-space'],
          },
        ],
      },
      {
        id: 3002,
        name: 'Nightly',
        file: 'nightly.yml',
        defaultBranchOnly: true,
        jobs: [
          {
            name: 'integration',
            command: './gradlew integrationTest',
            failures: ['out-of-memory', 'test', 'gradle-daemon'],
            tests: INVENTORY_INTEGRATION_TESTS,
          },
        ],
      },
    ],
  },
  {
    owner: 'demo-org',
    repo: 'legacy-billing',
    defaultBranch: 'master',
    featureBranches: [],
    failureRate: 0.5,
    forbidden: true,
    workflows: [
      {
        id: 4001,
        name: 'CI',
        file: 'ci.yml',
        jobs: [{ name: 'build', command: 'mvn verify', failures: ['test'] }],
      },
    ],
  },
];
