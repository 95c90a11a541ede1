import { Knex } from 'knex';

/** Whether a knex client talks to PostgreSQL (else SQLite here). */
export function isPostgres(knex: Knex): boolean {
  const client = String(knex.client.config?.client ?? '');
  return client === 'pg' || client.includes('postgres');
}
