import { createHmac } from 'node:crypto';
import { SimJob, SimRunAttempt } from '../history';
import { BuildkiteSimulator, SimBuildkitePipeline } from './BuildkiteSimulator';

/** The build events Buildkite sends to a pipeline webhook. */
export type BuildkiteBuildEvent =
  | 'build.scheduled'
  | 'build.running'
  | 'build.failing'
  | 'build.finished';

/** The job events Buildkite sends to a pipeline webhook. */
export type BuildkiteJobEvent =
  | 'job.scheduled'
  | 'job.started'
  | 'job.finished'
  | 'job.activated';

function sender(run: SimRunAttempt) {
  const name = run.actor.replace(/\[bot\]$/, '-bot');
  return { id: `sender-${name}`, name };
}

/**
 * The body of a build webhook (`X-Buildkite-Event: build.*`) for a simulated
 * run: `{ event, build, pipeline, sender }`, the build in its REST shape, as
 * Buildkite's "Pipelines webhooks" page describes the build events.
 */
export function buildkiteBuildWebhook(
  sim: BuildkiteSimulator,
  pipeline: SimBuildkitePipeline,
  run: SimRunAttempt,
  event: BuildkiteBuildEvent,
) {
  const build = sim.buildJson(pipeline, run);
  const { pipeline: pipelineJson, ...rest } = build;
  return {
    event,
    build: rest,
    pipeline: { ...sim.pipelineJson(pipeline), ...pipelineJson },
    sender: sender(run),
  };
}

/**
 * The body of a job webhook (`X-Buildkite-Event: job.*`) for one job of a
 * simulated run: `{ event, job, build, pipeline, sender }`.
 */
export function buildkiteJobWebhook(
  sim: BuildkiteSimulator,
  pipeline: SimBuildkitePipeline,
  run: SimRunAttempt,
  job: SimJob,
  event: BuildkiteJobEvent,
) {
  const body = buildkiteBuildWebhook(sim, pipeline, run, 'build.running');
  return {
    event,
    job: sim.jobJson(pipeline, run, job, run.jobs.indexOf(job)),
    build: body.build,
    pipeline: body.pipeline,
    sender: body.sender,
  };
}

/**
 * The `X-Buildkite-Signature` value for a body: `timestamp=<t>,signature=<hex
 * HMAC-SHA256 of "<t>.<body>">`, keyed with the webhook's token.
 */
export function signBuildkitePayload(
  secret: string,
  body: string,
  timestampSeconds: number,
): string {
  const signature = createHmac('sha256', secret)
    .update(`${timestampSeconds}.${body}`)
    .digest('hex');
  return `timestamp=${timestampSeconds},signature=${signature}`;
}

/**
 * The headers of one delivery: `X-Buildkite-Event`, and either the token in
 * `X-Buildkite-Token` or a signature in `X-Buildkite-Signature`.
 */
export function buildkiteWebhookHeaders(
  event: string,
  body: string,
  auth: { token: string } | { signingSecret: string; now?: number },
): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'Buildkite-Request',
    'x-buildkite-event': event,
  };
  if ('token' in auth) {
    headers['x-buildkite-token'] = auth.token;
  } else {
    headers['x-buildkite-signature'] = signBuildkitePayload(
      auth.signingSecret,
      body,
      Math.floor((auth.now ?? Date.now()) / 1000),
    );
  }
  return headers;
}
