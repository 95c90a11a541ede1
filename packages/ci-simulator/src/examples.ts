/**
 * Response shapes taken from GitHub's published OpenAPI description
 * (`@octokit/openapi`, `components.examples`), so the simulator answers with
 * the fields and nesting GitHub really sends.
 */

type Json = Record<string, any>;

let cached: Record<string, Json> | undefined;

function examples(): Record<string, Json> {
  if (!cached) {
    // eslint-disable-next-line @backstage/no-relative-monorepo-imports
    const spec = require('@octokit/openapi/generated/api.github.com.json');
    const all = spec.components.examples;
    cached = {
      workflowRun: all['workflow-run'].value,
      job: all.job.value,
      repository: all['full-repository'].value,
      artifact: all['artifact-paginated'].value.artifacts[0],
    };
  }
  return cached;
}

/** A fresh copy of GitHub's example of one published shape. */
export function example(
  name: 'workflowRun' | 'job' | 'repository' | 'artifact',
): Json {
  return structuredClone(examples()[name]);
}
