import { SaxesParser, SaxesTagPlain } from 'saxes';
import { maskSecrets } from '../triage/maskSecrets';

/** A test case's outcome in one report. */
export type TestCaseStatus =
  | 'passed'
  | 'failed'
  | 'error'
  | 'skipped'
  | 'flaky';

/** One test case of a JUnit report. */
export interface ParsedTestCase {
  /** The innermost `<testsuite name>` around the case ('' when none). */
  suite: string;
  name: string;
  classname?: string;
  file?: string;
  status: TestCaseStatus;
  durationMs?: number;
  /** The failure's (or skip's) message: its `message`, else its first line. */
  message?: string;
  /** A bounded excerpt of the failure's text and output, secrets masked. */
  output?: string;
}

/** What a report may hold; beyond it the parse stops with an error. */
export interface JunitLimits {
  /** Element nesting (`<testsuites><testsuite><testcase><failure>` is 4). */
  maxDepth: number;
  /** Test cases in one upload (all its files). */
  maxCases: number;
  /** Characters of a message. */
  maxMessage: number;
  /** Characters of an output excerpt. */
  maxOutput: number;
}

export const DEFAULT_JUNIT_LIMITS: JunitLimits = {
  maxDepth: 32,
  maxCases: 100_000,
  maxMessage: 1_000,
  maxOutput: 4_000,
};

/** A report that is not well-formed JUnit XML, or breaks a limit. */
export class JunitError extends Error {
  constructor(
    message: string,
    /** `too-large` when a limit was broken, `malformed` otherwise. */
    readonly kind: 'malformed' | 'too-large' = 'malformed',
  ) {
    super(message);
    this.name = 'JunitError';
  }
}

/** Elements whose text is kept (bounded) while inside a test case. */
const CAPTURED = new Set([
  'failure',
  'error',
  'skipped',
  'flakyFailure',
  'flakyError',
  'rerunFailure',
  'rerunError',
  'system-out',
  'system-err',
]);

/** Surefire's reruns: a case with only these passed on a rerun (flaky). */
const FLAKY = new Set(['flakyFailure', 'flakyError']);

type OpenCase = {
  suite: string;
  name: string;
  classname?: string;
  file?: string;
  durationMs?: number;
  /** Child element name → its message attribute and (bounded) text. */
  children: Map<string, { message?: string; text: string }>;
};

function seconds(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  // Some writers group thousands ("1,234.5"); none uses a decimal comma
  // together with a dot.
  const n = Number(value.replace(/,/g, '').trim());
  return Number.isFinite(n) && n >= 0 ? Math.round(n * 1000) : undefined;
}

function firstLine(text: string): string | undefined {
  const line = text
    .split('\n')
    .map(l => l.trim())
    .find(l => l.length > 0);
  return line;
}

/** Masks each line's secrets, then cuts to `max` characters. */
function excerpt(text: string, max: number): string {
  const masked = text
    .split('\n')
    .map(line => maskSecrets(line))
    .join('\n')
    .trim();
  return masked.length > max ? `${masked.slice(0, max - 1)}…` : masked;
}

/**
 * A streaming JUnit XML parser (saxes, strict XML): feed it with
 * `write()`, then `close()` answers the test cases. Reads the dialects of
 * Maven Surefire (`flakyFailure`, `rerunFailure`, ...), Gradle, pytest,
 * jest-junit, go-junit-report, Bazel's `test.xml` and XCTest converters;
 * a `<testsuites>` or a `<testsuite>` root. A DOCTYPE is refused (no
 * entity declarations, so no entity expansion); memory is bounded by the
 * limits, not by the file's size.
 */
export class JunitParser {
  private readonly parser = new SaxesParser({ position: true });
  private readonly decoder = new TextDecoder('utf-8');
  private readonly limits: JunitLimits;
  private readonly cases: ParsedTestCase[] = [];
  private readonly stack: string[] = [];
  private readonly suites: string[] = [];
  private current?: OpenCase;
  private capture?: { name: string; message?: string; text: string };
  private failure?: JunitError;
  private sawRoot = false;

  constructor(
    limits: Partial<JunitLimits> = {},
    /** Cases already read from earlier files of the same upload. */
    private readonly casesBefore = 0,
  ) {
    this.limits = { ...DEFAULT_JUNIT_LIMITS, ...limits };
    const p = this.parser;
    p.on('error', e =>
      this.fail(new JunitError(`Not well-formed XML: ${e.message}`)),
    );
    p.on('doctype', () =>
      this.fail(new JunitError('A DOCTYPE is not accepted in a JUnit report')),
    );
    p.on('opentag', tag => this.open(tag as SaxesTagPlain));
    p.on('closetag', tag => this.close(tag.name));
    p.on('text', text => this.text(text));
    p.on('cdata', text => this.text(text));
  }

  /** Feeds a chunk (UTF-8 bytes or text). */
  write(chunk: Uint8Array | string): void {
    if (this.failure) throw this.failure;
    const text =
      typeof chunk === 'string'
        ? chunk
        : this.decoder.decode(chunk, { stream: true });
    try {
      this.parser.write(text);
    } catch (e) {
      this.fail(e instanceof JunitError ? e : new JunitError(String(e)));
    }
    if (this.failure) throw this.failure;
  }

  /** Ends the input; answers the cases, or throws a {@link JunitError}. */
  end(): ParsedTestCase[] {
    if (this.failure) throw this.failure;
    try {
      this.parser.write(this.decoder.decode());
      if (!this.sawRoot && !this.failure) {
        // Nothing but whitespace, a declaration or comments so far.
        this.fail(new JunitError('The report is empty'));
      }
      this.parser.close();
    } catch (e) {
      this.fail(e instanceof JunitError ? e : new JunitError(String(e)));
    }
    return this.cases;
  }

  private fail(error: JunitError): never {
    this.failure ??= error;
    throw this.failure;
  }

  private open(tag: SaxesTagPlain) {
    const name = tag.name;
    const attrs = tag.attributes as Record<string, string>;
    if (this.stack.length === 0) {
      if (name !== 'testsuites' && name !== 'testsuite') {
        this.fail(
          new JunitError(
            `Not a JUnit report: the root element is <${name}>, not <testsuites> or <testsuite>`,
          ),
        );
      }
      this.sawRoot = true;
    }
    this.stack.push(name);
    if (this.stack.length > this.limits.maxDepth) {
      this.fail(
        new JunitError(
          `Elements nest deeper than ${this.limits.maxDepth} levels`,
          'too-large',
        ),
      );
    }
    if (name === 'testsuite') {
      this.suites.push(attrs.name ?? '');
      return;
    }
    if (name === 'testcase' && !this.current) {
      if (this.cases.length + this.casesBefore >= this.limits.maxCases) {
        this.fail(
          new JunitError(
            `More than ${this.limits.maxCases} test cases in one upload`,
            'too-large',
          ),
        );
      }
      this.current = {
        suite: this.suites[this.suites.length - 1] ?? '',
        name: attrs.name ?? '',
        classname: attrs.classname || undefined,
        file: attrs.file || undefined,
        durationMs: seconds(attrs.time),
        children: new Map(),
      };
      return;
    }
    if (this.current && !this.capture && CAPTURED.has(name)) {
      this.capture = {
        name,
        message: attrs.message || attrs.type || undefined,
        text: '',
      };
    }
  }

  private text(text: string) {
    const capture = this.capture;
    if (!capture) return;
    // Bounded: twice the excerpt, for what masking and trimming remove.
    const room = this.limits.maxOutput * 2 - capture.text.length;
    if (room > 0) capture.text += text.slice(0, room);
  }

  private close(name: string) {
    this.stack.pop();
    if (name === 'testsuite') {
      this.suites.pop();
      return;
    }
    const current = this.current;
    if (!current) return;
    if (this.capture && name === this.capture.name && this.isCaseChild()) {
      // Only the first of each kind counts (a rerun's second failure adds
      // nothing the first did not say).
      if (!current.children.has(name)) {
        current.children.set(name, {
          message: this.capture.message,
          text: this.capture.text,
        });
      }
      this.capture = undefined;
      return;
    }
    if (name === 'testcase' && !this.stack.includes('testcase')) {
      this.cases.push(this.finish(current));
      this.current = undefined;
      this.capture = undefined;
    }
  }

  /** Whether the element just closed was a direct child of the case. */
  private isCaseChild(): boolean {
    return this.stack[this.stack.length - 1] === 'testcase';
  }

  private finish(c: OpenCase): ParsedTestCase {
    const has = (n: string) => c.children.has(n);
    let status: TestCaseStatus = 'passed';
    let cause: { message?: string; text: string } | undefined;
    if (has('failure')) {
      status = 'failed';
      cause = c.children.get('failure');
    } else if (has('error')) {
      status = 'error';
      cause = c.children.get('error');
    } else if ([...FLAKY].some(has)) {
      status = 'flaky';
      cause = c.children.get('flakyFailure') ?? c.children.get('flakyError');
    } else if (has('skipped')) {
      status = 'skipped';
      cause = c.children.get('skipped');
    }
    const out: ParsedTestCase = {
      suite: c.suite,
      name: c.name,
      status,
    };
    if (c.classname) out.classname = c.classname;
    if (c.file) out.file = c.file;
    if (c.durationMs !== undefined) out.durationMs = c.durationMs;
    if (cause) {
      const message = cause.message ?? firstLine(cause.text);
      if (message) {
        out.message = excerpt(message, this.limits.maxMessage);
      }
      if (status !== 'skipped') {
        const streams = ['system-err', 'system-out']
          .map(n => c.children.get(n)?.text.trim())
          .filter(Boolean);
        const text = [cause.text.trim(), ...streams].filter(Boolean).join('\n');
        if (text) out.output = excerpt(text, this.limits.maxOutput);
      }
    }
    return out;
  }
}

/**
 * A case a provider's test API gave, held to the same bounds as a parsed
 * one: message and output masked and cut, a name and suite present.
 */
export function boundCase(
  c: ParsedTestCase,
  limits: Partial<JunitLimits> = {},
): ParsedTestCase {
  const { maxMessage, maxOutput } = { ...DEFAULT_JUNIT_LIMITS, ...limits };
  const out: ParsedTestCase = {
    suite: String(c.suite ?? ''),
    name: String(c.name ?? ''),
    status: c.status,
  };
  if (c.classname) out.classname = String(c.classname);
  if (c.file) out.file = String(c.file);
  if (
    typeof c.durationMs === 'number' &&
    Number.isFinite(c.durationMs) &&
    c.durationMs >= 0
  ) {
    out.durationMs = Math.round(c.durationMs);
  }
  if (c.message) out.message = excerpt(String(c.message), maxMessage);
  if (c.output && c.status !== 'passed') {
    out.output = excerpt(String(c.output), maxOutput);
  }
  return out;
}

/** Parses one whole report. */
export function parseJunit(
  xml: Uint8Array | string,
  limits: Partial<JunitLimits> = {},
): ParsedTestCase[] {
  const parser = new JunitParser(limits);
  parser.write(xml);
  return parser.end();
}

/** The identity of a test: stable across runs. */
export function testKey(
  c: Pick<ParsedTestCase, 'suite' | 'classname' | 'name' | 'file'>,
): string {
  return JSON.stringify([c.suite, c.classname ?? '', c.name, c.file ?? '']);
}

const RANK: Record<TestCaseStatus, number> = {
  skipped: 0,
  passed: 1,
  flaky: 2,
  error: 3,
  failed: 3,
};

/**
 * One result per test of a run: a test reported more than once (a
 * runner's retries: pytest-rerunfailures, jest's retryTimes, Bazel's
 * attempts, several files of one run) that both passed and failed is
 * flaky; otherwise its worst outcome stands. Durations add up (each
 * attempt took its time); the message is the first failure's.
 */
export function mergeAttempts(cases: ParsedTestCase[]): ParsedTestCase[] {
  const byKey = new Map<string, ParsedTestCase[]>();
  for (const c of cases) {
    const k = testKey(c);
    const list = byKey.get(k);
    if (list) list.push(c);
    else byKey.set(k, [c]);
  }
  const out: ParsedTestCase[] = [];
  for (const list of byKey.values()) {
    if (list.length === 1) {
      out.push(list[0]);
      continue;
    }
    const failed = list.find(
      c => c.status === 'failed' || c.status === 'error',
    );
    const passed = list.some(
      c => c.status === 'passed' || c.status === 'flaky',
    );
    const worst = list.reduce((a, b) =>
      RANK[b.status] > RANK[a.status] ? b : a,
    );
    const merged: ParsedTestCase = { ...(failed ?? worst) };
    if (failed && passed) merged.status = 'flaky';
    const durations = list
      .map(c => c.durationMs)
      .filter((d): d is number => d !== undefined);
    if (durations.length)
      merged.durationMs = durations.reduce((a, b) => a + b, 0);
    out.push(merged);
  }
  return out;
}
