import { Knex } from 'knex';

/** One quarantined test of an entity. */
export interface Quarantine {
  entityRef: string;
  testId: string;
  sourceKey: string;
  reason: string;
  expiresAt: string;
  createdBy: string;
  createdAt: string;
}

/** A quarantine with its test's identity, for CI steps. */
export interface QuarantinedTest extends Quarantine {
  suite: string;
  classname: string;
  name: string;
  file: string;
}

/** Quarantined tests (docs/tests.md). Expired ones are never answered. */
export interface QuarantineStore {
  /** Quarantines a test, or renews its quarantine. */
  put(q: Quarantine): Promise<void>;
  /** Lifts a quarantine; answers whether there was one. */
  remove(entityRef: string, testId: string): Promise<boolean>;
  /** An entity's active quarantines, soonest to expire first. */
  listForEntity(entityRef: string, now: string): Promise<QuarantinedTest[]>;
  /** The active quarantines of tests of these sources. */
  listForSources(sourceKeys: string[], now: string): Promise<QuarantinedTest[]>;
  /**
   * Quarantines that expired and were not noticed yet: marked lapsed and
   * answered (for their owners to be told), at most `limit`.
   */
  lapse(now: string, limit: number): Promise<QuarantinedTest[]>;
}

type Row = {
  entity_ref: string;
  test_id: string;
  source_key: string;
  reason: string;
  expires_at: string;
  created_by: string;
  created_at: string;
  suite: string;
  classname: string;
  name: string;
  file: string;
};

const COLUMNS = [
  'q.entity_ref',
  'q.test_id',
  'q.source_key',
  'q.reason',
  'q.expires_at',
  'q.created_by',
  'q.created_at',
  't.suite',
  't.classname',
  't.name',
  't.file',
];

function fromRow(row: Row): QuarantinedTest {
  return {
    entityRef: row.entity_ref,
    testId: row.test_id,
    sourceKey: row.source_key,
    reason: row.reason,
    expiresAt: row.expires_at,
    createdBy: row.created_by,
    createdAt: row.created_at,
    suite: row.suite,
    classname: row.classname,
    name: row.name,
    file: row.file,
  };
}

/** {@link QuarantineStore} on the plugin's database. */
export class KnexQuarantineStore implements QuarantineStore {
  constructor(private readonly db: Knex) {}

  async put(q: Quarantine): Promise<void> {
    await this.db('ci_test_quarantines')
      .insert({
        entity_ref: q.entityRef,
        test_id: q.testId,
        source_key: q.sourceKey,
        reason: q.reason,
        expires_at: q.expiresAt,
        created_by: q.createdBy,
        created_at: q.createdAt,
        lapsed_at: null,
      })
      .onConflict(['entity_ref', 'test_id'])
      .merge([
        'reason',
        'expires_at',
        'created_by',
        'created_at',
        'lapsed_at',
        'source_key',
      ]);
  }

  async remove(entityRef: string, testId: string): Promise<boolean> {
    const n = await this.db('ci_test_quarantines')
      .where({ entity_ref: entityRef, test_id: testId })
      .delete();
    return n > 0;
  }

  private active(now: string) {
    return this.db('ci_test_quarantines as q')
      .join('ci_tests as t', 't.id', 'q.test_id')
      .where('q.expires_at', '>', now)
      .select(COLUMNS);
  }

  async listForEntity(
    entityRef: string,
    now: string,
  ): Promise<QuarantinedTest[]> {
    const rows: Row[] = await this.active(now)
      .where('q.entity_ref', entityRef)
      .orderBy([
        { column: 'q.expires_at', order: 'asc' },
        { column: 'q.test_id', order: 'asc' },
      ]);
    return rows.map(fromRow);
  }

  async listForSources(
    sourceKeys: string[],
    now: string,
  ): Promise<QuarantinedTest[]> {
    if (sourceKeys.length === 0) return [];
    const rows: Row[] = await this.active(now)
      .whereIn('q.source_key', sourceKeys)
      .orderBy([
        { column: 't.suite', order: 'asc' },
        { column: 't.classname', order: 'asc' },
        { column: 't.name', order: 'asc' },
      ]);
    return rows.map(fromRow);
  }

  async lapse(now: string, limit: number): Promise<QuarantinedTest[]> {
    return this.db.transaction(async tx => {
      const rows: Row[] = await tx('ci_test_quarantines as q')
        .join('ci_tests as t', 't.id', 'q.test_id')
        .where('q.expires_at', '<=', now)
        .whereNull('q.lapsed_at')
        .orderBy('q.expires_at')
        .limit(limit)
        .select(COLUMNS);
      for (const row of rows) {
        // Only if still unnoticed: another replica may have taken it.
        const n = await tx('ci_test_quarantines')
          .where({ entity_ref: row.entity_ref, test_id: row.test_id })
          .whereNull('lapsed_at')
          .update({ lapsed_at: now });
        if (n === 0) row.entity_ref = '';
      }
      return rows.filter(r => r.entity_ref !== '').map(fromRow);
    });
  }
}
