import fs from 'node:fs';
import path from 'node:path';
import {
  JunitError,
  JunitParser,
  mergeAttempts,
  ParsedTestCase,
  parseJunit,
} from './junit';

// Fixtures: reports real tools wrote, each with its source and the
// figures below in __fixtures__/junit/SOURCES.md.
const FIXTURES = path.join(__dirname, '__fixtures__', 'junit');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));

function counts(cases: ParsedTestCase[]) {
  const out = { passed: 0, failed: 0, error: 0, skipped: 0, flaky: 0 };
  for (const c of cases) out[c.status] += 1;
  return out;
}

describe('parseJunit on reports real tools wrote', () => {
  it.each([
    // file, passed, failed, error, skipped, flaky, a failed test, its message
    [
      'surefire-flaky.xml',
      [0, 1, 1, 0, 2],
      'failsAssertionAlways',
      'Always fails assertion ==> expected: <1> but was: <2>',
    ],
    [
      'surefire-flaky-quarkus.xml',
      [1, 0, 0, 0, 1],
      'testFlaky',
      'expected: <1> but was: <0>',
    ],
    [
      'gradle.xml',
      [1, 2, 0, 1, 0],
      'a test that fails()',
      'org.opentest4j.AssertionFailedError: this test has failed',
    ],
    [
      'pytest.xml',
      [3, 1, 0, 1, 0],
      'test_rsh_events',
      'self = <test_spark.SparkTests testMethod=test_rsh_events>',
    ],
    [
      'pytest-raw.xml',
      [1, 2, 0, 0, 0],
      'test_which_fails',
      "AssertionError: assert 'test' == 'xyz'",
    ],
    [
      'jest-junit.xml',
      [1, 4, 0, 1, 0],
      'Failing test',
      'Error: expect(received).toBeTruthy()',
    ],
    ['go-junit-report.xml', [2, 1, 0, 2, 0], 'TestOne', 'Failed'],
    [
      'bazel-test.xml',
      [6, 1, 0, 0, 0],
      'testFail',
      'This is an expected error. The test is supposed to fail.',
    ],
    [
      'xctest-junit.xml',
      [5, 2, 0, 0, 0],
      'testFailureJosh1()',
      'XCTAssertTrue failed (/Users/josh/Projects/fastlane/test-ios/TestTests/TestTests.swift#CharacterRangeLen=0&EndingLineNumber=36&StartingLineNumber=36)',
    ],
  ] as const)(
    '%s',
    (file, [passed, failed, error, skipped, flaky], name, message) => {
      const cases = parseJunit(fixture(file));
      expect(counts(cases)).toEqual({ passed, failed, error, skipped, flaky });
      const named = cases.find(c => c.name === name);
      expect(named?.message?.startsWith(message)).toBe(true);
      // The failure's text (a stack, an assertion's detail), where the
      // tool wrote one: trainer's XCTest failures carry a message only.
      expect(Boolean(named?.output)).toBe(file !== 'xctest-junit.xml');
    },
  );

  it('keeps the suite, class, file and duration of each case', () => {
    const pytest = parseJunit(fixture('pytest.xml'));
    const failed = pytest.find(c => c.status === 'failed')!;
    expect(failed).toMatchObject({
      suite: 'pytest',
      classname: 'test.test_spark.SparkTests',
      name: 'test_rsh_events',
      file: 'test/test_spark.py',
    });
    expect(failed.durationMs).toBeGreaterThan(0);
    // Bazel blanks its times (time=''): no duration, not 0.
    const bazel = parseJunit(fixture('bazel-test.xml'));
    expect(bazel.every(c => c.durationMs === undefined)).toBe(true);
    // XCTest: the case's suite is its <testsuite>, not its class.
    const xctest = parseJunit(fixture('xctest-junit.xml'));
    expect(xctest.find(c => c.name === 'testFailureJosh1()')).toMatchObject({
      suite: 'TestThisDude',
      classname: 'TestTests',
    });
  });

  it('reads a report fed in small chunks, a character split across them, as a whole', () => {
    const bytes = fixture('jest-junit.xml'); // holds '›', 3 bytes in UTF-8
    const parser = new JunitParser();
    for (let i = 0; i < bytes.length; i += 7) {
      parser.write(bytes.subarray(i, i + 7));
    }
    expect(parser.end()).toEqual(parseJunit(bytes));
    expect(
      parseJunit(bytes).some(c => c.classname === 'Test 1 › Test 1.1'),
    ).toBe(true);
  });
});

describe('parseJunit refuses what it must not read', () => {
  const refusal = (xml: string) => {
    try {
      parseJunit(xml, { maxDepth: 8, maxCases: 3 });
    } catch (e) {
      if (e instanceof JunitError) return { kind: e.kind, message: e.message };
      throw e;
    }
    return undefined;
  };

  it('a DOCTYPE (entity expansion), malformed XML, another root, an empty body', () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><testsuite><testcase name="&lol2;"/></testsuite>`;
    expect(refusal(laughs)).toEqual({
      kind: 'malformed',
      message: 'A DOCTYPE is not accepted in a JUnit report',
    });
    expect(refusal('<testsuite><testcase name="a"></testsuite>')).toMatchObject(
      {
        kind: 'malformed',
        message: expect.stringMatching(/^Not well-formed XML/),
      },
    );
    expect(refusal('<html><body/></html>')).toMatchObject({
      message: expect.stringContaining('root element is <html>'),
    });
    expect(refusal('')).toMatchObject({ message: 'The report is empty' });
  });

  it('nesting and case counts past the limits, as too large', () => {
    const deep = `<testsuites>${'<testsuite>'.repeat(
      10,
    )}${'</testsuite>'.repeat(10)}</testsuites>`;
    expect(refusal(deep)).toMatchObject({ kind: 'too-large' });
    const many = `<testsuite>${'<testcase name="t"/>'.repeat(4)}</testsuite>`;
    expect(refusal(many)).toEqual({
      kind: 'too-large',
      message: 'More than 3 test cases in one upload',
    });
  });

  it('masks secrets and bounds what it keeps of a failure', () => {
    const token = `ghp_${'a'.repeat(36)}`;
    const xml = `<testsuite name="s"><testcase name="t"><failure message="login with ${token} failed">${'x'.repeat(
      100_000,
    )}\nAuthorization: Bearer ${token}</failure></testcase></testsuite>`;
    const [c] = parseJunit(xml, { maxOutput: 200, maxMessage: 50 });
    expect(c.message).not.toContain(token);
    expect(c.message!.length).toBeLessThanOrEqual(50);
    expect(c.output!.length).toBeLessThanOrEqual(200);
    expect(c.output).not.toContain(token);
  });
});

describe('mergeAttempts', () => {
  const c = (
    name: string,
    status: ParsedTestCase['status'],
    durationMs?: number,
  ): ParsedTestCase => ({
    suite: 's',
    name,
    status,
    durationMs,
    ...(status === 'failed' ? { message: `${name} broke` } : {}),
  });

  it('a test that failed and then passed in one run is flaky, its attempts’ time added up', () => {
    expect(
      mergeAttempts([
        c('a', 'failed', 100),
        c('a', 'passed', 50),
        c('b', 'failed', 10),
        c('b', 'failed', 20),
        c('d', 'skipped'),
        c('d', 'passed', 5),
      ]),
    ).toEqual([
      {
        suite: 's',
        name: 'a',
        status: 'flaky',
        durationMs: 150,
        message: 'a broke',
      },
      {
        suite: 's',
        name: 'b',
        status: 'failed',
        durationMs: 30,
        message: 'b broke',
      },
      { suite: 's', name: 'd', status: 'passed', durationMs: 5 },
    ]);
  });
});
