import { mockServices } from '@backstage/backend-test-utils';
import {
  githubJobSchema,
  githubRunSchema,
  parseItems,
  toJob,
  toProviderRun,
} from './mapping';

// Published real examples: GitHub's OpenAPI description and webhook deliveries.
const spec = require('@octokit/openapi/generated/api.github.com.json');
const webhooks: Array<{
  name: string;
  examples: any[];
}> = require('@octokit/webhooks-examples');

describe('GitHub mapping on published examples', () => {
  it('maps the OpenAPI workflow-run example', () => {
    const example = spec.components.examples['workflow-run'].value;
    const run = toProviderRun(githubRunSchema.parse(example));
    expect(run).toMatchObject({
      providerRunId: String(example.id),
      workflow: 'Build',
      runNumber: 562,
      attempt: 1,
      status: 'queued',
      providerStatus: 'queued',
      branch: 'main',
      commitSha: example.head_sha,
      event: 'push',
      actor: 'octocat',
      url: example.html_url,
      createdAt: '2020-01-22T19:33:08.000Z',
    });
    expect(run.finishedAt).toBeUndefined();
    expect(run.durationMs).toBeUndefined();
  });

  it('maps the OpenAPI job example with its steps', () => {
    const example = spec.components.examples.job.value;
    const job = toJob(githubJobSchema.parse(example));
    expect(job).toMatchObject({
      id: String(example.id),
      name: 'build',
      status: 'succeeded',
      providerStatus: 'success',
      durationMs: 119_000,
    });
    expect(job.steps?.length).toBe(example.steps.length);
    // Step times come with an offset (-08:00); they are normalised to UTC.
    expect(job.steps?.[0].startedAt).toBe('2020-01-20T17:42:40.000Z');
  });

  it('parses every workflow_run and workflow_job in the webhook examples', () => {
    const runs = webhooks
      .find(w => w.name === 'workflow_run')!
      .examples.map(e => e.workflow_run);
    const jobs = webhooks
      .find(w => w.name === 'workflow_job')!
      .examples.map(e => e.workflow_job);
    const logger = mockServices.logger.mock();
    const parsedRuns = parseItems(githubRunSchema, runs, 'run', logger).map(
      toProviderRun,
    );
    const parsedJobs = parseItems(githubJobSchema, jobs, 'job', logger).map(
      toJob,
    );
    expect(logger.warn).not.toHaveBeenCalled();
    expect(parsedRuns).toHaveLength(runs.length);
    expect(parsedJobs).toHaveLength(jobs.length);
    const completed = parsedRuns.filter(r => r.finishedAt);
    expect(completed.length).toBeGreaterThan(0);
    for (const run of completed) {
      expect(['succeeded', 'failed', 'cancelled', 'skipped']).toContain(
        run.status,
      );
      expect(run.durationMs).toBeGreaterThanOrEqual(0);
    }
  });
});
