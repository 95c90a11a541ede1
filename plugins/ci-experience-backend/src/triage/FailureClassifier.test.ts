import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_RULES } from './defaultRules';
import { FailureClassifier, stripAnsi } from './FailureClassifier';

const FIXTURES = path.join(__dirname, '__fixtures__', 'logs');
const read = (file: string) =>
  fs.readFileSync(path.join(FIXTURES, file), 'utf8');
const excerpts = fs
  .readdirSync(FIXTURES)
  .filter(file => file.endsWith('.log'))
  .sort();
const classOf = (file: string) => file.replace(/-\d+\.log$/, '');
const guide = (id: string) =>
  `/docs/default/component/ci-experience/troubleshooting/${id}/`;

const ESC = String.fromCharCode(0x1b);
const BEL = String.fromCharCode(0x07);

function logger() {
  return mockServices.logger.mock();
}

function warnings(log: ReturnType<typeof logger>): string[] {
  return log.warn.mock.calls.map(call => String(call[0]));
}

const classifier = FailureClassifier.create({ logger: logger() });

describe('FailureClassifier on real log excerpts', () => {
  it('has a real excerpt, with its source written down, for every default class', () => {
    const covered = new Set(excerpts.map(classOf));
    expect(DEFAULT_RULES.map(r => r.id).filter(id => !covered.has(id))).toEqual(
      [],
    );
    const sources = read('SOURCES.md');
    // One table row per file: | `file` | https://github.com/... | ... |
    const documented = new Set(
      [
        ...sources.matchAll(
          /^\|\s*`([^`]+)`\s*\|\s*https:\/\/github\.com\/\S+\s*\|/gm,
        ),
      ].map(m => m[1]),
    );
    const undocumented = excerpts.filter(file => !documented.has(file));
    expect(undocumented).toEqual([]);
  });

  it.each(
    excerpts
      .filter(file => classOf(file) !== 'unknown')
      .map(file => [file, classOf(file)]),
  )('classifies %s as %s, quoting the line it matched', (file, id) => {
    const text = read(file);
    const failure = classifier.classify(text);
    expect(failure).toEqual({
      id,
      title: DEFAULT_RULES.find(r => r.id === id)!.title,
      category: DEFAULT_RULES.find(r => r.id === id)!.category,
      guide: guide(id),
      line: expect.any(String),
    });
    expect(failure.line!.length).toBeGreaterThan(0);
    expect(failure.line!.length).toBeLessThanOrEqual(500);
    expect(failure.line).toBe(failure.line!.trim());
    expect(text).toContain(failure.line);
  });

  it('says a log no rule recognises is unknown, and links the guide on adding rules', () => {
    expect(classifier.classify(read('unknown-1.log'))).toEqual({
      id: 'unknown',
      title: 'Unknown failure',
      guide:
        '/docs/default/component/ci-experience/troubleshooting/adding-rules/',
    });
    expect(classifier.classify('').id).toBe('unknown');
    expect(classifier.classify('\n\n\r\n').id).toBe('unknown');
  });

  it('quotes the first line the winning rule matched', () => {
    expect(classifier.classify(read('time-limit-2.log')).line).toBe(
      'WARNING: step_script could not run to completion because the timeout was exceeded. For more control over job and script timeouts see: https://docs.gitlab.com/ee/ci/runners/configure_runners.html#set-script-and-after_script-timeouts',
    );
    expect(classifier.classify(read('expired-credentials-1.log')).line).toBe(
      'certificate has expired',
    );
  });
});

describe('the order of the default rules', () => {
  it('is pinned', () => {
    expect(DEFAULT_RULES.map(r => r.id)).toEqual([
      'superseded',
      'time-limit',
      'code-signing',
      'rate-limited',
      'expired-credentials',
      'out-of-memory',
      'no-space-left',
      'gradle-daemon',
      'package-registry',
      'network-timeout',
      'dependency-resolution',
      'compile-error',
      'failing-tests',
      'xcode-build',
    ]);
  });

  it('decides by rule, not by where the line is in the log', () => {
    const oom = read('out-of-memory-1.log');
    const tests = read('failing-tests-1.log');
    expect(classifier.classify(`${oom}\n${tests}`).id).toBe('out-of-memory');
    expect(classifier.classify(`${tests}\n${oom}`).id).toBe('out-of-memory');
  });

  it('puts code signing before the Xcode build failure it ends in', () => {
    expect(classifier.classify('** BUILD FAILED **').id).toBe('xcode-build');
    expect(read('code-signing-1.log')).toContain('** BUILD FAILED **');
    expect(classifier.classify(read('code-signing-1.log')).id).toBe(
      'code-signing',
    );
  });

  it('puts out of memory before a Gradle daemon that disappeared', () => {
    const daemon = read('gradle-daemon-1.log');
    expect(classifier.classify(daemon).id).toBe('gradle-daemon');
    expect(
      classifier.classify(
        `Exception in thread "Daemon worker" java.lang.OutOfMemoryError: Java heap space\n${daemon}`,
      ).id,
    ).toBe('out-of-memory');
  });

  it('puts rate limits and expired credentials before registry errors', () => {
    expect(read('rate-limited-3.log')).toContain('429 Too Many Requests');
    expect(classifier.classify(read('rate-limited-3.log')).id).toBe(
      'rate-limited',
    );
    expect(
      classifier.classify('npm ERR! code E429\nnpm ERR! code E503').id,
    ).toBe('rate-limited');
    expect(
      classifier.classify('npm ERR! code E401\nnpm ERR! code E503').id,
    ).toBe('expired-credentials');
  });

  it('puts registry and network failures before the dependency resolution they break', () => {
    const maven = (reason: string) =>
      `[ERROR] Failed to execute goal on project api: Could not resolve dependencies for project com.example:api:jar:1.0: Could not transfer artifact org.slf4j:slf4j-api:jar:2.0.9 from/to central (https://repo.maven.apache.org/maven2): ${reason}`;
    expect(
      classifier.classify(
        maven('status code: 503, reason phrase: Service Unavailable (503)'),
      ).id,
    ).toBe('package-registry');
    expect(classifier.classify(maven('Connect timed out')).id).toBe(
      'network-timeout',
    );
    expect(classifier.classify(read('dependency-resolution-2.log')).id).toBe(
      'dependency-resolution',
    );
  });

  it('puts a provider ending the job before what the job printed', () => {
    const tests = read('failing-tests-1.log');
    expect(
      classifier.classify(`${tests}\n${read('time-limit-1.log')}`).id,
    ).toBe('time-limit');
    expect(
      classifier.classify(`${tests}\n${read('superseded-2.log')}`).id,
    ).toBe('superseded');
  });

  it('puts compile errors before the test runs they break', () => {
    expect(
      classifier.classify(
        `src/api.test.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.\n${read(
          'failing-tests-1.log',
        )}`,
      ).id,
    ).toBe('compile-error');
  });
});

describe('what the classifier reads', () => {
  it('ignores ANSI colours, GitHub timestamps and progress overwritten by carriage returns', () => {
    const jest = `${ESC}[1mTests:       ${ESC}[22m${ESC}[1m${ESC}[31m11 failed${ESC}[39m${ESC}[22m, ${ESC}[1m${ESC}[32m222 passed${ESC}[39m${ESC}[22m, 233 total`;
    expect(classifier.classify(jest)).toMatchObject({
      id: 'failing-tests',
      line: 'Tests:       11 failed, 222 passed, 233 total',
    });
    const github = `2024-05-01T10:00:06.1234567Z ${ESC}[31;1mFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory${ESC}[0m`;
    expect(classifier.classify(github)).toMatchObject({
      id: 'out-of-memory',
      line: 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
    });
    const gitlab = `section_start:1714557600:step_script\r${ESC}[0K${ESC}[0K${ESC}[36;1mExecuting "step_script" stage of the job script${ESC}[0;m\n${ESC}[31;1mERROR: Job failed: execution took longer than 1h0m0s seconds${ESC}[0;m`;
    expect(classifier.classify(gitlab)).toMatchObject({
      id: 'time-limit',
      line: 'ERROR: Job failed: execution took longer than 1h0m0s seconds',
    });
    const link = `See ${ESC}]8;;https://example.com${BEL}the report${ESC}]8;;${BEL}: There were failing tests`;
    expect(classifier.classify(link)).toMatchObject({
      id: 'failing-tests',
      line: 'See the report: There were failing tests',
    });
    const progress =
      'Pulling 10%\rPulling 55%\r#5 ERROR: no space left on device\r\n';
    expect(classifier.classify(progress)).toMatchObject({
      id: 'no-space-left',
      line: '#5 ERROR: no space left on device',
    });
    expect(stripAnsi(`${ESC}[1m${ESC}[31mred${ESC}[0m`)).toBe('red');
  });

  it('reads only the tail of a 50,000-line log', () => {
    const noise = Array.from(
      { length: 50_000 },
      (_, i) => `PASS src/module${i}.test.ts (${i % 90}ms)`,
    );
    const atEnd = `${noise.join('\n')}\n${read('failing-tests-1.log')}`;
    const details = classifier.explain(atEnd);
    expect(details.failure.id).toBe('failing-tests');
    expect(details.linesConsidered).toBe(500);
    expect(details.scope).toBe('log');

    // The cause far above the tail is not looked at.
    const early = `${read('out-of-memory-1.log')}\n${noise.join('\n')}`;
    const missed = classifier.explain(early);
    expect(missed.failure.id).toBe('unknown');
    expect(missed.linesConsidered).toBe(500);
  });

  it('matches only the first 2,000 characters of a line and quotes at most 500', () => {
    const filler = 'x'.repeat(2_500);
    expect(classifier.classify(`${filler} No space left on device`).id).toBe(
      'unknown',
    );
    const quoted = classifier.classify(`No space left on device ${filler}`);
    expect(quoted.id).toBe('no-space-left');
    expect(quoted.line).toHaveLength(500);
  });

  it('honours smaller limits', () => {
    const small = FailureClassifier.create({
      logger: logger(),
      limits: { maxLines: 3 },
    });
    const text = `${read('out-of-memory-1.log')}\nnoise\nnoise\nnoise`;
    expect(small.explain(text)).toMatchObject({
      failure: { id: 'unknown' },
      linesConsidered: 3,
    });
  });

  describe("the failed step's section of a GitHub log", () => {
    const log = [
      '2024-05-01T10:00:00.0000000Z ##[group]Run yarn install --immutable',
      '2024-05-01T10:00:00.1000000Z yarn install --immutable',
      '2024-05-01T10:00:00.2000000Z ##[endgroup]',
      '2024-05-01T10:00:03.0000000Z npm WARN registry Unexpected warning for https://registry.npmjs.org/: Miscellaneous Warning ETIMEDOUT: request to https://registry.npmjs.org/react failed, reason: connect ETIMEDOUT 104.16.0.35:443',
      '2024-05-01T10:00:09.0000000Z Done in 9.01s.',
      '2024-05-01T10:00:10.0000000Z ##[group]Run yarn test',
      '2024-05-01T10:00:10.1000000Z yarn test',
      '2024-05-01T10:00:10.2000000Z ##[endgroup]',
      '2024-05-01T10:01:00.0000000Z Tests:       1 failed, 41 passed, 42 total',
      '2024-05-01T10:01:00.1000000Z ##[error]Process completed with exit code 1.',
      '2024-05-01T10:01:01.0000000Z Post job cleanup.',
    ].join('\r\n');

    it('is read alone when the failed step is known', () => {
      expect(
        classifier.explain(log, { failedStep: 'yarn test' }),
      ).toMatchObject({
        failure: { id: 'failing-tests' },
        scope: 'step',
        linesConsidered: 6,
      });
    });

    it('is not guessed: without the step, or with a step no marker names exactly, the whole tail is read', () => {
      expect(classifier.explain(log)).toMatchObject({
        failure: { id: 'network-timeout' },
        scope: 'log',
        linesConsidered: 11,
      });
      expect(classifier.explain(log, { failedStep: 'yarn' }).scope).toBe('log');
      expect(
        classifier.explain(log, { failedStep: 'Unit tests' }).failure.id,
      ).toBe('network-timeout');
    });

    it('also finds a step marker named without "Run"', () => {
      const named = log.replace(
        '##[group]Run yarn test',
        '##[group]Unit tests',
      );
      expect(
        classifier.explain(named, { failedStep: 'Unit tests' }),
      ).toMatchObject({ failure: { id: 'failing-tests' }, scope: 'step' });
    });
  });
});

describe('rules from config', () => {
  it('tries custom rules before the defaults, and a custom id replaces the default one', () => {
    const log = logger();
    const custom = FailureClassifier.fromConfig(
      new ConfigReader({
        ciExperience: {
          triage: {
            rules: [
              {
                id: 'selenium-session',
                title: 'Selenium grid unavailable',
                category: 'flaky',
                pattern: 'SessionNotCreatedException',
                guide: '/docs/default/component/payments-service/selenium/',
              },
              {
                id: 'out-of-memory',
                title: 'Out of memory (our runners)',
                category: 'infrastructure',
                pattern: ['JavaScript heap out of memory', 'exit code 137'],
                guide: 'https://wiki.example.com/ci/oom',
              },
            ],
          },
        },
      }),
      { logger: log },
    );
    expect(
      custom.classify(
        `${read(
          'failing-tests-1.log',
        )}\norg.openqa.selenium.SessionNotCreatedException: Could not start a new session`,
      ),
    ).toEqual({
      id: 'selenium-session',
      title: 'Selenium grid unavailable',
      category: 'flaky',
      guide: '/docs/default/component/payments-service/selenium/',
      line: 'org.openqa.selenium.SessionNotCreatedException: Could not start a new session',
    });
    expect(custom.classify(read('out-of-memory-1.log'))).toMatchObject({
      id: 'out-of-memory',
      title: 'Out of memory (our runners)',
      guide: 'https://wiki.example.com/ci/oom',
    });
    expect(custom.rules.filter(r => r.id === 'out-of-memory')).toHaveLength(1);
    expect(custom.rules.map(r => r.id).slice(0, 3)).toEqual([
      'selenium-session',
      'out-of-memory',
      'superseded',
    ]);
    expect(log.warn).not.toHaveBeenCalled();
  });

  it('keeps only the custom rules with defaults: false', () => {
    const only = FailureClassifier.fromConfig(
      new ConfigReader({
        ciExperience: {
          triage: {
            defaults: false,
            rules: [
              {
                id: 'lint',
                title: 'Lint errors',
                category: 'code',
                pattern: '\\d+ problems? \\(\\d+ errors?',
              },
            ],
          },
        },
      }),
      { logger: logger() },
    );
    expect(only.rules.map(r => r.id)).toEqual(['lint']);
    expect(only.classify('✖ 3 problems (2 errors, 1 warning)').id).toBe('lint');
    expect(only.classify(read('out-of-memory-1.log')).id).toBe('unknown');
  });

  it('uses the defaults without any triage config', () => {
    const plain = FailureClassifier.fromConfig(new ConfigReader({}), {
      logger: logger(),
    });
    expect(plain.rules.map(r => r.id)).toEqual(DEFAULT_RULES.map(r => r.id));
  });

  it('skips each invalid rule with a log line saying why, and never throws', () => {
    const log = logger();
    const valid = {
      id: 'valid',
      title: 'Valid',
      category: 'test',
      pattern: 'VALID-MARKER',
    };
    const built = FailureClassifier.fromConfig(
      new ConfigReader({
        ciExperience: {
          triage: {
            rules: [
              { ...valid, id: 'bad-regex', pattern: 'unclosed (group' },
              { ...valid, id: 'bad-category', category: 'weather' },
              { ...valid, id: 'no-category', category: undefined },
              { ...valid, id: undefined },
              { ...valid, id: 'no-title', title: '  ' },
              valid,
              { ...valid, title: 'Same id again' },
              { ...valid, id: 'unknown' },
              {
                ...valid,
                id: 'xss-guide',
                guide: ['javascript', 'alert(1)'].join(':'),
              },
              { ...valid, id: 'slashes', guide: '//evil.example.com/x' },
              { ...valid, id: 'plural', pattern: undefined, patterns: ['x'] },
              { ...valid, id: 'empty-list', pattern: [] },
              { ...valid, id: 'everything', pattern: '.*' },
              { ...valid, id: 'catastrophic', pattern: '^(a+)+$' },
              { ...valid, id: 'catastrophic-2', pattern: '(x|y+){2,}z' },
              { ...valid, id: 'too-long', pattern: 'a'.repeat(1001) },
              'not a rule',
            ],
          },
        },
      }),
      { logger: log },
    );
    expect(
      built.rules.filter(r => r.category === 'test').map(r => r.id),
    ).toEqual(['valid', 'failing-tests']);
    expect(built.classify('VALID-MARKER here').id).toBe('valid');

    const said = warnings(log);
    expect(said).toHaveLength(16);
    expect(said).toEqual([
      expect.stringMatching(
        /rules\[0\] \("bad-regex"\) skipped: pattern of "bad-regex" "unclosed \(group" is not a valid regular expression/,
      ),
      expect.stringMatching(
        /rules\[1\] \("bad-category"\).*"weather", not one of infrastructure, dependency, test, flaky, timeout, configuration, code/,
      ),
      expect.stringMatching(
        /rules\[2\] \("no-category"\).*category .* is missing/,
      ),
      expect.stringMatching(/rules\[3\] skipped: id is missing/),
      expect.stringMatching(
        /rules\[4\] \("no-title"\).*title of "no-title" is missing/,
      ),
      expect.stringMatching(
        /rules\[6\] \("valid"\).*an earlier rule has the id "valid"/,
      ),
      expect.stringMatching(/rules\[7\] \("unknown"\).*reserved/),
      expect.stringMatching(/rules\[8\] \("xss-guide"\).*guide/),
      expect.stringMatching(/rules\[9\] \("slashes"\).*guide/),
      expect.stringMatching(/rules\[10\] \("plural"\).*the key is "pattern"/),
      expect.stringMatching(/rules\[11\] \("empty-list"\).*empty list/),
      expect.stringMatching(
        /rules\[12\] \("everything"\).*matches an empty line/,
      ),
      expect.stringMatching(/rules\[13\] \("catastrophic"\).*exponential time/),
      expect.stringMatching(
        /rules\[14\] \("catastrophic-2"\).*exponential time/,
      ),
      expect.stringMatching(/rules\[15\] \("too-long"\).*longer than 1000/),
      expect.stringMatching(/rules\[16\] skipped: a rule must be an object/),
    ]);
  });

  it('survives rules and defaults of the wrong type', () => {
    const log = logger();
    const built = FailureClassifier.fromConfig(
      new ConfigReader({
        ciExperience: { triage: { rules: { id: 'x' }, defaults: 42 } },
      }),
      { logger: log },
    );
    expect(built.rules.map(r => r.id)).toEqual(DEFAULT_RULES.map(r => r.id));
    expect(warnings(log)).toEqual([
      expect.stringContaining(
        'ciExperience.triage.defaults must be true or false',
      ),
      expect.stringContaining('ciExperience.triage.rules must be a list'),
    ]);
  });

  it('compiles the default patterns cleanly: valid, no nested repetition, none matching an empty line', () => {
    const log = logger();
    const rebuilt = FailureClassifier.create({
      logger: log,
      defaults: false,
      rules: DEFAULT_RULES.map(({ patterns, ...rule }) => ({
        ...rule,
        pattern: patterns,
      })),
    });
    expect(warnings(log)).toEqual([]);
    expect(rebuilt.rules).toEqual(classifier.rules);
  });
});
