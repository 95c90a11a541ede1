import { CI_RUN_STATUSES } from '@ci-experience/plugin-ci-experience-common';
import { z } from 'zod';

/** A source name: letters, digits and `._/-`, up to 200 characters. */
export const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;

const status = z.enum(CI_RUN_STATUSES as unknown as [string, ...string[]]);
/** ISO 8601 with a time zone; the mapping makes it canonical. */
const instant = z.string().max(40);
const text = (max: number) => z.string().min(1).max(max);
/** A link people follow from the portal: http or https only. */
const link = z
  .string()
  .max(2048)
  .url()
  .regex(/^https?:\/\//i, 'must be an http(s) URL');

const stepSchema = z.object({
  name: text(256),
  status,
  startedAt: instant.optional(),
  finishedAt: instant.optional(),
});

const jobSchema = z.object({
  id: text(128),
  name: text(256),
  status,
  url: link.optional(),
  startedAt: instant.optional(),
  finishedAt: instant.optional(),
  runnerName: text(256).optional(),
  steps: z.array(stepSchema).max(500).optional(),
});

/**
 * What a CI posts to `POST /api/ci-experience/webhooks/ci-events`: one run
 * as it is now (every post replaces the run's state; a later state never
 * goes back to an earlier one). docs/providers/ci-events.md documents it.
 */
export const ciEventSchema = z.object({
  /** The sender's id of this post; a retried post with the same id is a duplicate. */
  deliveryId: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/)
    .optional(),
  source: z.string().regex(SOURCE_NAME),
  run: z.object({
    id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/),
    number: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    attempt: z.number().int().positive().max(1000).default(1),
    workflow: text(256),
    status,
    providerStatus: text(64).optional(),
    url: link,
    branch: text(256).optional(),
    commitSha: z
      .string()
      .regex(/^[0-9a-f]{7,64}$/i)
      .optional(),
    commitMessage: z.string().max(4096).optional(),
    actor: text(256).optional(),
    event: text(64).optional(),
    createdAt: instant,
    startedAt: instant.optional(),
    finishedAt: instant.optional(),
    jobs: z.array(jobSchema).max(500).optional(),
  }),
});

/** One posted run. */
export type CiEvent = z.infer<typeof ciEventSchema>;
