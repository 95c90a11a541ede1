/* eslint-disable jest/no-export, jest/no-conditional-expect, no-loop-func -- a test kit: it exports the tests it defines, and what it expects depends on the run at hand */
import { Entity } from '@backstage/catalog-model';
import { EventParams } from '@backstage/plugin-events-node';
import {
  CI_RUN_STATUSES,
  isFinalStatus,
} from '@ci-experience/plugin-ci-experience-common';
import {
  CiProvider,
  CiProviderRun,
  CiSource,
  isCanonicalInstant,
} from '@ci-experience/plugin-ci-experience-node';

/**
 * How {@link describeCiProviderContract} reaches a provider and a fake of
 * its API.
 *
 * @public
 */
export interface CiProviderContractOptions {
  /** Creates the provider under test, talking to the fake; called per test. */
  createProvider(): CiProvider | Promise<CiProvider>;
  /**
   * An entity whose annotations name at least one source that has runs in
   * the fake (after `seed`), some of them finished.
   */
  entity: Entity;
  /** Puts runs in the fake, when it does not start with some. */
  seed?(provider: CiProvider): Promise<void>;
  /**
   * Makes the fake answer every request with this HTTP status until
   * `reset`. Without it, the failure tests are skipped.
   */
  failWith?(status: number): void;
  /** Undoes `failWith`; called after every test. */
  reset?(): void;
  /** The provider's secrets: no error message may contain one. */
  secrets?: string[];
  /** A provider run id the fake does not have. Default `'987654321'`. */
  unknownRunId?: string;
  /**
   * Deliveries the webhook part must apply (for a source of `entity`).
   * Without them only the refusal of malformed deliveries is tested.
   */
  deliveries?: EventParams[];
}

/** A thrown value's name, for the error tests. */
const nameOf = (e: unknown) => (e instanceof Error ? e.name : typeof e);

/** Reads every page (at most 10) of a source's runs. */
async function listAll(provider: CiProvider, source: CiSource) {
  const runs: CiProviderRun[] = [];
  let page: string | undefined;
  for (let i = 0; i < 10; i++) {
    const listed = await provider.listRuns(source, { page });
    runs.push(...listed.runs);
    page = listed.nextPage;
    if (!page) {
      break;
    }
  }
  return runs;
}

function expectCanonical(value: string | undefined, what: string) {
  if (value !== undefined && !isCanonicalInstant(value)) {
    throw new Error(`${what} ${value} is not a canonical instant`);
  }
}

/**
 * The behaviour every CI provider shares, as Jest tests: call it at the top
 * level of a test file with a provider and a fake of its API. It checks
 * that the provider names its sources only through the annotations it
 * lists; that its runs, jobs and steps have valid statuses and canonical
 * times, a finished run no unfinished job, and can each be read again by
 * id; that an unknown run is `undefined`, not an error; that refusals and
 * outages are the `@backstage/errors` the backend expects, without a
 * secret in their message; and that its webhook part refuses malformed
 * deliveries without throwing and applies good ones to the entity's source.
 *
 * @example
 * ```ts
 * describeCiProviderContract('MyCiProvider', {
 *   createProvider: () => MyCiProvider.fromConfig(config, { logger, cache }),
 *   entity: { apiVersion: 'backstage.io/v1alpha1', kind: 'Component',
 *     metadata: { name: 'svc', annotations: { 'my-ci.io/pipeline': 'svc' } } },
 *   failWith: status => fake.failWith(status),
 *   reset: () => fake.reset(),
 *   secrets: [TOKEN],
 * });
 * ```
 *
 * @public
 */
export function describeCiProviderContract(
  name: string,
  options: CiProviderContractOptions,
): void {
  describe(`${name} (CI provider contract)`, () => {
    let provider: CiProvider;
    let sources: CiSource[];

    beforeEach(async () => {
      provider = await options.createProvider();
      await options.seed?.(provider);
      sources = provider.getSources(options.entity);
    });
    afterEach(() => options.reset?.());

    it('names its sources only through the annotations it lists', () => {
      expect(provider.id).toMatch(/^[a-z0-9][a-z0-9-]*$/);
      expect(sources.length).toBeGreaterThan(0);
      const keys = sources.map(s => s.key);
      expect(new Set(keys).size).toBe(keys.length);
      for (const source of sources) {
        expect(source.provider).toBe(provider.id);
        expect(source.key.startsWith(`${provider.id}:`)).toBe(true);
        expect(source.source.length).toBeGreaterThan(0);
      }
      const listed = provider.annotations ?? [];
      expect(listed.length).toBeGreaterThan(0);
      const annotations = options.entity.metadata.annotations ?? {};
      // Without the annotations it lists, the entity names no source.
      const stripped: Entity = {
        ...options.entity,
        metadata: {
          ...options.entity.metadata,
          annotations: Object.fromEntries(
            Object.entries(annotations).filter(([k]) => !listed.includes(k)),
          ),
        },
      };
      expect(provider.getSources(stripped)).toEqual([]);
      expect(
        provider.getSources({
          ...options.entity,
          metadata: { name: options.entity.metadata.name },
        }),
      ).toEqual([]);
    });

    it('lists runs with valid statuses and canonical times, each readable by id', async () => {
      const runs = await listAll(provider, sources[0]);
      expect(runs.length).toBeGreaterThan(0);
      for (const run of runs.slice(0, 20)) {
        expect(run.providerRunId).toMatch(/\S/);
        expect(Number.isInteger(run.attempt) && run.attempt >= 1).toBe(true);
        expect(Number.isInteger(run.runNumber)).toBe(true);
        expect(CI_RUN_STATUSES).toContain(run.status);
        expect(run.providerStatus).toMatch(/\S/);
        expect(run.url).toMatch(/^https?:\/\//);
        expectCanonical(run.createdAt, 'createdAt');
        expectCanonical(run.startedAt, 'startedAt');
        expectCanonical(run.finishedAt, 'finishedAt');
        if (run.startedAt && run.finishedAt) {
          expect(Date.parse(run.finishedAt)).toBeGreaterThanOrEqual(
            Date.parse(run.startedAt),
          );
        }
        if (!isFinalStatus(run.status)) {
          expect(run.finishedAt).toBeUndefined();
        }
        const again = await provider.getRun(
          sources[0],
          run.providerRunId,
          run.attempt,
        );
        expect(again?.providerRunId).toBe(run.providerRunId);
        expect(again?.attempt).toBe(run.attempt);
        expect(again?.runNumber).toBe(run.runNumber);
      }
    });

    it('gives a finished run no unfinished job, with valid steps', async () => {
      const runs = await listAll(provider, sources[0]);
      const finished = runs.filter(r => isFinalStatus(r.status)).slice(0, 5);
      expect(finished.length).toBeGreaterThan(0);
      for (const run of finished) {
        const jobs = await provider.listJobs(sources[0], run);
        for (const job of jobs) {
          expect(job.id).toMatch(/\S/);
          expect(CI_RUN_STATUSES).toContain(job.status);
          expect(isFinalStatus(job.status)).toBe(true);
          expectCanonical(job.startedAt, 'job startedAt');
          expectCanonical(job.finishedAt, 'job finishedAt');
          for (const step of job.steps ?? []) {
            expect(CI_RUN_STATUSES).toContain(step.status);
            expect(isFinalStatus(step.status)).toBe(true);
            expectCanonical(step.startedAt, 'step startedAt');
          }
        }
      }
    });

    it('answers undefined for a run it does not have', async () => {
      await expect(
        provider.getRun(sources[0], options.unknownRunId ?? '987654321', 1),
      ).resolves.toBeUndefined();
    });

    const failures: Array<[number, string]> = [
      [401, 'AuthenticationError'],
      [403, 'NotAllowedError'],
      [503, 'ServiceUnavailableError'],
    ];
    // A provider without a remote API (one CI posts to) has no failures to fake.
    if (options.failWith) {
      it.each(failures)(
        'turns an HTTP %i into %s, no secret in its message',
        async (status, errorName) => {
          options.failWith!(status);
          const error = await provider.listRuns(sources[0], {}).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(nameOf(error)).toBe(errorName);
          const message = String((error as Error).message);
          for (const secret of options.secrets ?? []) {
            expect(message).not.toContain(secret);
          }
        },
      );
    }

    it('refuses malformed deliveries without throwing', async () => {
      const part = provider.webhook;
      if (!part) {
        return;
      }
      const lookup = async () => ({ source: sources[0].source });
      for (const eventPayload of [null, 'x', 42, [], {}, { a: { b: [] } }]) {
        for (const topic of part.topics) {
          const parsed = await part.parse(
            { topic, eventPayload, metadata: {} },
            lookup,
          );
          expect(parsed.ok).toBe(false);
        }
      }
    });

    it("applies its deliveries to the entity's sources", async () => {
      const part = provider.webhook;
      if (!part || !options.deliveries?.length) {
        return;
      }
      const keys = sources.map(s => s.key);
      for (const delivery of options.deliveries) {
        const parsed = await part.parse(delivery, async key => {
          const found = sources.find(s => s.key === key);
          return found && { source: found.source };
        });
        if (!parsed.ok) {
          throw new Error(`delivery refused: ${parsed.message}`);
        }
        expect(keys).toContain(parsed.sourceKey);
        for (const run of parsed.write.runs ?? []) {
          expect(keys).toContain(run.sourceKey);
          expect(CI_RUN_STATUSES).toContain(run.status);
        }
      }
    });
  });
}
