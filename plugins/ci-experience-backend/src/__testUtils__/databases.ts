import { TestDatabaseId } from '@backstage/backend-test-utils';

/**
 * The databases a store test runs on: SQLite always; PostgreSQL whenever
 * BACKSTAGE_TEST_DATABASE_POSTGRES<NN>_CONNECTION_STRING is set (`.ci/run`
 * sets it for the running server, with BACKSTAGE_TEST_DISABLE_DOCKER=1).
 */
export const STORE_TEST_DATABASES: TestDatabaseId[] = [
  'SQLITE_3',
  'POSTGRES_18',
  'POSTGRES_17',
  'POSTGRES_16',
  'POSTGRES_15',
  'POSTGRES_14',
  'POSTGRES_13',
];
