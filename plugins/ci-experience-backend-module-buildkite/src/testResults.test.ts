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
import docsArtifacts from './__fixtures__/docs-build-artifacts.json';
import { zipOf } from '@ci-experience/plugin-ci-experience-node/testUtils';
import { BuildkiteProvider } from './BuildkiteProvider';

const TOKEN = 'bkua_test_secret_token_0123456789';
const API = 'https://api.buildkite.com/v2';
// The organization, pipeline and build of the docs' example (see
// __fixtures__/README.md).
const BUILD = `${API}/organizations/my-great-org/pipelines/my-pipeline/builds/1`;
/** Where the download redirects: the docs' example URL, without its signature. */
const S3 =
  'https://buildkiteartifacts.com/artifacts/2196c80a1ff393a88482aebe929f9648';

const server = setupServer();
registerMswTestHooks(server);

const source = {
  provider: 'buildkite',
  key: 'buildkite:api.buildkite.com/my-great-org/my-pipeline',
  source: 'my-great-org/my-pipeline',
  host: 'api.buildkite.com',
};
const run = {
  providerRunId: '1',
  attempt: 1,
  runNumber: 1,
  workflow: 'my-pipeline',
  url: 'https://buildkite.com/my-great-org/my-pipeline/builds/1',
};

const junit = fs.readFileSync(
  path.join(__dirname, '__fixtures__', 'junit', 'go-junit-report.xml'),
);
const pytestZip = zipOf([
  {
    name: 'pytest-raw.xml',
    data: fs.readFileSync(
      path.join(__dirname, '__fixtures__', 'junit', 'pytest-raw.xml'),
    ),
  },
]);

const [finished, uploading] = docsArtifacts;

/**
 * An artifact of the docs' example with other values: its path (and the
 * `dirname`, `filename` and `mime_type` the agent gives that path), id,
 * size and state.
 */
function artifact(
  from: (typeof docsArtifacts)[number],
  values: { id: string; path: string; size: number; state?: string },
) {
  const slash = values.path.lastIndexOf('/');
  const url = `${BUILD}/jobs/${from.job_id}/artifacts/${values.id}`;
  return {
    ...from,
    id: values.id,
    url,
    download_url: `${url}/download`,
    state: values.state ?? from.state,
    path: values.path,
    dirname: values.path.slice(0, Math.max(0, slash)),
    filename: values.path.slice(slash + 1),
    // buildkite/agent's internal/mime table.
    mime_type: values.path.endsWith('.zip') ? 'application/zip' : 'text/xml',
    file_size: values.size,
  };
}

const id = (n: number) =>
  `00000000-0000-4000-a000-${String(n).padStart(12, '0')}`;

/**
 * A Buildkite that lists `pages` of artifacts for build 1 and serves
 * `files` by artifact id through the redirect to S3. Every request is
 * logged with the Authorization it carried.
 */
function fakeBuildkite(options: {
  pages: any[][];
  files: Record<string, Buffer | (() => Response)>;
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
      `${API}/organizations/:org/pipelines/:pipeline/builds/:number/artifacts`,
      ({ request, params }) => {
        if (params.number !== '1') {
          return HttpResponse.json({ message: 'Not Found' }, { status: 404 });
        }
        const page = Number(new URL(request.url).searchParams.get('page') ?? 1);
        const last = options.pages.length;
        const link = (n: number) =>
          `<${BUILD}/artifacts?page=${n}&per_page=100>`;
        return HttpResponse.json(options.pages[page - 1] ?? [], {
          headers:
            page < last
              ? {
                  link: `${link(page + 1)}; rel="next", ${link(
                    last,
                  )}; rel="last"`,
                }
              : {},
        });
      },
    ),
    http.get(
      `${API}/organizations/:org/pipelines/:pipeline/builds/:number/jobs/:job/artifacts/:id/download`,
      ({ params }) => {
        const artifactId = String(params.id);
        if (!(artifactId in options.files)) {
          return HttpResponse.json({ message: 'Not Found' }, { status: 404 });
        }
        // The URL is in the body and in Location (Buildkite's docs).
        const url = `${S3}/${artifactId}`;
        return HttpResponse.json(
          { url },
          { status: 302, headers: { location: url } },
        );
      },
    ),
    http.get(`${S3}/:id`, ({ params }) => {
      const file = options.files[String(params.id)];
      if (typeof file === 'function') {
        return file();
      }
      return new HttpResponse(file, {
        headers: { 'content-length': String(file.length) },
      });
    }),
  );
  return {
    requests,
    downloads: () =>
      requests
        .map(r => new URL(r.url).pathname)
        .filter(p => p.endsWith('/download'))
        .map(p => p.split('/').at(-2)),
  };
}

const context = (artifactGlobs: string[], maxBytes = 50 * 1024 * 1024) => ({
  jobs: [],
  artifactGlobs,
  maxBytes,
});

const createProvider = (logger = mockServices.logger.mock()) =>
  new BuildkiteProvider({ apiToken: TOKEN, logger });

describe('BuildkiteProvider test results', () => {
  afterEach(() => {
    server.events.removeAllListeners();
  });

  it('downloads finished .xml and .zip artifacts whose paths match, with their media types, through the redirect without the token on S3', async () => {
    const bk = fakeBuildkite({
      pages: [
        [
          artifact(finished, {
            id: id(1),
            path: 'test-results/go-junit-report.xml',
            size: junit.length,
          }),
          // The docs' own: a finished tarball, neither XML nor zip.
          finished,
          artifact(finished, {
            id: id(2),
            path: 'test-results/pytest.zip',
            size: pytestZip.length,
          }),
          artifact(finished, {
            id: id(3),
            path: 'coverage/cobertura.xml',
            size: 10,
          }),
        ],
      ],
      files: {
        [id(1)]: junit,
        [finished.id]: Buffer.from('not read'),
        [id(2)]: pytestZip,
        [id(3)]: Buffer.from('not read'),
      },
    });
    const results = await createProvider().getTestResults(
      source,
      run,
      context(['test-results/*', 'dist/*']),
    );
    expect(results).toEqual({
      reports: [
        {
          name: 'test-results/go-junit-report.xml',
          mediaType: 'application/xml',
          data: expect.any(Uint8Array),
        },
        {
          name: 'test-results/pytest.zip',
          mediaType: 'application/zip',
          data: expect.any(Uint8Array),
        },
      ],
    });
    const { reports } = results as { reports: any[] };
    expect(Buffer.from(reports[0].data).equals(junit)).toBe(true);
    expect(Buffer.from(reports[1].data).equals(pytestZip)).toBe(true);
    expect(bk.requests).toEqual([
      {
        url: `${BUILD}/artifacts?per_page=100`,
        authorization: `Bearer ${TOKEN}`,
      },
      {
        url: `${BUILD}/jobs/${finished.job_id}/artifacts/${id(1)}/download`,
        authorization: `Bearer ${TOKEN}`,
      },
      { url: `${S3}/${id(1)}`, authorization: null },
      {
        url: `${BUILD}/jobs/${finished.job_id}/artifacts/${id(2)}/download`,
        authorization: `Bearer ${TOKEN}`,
      },
      { url: `${S3}/${id(2)}`, authorization: null },
    ]);
  });

  it('skips unfinished artifacts and those past maxBytes, by the listed size, and keeps to maxBytes in total', async () => {
    const logger = mockServices.logger.mock();
    const bk = fakeBuildkite({
      pages: [
        [
          artifact(finished, {
            id: id(1),
            path: 'junit/a.xml',
            size: junit.length,
          }),
          // Still uploading, as the docs' second artifact: small enough
          // to fit, skipped for its state alone.
          artifact(uploading, {
            id: id(2),
            path: 'junit/b.xml',
            size: 1,
          }),
          artifact(finished, {
            id: id(3),
            path: 'junit/huge.xml',
            size: 10 * 1024 * 1024,
          }),
          artifact(finished, {
            id: id(4),
            path: 'junit/c.zip',
            size: pytestZip.length,
          }),
        ],
      ],
      files: {
        [id(1)]: junit,
        [id(2)]: junit,
        [id(3)]: junit,
        [id(4)]: pytestZip,
      },
    });
    const maxBytes = junit.length + pytestZip.length - 1;
    const results = await createProvider(logger).getTestResults(
      source,
      run,
      context(['junit/*'], maxBytes),
    );
    expect((results as { reports: any[] }).reports.map(r => r.name)).toEqual([
      'junit/a.xml',
    ]);
    expect(bk.downloads()).toEqual([id(1)]);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('Skipped artifact junit/huge.xml'),
    );
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('Skipped artifact junit/c.zip'),
    );

    const both = await createProvider().getTestResults(
      source,
      run,
      context(['junit/*'], maxBytes + 1),
    );
    expect((both as { reports: any[] }).reports.map(r => r.name)).toEqual([
      'junit/a.xml',
      'junit/c.zip',
    ]);
  });

  it('stops a download that proves longer than the listing said, at the bytes left', async () => {
    const logger = mockServices.logger.mock();
    let sent = 0;
    fakeBuildkite({
      pages: [
        [artifact(finished, { id: id(1), path: 'junit/big.xml', size: 100 })],
      ],
      files: {
        [id(1)]: () =>
          new HttpResponse(
            new ReadableStream({
              pull(controller) {
                if (sent >= 8 * 1024 * 1024) {
                  controller.close();
                  return;
                }
                const chunk = new TextEncoder().encode(
                  '<testcase/>'.repeat(6000),
                );
                sent += chunk.byteLength;
                controller.enqueue(chunk);
              },
            }),
          ),
      },
    });
    const results = await createProvider(logger).getTestResults(
      source,
      run,
      context(['junit/*'], 256 * 1024),
    );
    expect(results).toBeUndefined();
    expect(sent).toBeLessThan(8 * 1024 * 1024);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('Stopped reading artifact junit/big.xml'),
    );
  });

  it('reads every page of the listing', async () => {
    const bk = fakeBuildkite({
      pages: [
        [finished],
        [
          artifact(finished, {
            id: id(1),
            path: 'junit/report.xml',
            size: junit.length,
          }),
        ],
      ],
      files: { [id(1)]: junit },
    });
    const results = await createProvider().getTestResults(
      source,
      run,
      context(['*.xml']),
    );
    expect((results as { reports: any[] }).reports.map(r => r.name)).toEqual([
      'junit/report.xml',
    ]);
    expect(bk.requests.map(r => r.url).slice(0, 2)).toEqual([
      `${BUILD}/artifacts?per_page=100`,
      `${BUILD}/artifacts?page=2&per_page=100`,
    ]);
  });

  it('answers undefined when no artifact matches, without downloading', async () => {
    const bk = fakeBuildkite({
      pages: [docsArtifacts],
      files: {},
    });
    const provider = createProvider();
    // The docs' artifacts: a tarball, and a PNG still uploading.
    await expect(
      provider.getTestResults(source, run, context(['*'])),
    ).resolves.toBeUndefined();
    await expect(
      provider.getTestResults(source, run, context([])),
    ).resolves.toBeUndefined();
    // A build Buildkite does not have, and attempts Buildkite does not make.
    await expect(
      provider.getTestResults(
        source,
        { ...run, providerRunId: '2' },
        context(['*']),
      ),
    ).resolves.toBeUndefined();
    await expect(
      provider.getTestResults(source, { ...run, attempt: 2 }, context(['*'])),
    ).resolves.toBeUndefined();
    expect(bk.downloads()).toEqual([]);
  });

  it('never sends the token to a download URL outside the API', async () => {
    const logger = mockServices.logger.mock();
    const bk = fakeBuildkite({
      pages: [
        [
          {
            ...artifact(finished, {
              id: id(1),
              path: 'junit/a.xml',
              size: 10,
            }),
            download_url: 'https://evil.example.com/download',
          },
        ],
      ],
      files: {},
    });
    await expect(
      createProvider(logger).getTestResults(source, run, context(['junit/*'])),
    ).resolves.toBeUndefined();
    expect(bk.requests.map(r => r.url)).toEqual([
      `${BUILD}/artifacts?per_page=100`,
    ]);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('not the API'),
    );
  });

  it('spends its requests through the per-host budget of the module', async () => {
    const limited = jest.spyOn(RateLimiter.prototype, 'run');
    fakeBuildkite({
      pages: [
        [finished],
        [artifact(finished, { id: id(1), path: 'junit/a.xml', size: 1 })],
      ],
      files: { [id(1)]: junit },
    });
    const provider = createProvider();
    const before = provider.api.limiter().remainingBudget;
    await provider.getTestResults(source, run, context(['junit/*']));
    // Two pages of the listing and one download (its redirect included).
    expect(limited).toHaveBeenCalledTimes(3);
    expect(provider.api.limiter().remainingBudget).toBe(before - 3);
    limited.mockRestore();
  });

  it('names read_artifacts when a download is refused, never the token', async () => {
    fakeBuildkite({
      pages: [
        [artifact(finished, { id: id(1), path: 'junit/a.xml', size: 1 })],
      ],
      files: {},
    });
    server.use(
      http.get(
        `${API}/organizations/:org/pipelines/:pipeline/builds/:number/jobs/:job/artifacts/:id/download`,
        () => HttpResponse.json({ message: 'Forbidden' }, { status: 403 }),
      ),
    );
    const error = await createProvider()
      .getTestResults(source, run, context(['junit/*']))
      .catch(e => e);
    expect(error).toBeInstanceOf(NotAllowedError);
    expect(error.message).toContain('read_artifacts');
    expect(error.message).not.toContain(TOKEN);
  });
});
