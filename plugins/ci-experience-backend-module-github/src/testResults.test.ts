import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { NotAllowedError } from '@backstage/errors';
import { RateLimiter } from '@ci-experience/plugin-ci-experience-node';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import fs from 'node:fs';
import path from 'node:path';
import { createProvider, TOKEN } from './__testUtils__/github';
import { zipOf } from '@ci-experience/plugin-ci-experience-node/testUtils';

// GitHub's published artifact examples (see __fixtures__/README.md).
const spec = require('@octokit/openapi/generated/api.github.com.json');

const example: { total_count: number; artifacts: any[] } =
  spec.components.examples['artifact-paginated'].value;
const [rails, testOutput] = example.artifacts;

const server = setupServer();
registerMswTestHooks(server);

const API = 'https://api.github.com';
const REPO = 'demo-org/payments-service';
const RUN_ID = 2332938;
/** Where GitHub redirects an artifact download, as a run's log showed it. */
const blobUrl = (id: number) =>
  `https://productionresultssa11.blob.core.windows.net/actions-results/d36c0da9-bddf-4304-930c-3a9c19761e29/workflow-job-run-503d6785-1bb7-5030-4530-fd16ab4c18d8/artifacts/${String(
    id,
  ).padStart(64, '0')}.zip`;

const source = {
  provider: 'github-actions',
  key: `github-actions:github.com/${REPO}`,
  source: REPO,
  host: 'github.com',
};
const run = {
  providerRunId: String(RUN_ID),
  attempt: 1,
  runNumber: 562,
  workflow: 'Build',
  url: `https://github.com/${REPO}/actions/runs/${RUN_ID}`,
};

const junit = (name: string) =>
  fs.readFileSync(path.join(__dirname, '__fixtures__', 'junit', name));
const goZip = zipOf([
  { name: 'go-junit-report.xml', data: junit('go-junit-report.xml') },
]);
const pytestZip = zipOf([
  { name: 'reports/pytest-raw.xml', data: junit('pytest-raw.xml') },
]);

/** An artifact of the published example with other values. */
const artifact = (
  from: any,
  values: { id: number; name: string; size: number; expired?: boolean },
) => ({
  ...from,
  id: values.id,
  name: values.name,
  size_in_bytes: values.size,
  expired: values.expired ?? false,
  url: `${API}/repos/${REPO}/actions/artifacts/${values.id}`,
  archive_download_url: `${API}/repos/${REPO}/actions/artifacts/${values.id}/zip`,
});

/**
 * A GitHub that lists `pages` of artifacts for the run and serves `zips`
 * by artifact id through the redirect to blob storage. Every request is
 * logged with the Authorization it carried.
 */
function fakeGithub(options: {
  pages: any[][];
  zips: Record<number, Buffer | (() => Response)>;
}) {
  const requests: Array<{ url: string; authorization: string | null }> = [];
  server.events.on('request:start', ({ request }) => {
    requests.push({
      url: request.url,
      authorization: request.headers.get('authorization'),
    });
  });
  server.use(
    http.get(
      `${API}/repos/:owner/:repo/actions/runs/:runId/artifacts`,
      ({ request, params }) => {
        if (params.runId !== String(RUN_ID)) {
          return HttpResponse.json(
            {
              message: 'Not Found',
              documentation_url:
                'https://docs.github.com/rest/actions/artifacts#list-workflow-run-artifacts',
            },
            { status: 404 },
          );
        }
        const page = Number(new URL(request.url).searchParams.get('page') ?? 1);
        const last = options.pages.length;
        const link = (n: number) =>
          `<${API}/repos/${REPO}/actions/runs/${RUN_ID}/artifacts?per_page=100&page=${n}>`;
        return HttpResponse.json(
          {
            total_count: options.pages.flat().length,
            artifacts: options.pages[page - 1] ?? [],
          },
          {
            headers:
              page < last
                ? {
                    link: `${link(page + 1)}; rel="next", ${link(
                      last,
                    )}; rel="last"`,
                  }
                : {},
          },
        );
      },
    ),
    http.get(
      `${API}/repos/:owner/:repo/actions/artifacts/:id/zip`,
      ({ params }) => {
        const id = Number(params.id);
        if (!(id in options.zips)) {
          return HttpResponse.json(
            {
              message: 'Artifact has expired',
              documentation_url:
                'https://docs.github.com/rest/actions/artifacts#download-an-artifact',
            },
            { status: 410 },
          );
        }
        return new HttpResponse(null, {
          status: 302,
          headers: { location: blobUrl(id) },
        });
      },
    ),
    http.get(
      'https://productionresultssa11.blob.core.windows.net/actions-results/*',
      ({ request }) => {
        const id = Number(
          new URL(request.url).pathname.match(/(\d+)\.zip$/)?.[1],
        );
        const zip = options.zips[id];
        if (typeof zip === 'function') {
          return zip();
        }
        return new HttpResponse(zip, {
          headers: {
            'content-type': 'application/zip',
            'content-length': String(zip.length),
          },
        });
      },
    ),
  );
  return {
    requests,
    paths: () => requests.map(r => new URL(r.url).pathname),
  };
}

const context = (artifactGlobs: string[], maxBytes = 50 * 1024 * 1024) => ({
  jobs: [],
  artifactGlobs,
  maxBytes,
});

describe('GithubActionsProvider test results', () => {
  afterEach(() => {
    server.events.removeAllListeners();
  });

  it('downloads the artifacts whose names match as zips, through the redirect, without the token on the blob host', async () => {
    const gh = fakeGithub({
      pages: [
        [
          artifact(rails, { id: 11, name: 'Rails', size: 556 }),
          artifact(testOutput, {
            id: 13,
            name: 'Test output',
            size: goZip.length,
          }),
        ],
      ],
      zips: { 11: Buffer.from('not read'), 13: goZip },
    });
    const results = await createProvider().getTestResults(
      source,
      run,
      context(['Test *', '*junit*']),
    );
    expect(results).toEqual({
      reports: [
        {
          name: 'Test output',
          mediaType: 'application/zip',
          data: expect.any(Uint8Array),
        },
      ],
    });
    const [report] = (results as { reports: any[] }).reports;
    expect(Buffer.from(report.data).equals(goZip)).toBe(true);
    expect(gh.requests).toEqual([
      {
        url: `${API}/repos/${REPO}/actions/runs/${RUN_ID}/artifacts?per_page=100`,
        authorization: `Bearer ${TOKEN}`,
      },
      {
        url: `${API}/repos/${REPO}/actions/artifacts/13/zip`,
        authorization: `Bearer ${TOKEN}`,
      },
      { url: blobUrl(13), authorization: null },
    ]);
  });

  it('skips expired artifacts and those past maxBytes, by the listed size, and keeps to maxBytes in total', async () => {
    const logger = mockServices.logger.mock();
    const gh = fakeGithub({
      pages: [
        [
          artifact(testOutput, {
            id: 21,
            name: 'test-results-linux',
            size: goZip.length,
          }),
          // Small enough to fit: skipped for having expired alone.
          artifact(testOutput, {
            id: 22,
            name: 'test-results-windows',
            size: 1,
            expired: true,
          }),
          artifact(testOutput, {
            id: 23,
            name: 'test-results-macos',
            size: 10 * 1024 * 1024,
          }),
          artifact(testOutput, {
            id: 24,
            name: 'test-results-arm',
            size: pytestZip.length,
          }),
          artifact(rails, { id: 25, name: 'coverage', size: 10 }),
        ],
      ],
      zips: { 21: goZip, 22: goZip, 23: goZip, 24: pytestZip, 25: goZip },
    });
    // Room for the first report and not for the last one after it.
    const maxBytes = goZip.length + pytestZip.length - 1;
    const results = await createProvider(logger).getTestResults(
      source,
      run,
      context(['*test*'], maxBytes),
    );
    expect((results as { reports: any[] }).reports.map(r => r.name)).toEqual([
      'test-results-linux',
    ]);
    expect(gh.paths().filter(p => p.endsWith('/zip'))).toEqual([
      `/repos/${REPO}/actions/artifacts/21/zip`,
    ]);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('Skipped artifact test-results-macos'),
    );
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('Skipped artifact test-results-arm'),
    );

    // With room for both, both are read.
    const both = await createProvider().getTestResults(
      source,
      run,
      context(['*test*'], maxBytes + 1),
    );
    expect((both as { reports: any[] }).reports.map(r => r.name)).toEqual([
      'test-results-linux',
      'test-results-arm',
    ]);
    expect(
      Buffer.from((both as { reports: any[] }).reports[1].data).equals(
        pytestZip,
      ),
    ).toBe(true);
  });

  it('stops a download that proves longer than the listing said, at the bytes left', async () => {
    const logger = mockServices.logger.mock();
    let sent = 0;
    fakeGithub({
      pages: [[artifact(testOutput, { id: 31, name: 'test-big', size: 100 })]],
      zips: {
        // No Content-Length: the size shows only while reading.
        31: () =>
          new HttpResponse(
            new ReadableStream({
              pull(controller) {
                if (sent >= 8 * 1024 * 1024) {
                  controller.close();
                  return;
                }
                const chunk = new Uint8Array(64 * 1024);
                sent += chunk.byteLength;
                controller.enqueue(chunk);
              },
            }),
            { headers: { 'content-type': 'application/zip' } },
          ),
      },
    });
    const results = await createProvider(logger).getTestResults(
      source,
      run,
      context(['test-*'], 256 * 1024),
    );
    expect(results).toBeUndefined();
    expect(sent).toBeLessThan(8 * 1024 * 1024);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('Stopped reading artifact test-big'),
    );
  });

  it('refuses a download whose Content-Length is past the bytes left, before reading it', async () => {
    const logger = mockServices.logger.mock();
    fakeGithub({
      pages: [[artifact(testOutput, { id: 32, name: 'test-small', size: 1 })]],
      zips: { 32: goZip },
    });
    const results = await createProvider(logger).getTestResults(
      source,
      run,
      context(['test-*'], goZip.length - 1),
    );
    expect(results).toBeUndefined();
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('Stopped reading artifact test-small'),
    );
  });

  it('reads every page of the listing', async () => {
    const gh = fakeGithub({
      pages: [
        [artifact(rails, { id: 11, name: 'Rails', size: 556 })],
        [
          artifact(testOutput, {
            id: 13,
            name: 'Test output',
            size: pytestZip.length,
          }),
        ],
      ],
      zips: { 13: pytestZip },
    });
    const results = await createProvider().getTestResults(
      source,
      run,
      context(['Test*']),
    );
    expect((results as { reports: any[] }).reports.map(r => r.name)).toEqual([
      'Test output',
    ]);
    expect(gh.requests.map(r => r.url).slice(0, 2)).toEqual([
      `${API}/repos/${REPO}/actions/runs/${RUN_ID}/artifacts?per_page=100`,
      `${API}/repos/${REPO}/actions/runs/${RUN_ID}/artifacts?per_page=100&page=2`,
    ]);
  });

  it('answers undefined when no artifact matches, without downloading', async () => {
    const gh = fakeGithub({
      pages: [[rails, testOutput]],
      zips: { 11: goZip, 13: goZip },
    });
    const provider = createProvider();
    await expect(
      provider.getTestResults(source, run, context(['*junit*', '*test*'])),
    ).resolves.toBeUndefined();
    await expect(
      provider.getTestResults(source, run, context([])),
    ).resolves.toBeUndefined();
    // A run GitHub does not have.
    await expect(
      provider.getTestResults(
        source,
        { ...run, providerRunId: '999' },
        context(['*']),
      ),
    ).resolves.toBeUndefined();
    expect(gh.paths().some(p => p.endsWith('/zip'))).toBe(false);
  });

  it('skips an artifact that expired since the listing (410)', async () => {
    fakeGithub({
      pages: [
        [
          artifact(testOutput, { id: 41, name: 'test-gone', size: 10 }),
          artifact(testOutput, {
            id: 42,
            name: 'test-here',
            size: goZip.length,
          }),
        ],
      ],
      zips: { 42: goZip },
    });
    const results = await createProvider().getTestResults(
      source,
      run,
      context(['test-*']),
    );
    expect((results as { reports: any[] }).reports.map(r => r.name)).toEqual([
      'test-here',
    ]);
  });

  it('spends its requests through the per-host budget of the module', async () => {
    const limited = jest.spyOn(RateLimiter.prototype, 'run');
    fakeGithub({
      pages: [
        [rails],
        [artifact(testOutput, { id: 13, name: 'Test output', size: 1 })],
      ],
      zips: { 13: goZip },
    });
    const provider = createProvider();
    const before = provider.api.limiter('github.com').remainingBudget;
    await provider.getTestResults(source, run, context(['Test*']));
    // Two pages of the listing and one download (its redirect included).
    expect(limited).toHaveBeenCalledTimes(3);
    expect(provider.api.limiter('github.com').remainingBudget).toBe(before - 3);
    limited.mockRestore();
  });

  it('says which permission a refused download needs, never the token', async () => {
    fakeGithub({
      pages: [[artifact(testOutput, { id: 13, name: 'Test output', size: 1 })]],
      zips: {},
    });
    server.use(
      http.get(`${API}/repos/:owner/:repo/actions/artifacts/:id/zip`, () =>
        HttpResponse.json(
          { message: 'Resource not accessible by integration' },
          { status: 403 },
        ),
      ),
    );
    const error = await createProvider()
      .getTestResults(source, run, context(['Test*']))
      .catch(e => e);
    expect(error).toBeInstanceOf(NotAllowedError);
    expect(error.message).toContain('Resource not accessible by integration');
    expect(error.message).toContain('actions: read');
    expect(error.message).not.toContain(TOKEN);
  });
});
