import fs from 'node:fs';
import path from 'node:path';
import { JunitError, parseJunit } from './junit';
import { readReports, readZipReports } from './reports';
import { zipOf } from '@ci-experience/plugin-ci-experience-node/testUtils';

const FIXTURES = path.join(__dirname, '__fixtures__', 'junit');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));

async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (e) {
    if (e instanceof JunitError) return { kind: e.kind, message: e.message };
    throw e;
  }
  return undefined;
}

describe('readZipReports', () => {
  it('reads every XML report of a zip, and nothing else in it', async () => {
    const zip = zipOf([
      { name: 'reports/TEST-gradle.xml', data: fixture('gradle.xml') },
      { name: 'reports/', data: Buffer.alloc(0) },
      { name: 'reports/output.txt', data: Buffer.from('not a report') },
      { name: '__MACOSX/reports/._TEST-gradle.xml', data: Buffer.from('x') },
      { name: 'pytest/junit.xml', data: fixture('pytest.xml') },
    ]);
    const cases = await readZipReports(zip);
    expect(cases).toEqual([
      ...parseJunit(fixture('gradle.xml')),
      ...parseJunit(fixture('pytest.xml')),
    ]);
  });

  it('names the entry of a malformed report', async () => {
    const zip = zipOf([
      { name: 'ok.xml', data: fixture('go-junit-report.xml') },
      { name: 'broken.xml', data: Buffer.from('<testsuite><testcase>') },
    ]);
    expect(await refusal(readZipReports(zip))).toMatchObject({
      kind: 'malformed',
      message: expect.stringMatching(/^broken\.xml: /),
    });
  });

  it('refuses what is not a zip, too many entries, and reports that inflate past the limit', async () => {
    expect(
      await refusal(readZipReports(Buffer.from('PK nothing'))),
    ).toMatchObject({
      kind: 'malformed',
      message: expect.stringMatching(/^Not a readable zip/),
    });
    const many = zipOf(
      Array.from({ length: 4 }, (_, i) => ({
        name: `r${i}.xml`,
        data: fixture('pytest-raw.xml'),
      })),
    );
    expect(await refusal(readZipReports(many, { maxEntries: 3 }))).toEqual({
      kind: 'too-large',
      message: 'More than 3 entries in the zip',
    });
    // 4 MiB of whitespace in a valid report deflates to a few KiB.
    const big = Buffer.concat([
      Buffer.from('<testsuite name="s">'),
      Buffer.alloc(4 * 1024 * 1024, ' '),
      Buffer.from('<testcase name="t"/></testsuite>'),
    ]);
    const bomb = zipOf([{ name: 'bomb.xml', data: big }]);
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(
      await refusal(
        readZipReports(bomb, { maxUncompressedBytes: 1024 * 1024 }),
      ),
    ).toMatchObject({ kind: 'too-large' });
    // Headers that claim less than the entry inflates to are caught too.
    const liar = zipOf([{ name: 'liar.xml', data: big, claimedSize: 100 }]);
    expect(
      await refusal(
        readZipReports(liar, { maxUncompressedBytes: 1024 * 1024 }),
      ),
    ).toBeDefined();
  });
});

describe('readReports', () => {
  it('merges a test reported by two files of one upload into one result', async () => {
    const failed = `<testsuite name="s"><testcase classname="c" name="t" time="1"><failure message="boom"/></testcase></testsuite>`;
    const passed = `<testsuite name="s"><testcase classname="c" name="t" time="2"/></testsuite>`;
    const zip = zipOf([
      { name: 'attempt-1.xml', data: Buffer.from(failed) },
      { name: 'attempt-2.xml', data: Buffer.from(passed) },
    ]);
    expect(await readReports(zip, 'application/zip')).toEqual([
      {
        suite: 's',
        classname: 'c',
        name: 't',
        status: 'flaky',
        durationMs: 3000,
        message: 'boom',
      },
    ]);
    expect(
      await readReports(fixture('surefire-flaky.xml'), 'application/xml'),
    ).toHaveLength(4);
  });
});
