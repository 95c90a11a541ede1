import { CiFailureCategory } from '@ci-experience/plugin-ci-experience-common';

/**
 * A triage rule: a failed job whose log has a line matching one of
 * `patterns` gets this class.
 */
export interface FailureRule {
  /** Stable id, e.g. `out-of-memory`; also the guide's page name. */
  id: string;
  title: string;
  category: CiFailureCategory;
  /** The fixing guide, a path in the portal (or an http(s) URL). */
  guide?: string;
  /**
   * JavaScript regular expressions (source text, without slashes), matched
   * case-insensitively against one log line at a time: ANSI escapes and a
   * leading GitHub timestamp removed, trimmed, at most 2,000 characters.
   */
  patterns: string[];
}

/** Where the troubleshooting guides live in the portal's TechDocs. */
export const GUIDE_BASE =
  '/docs/default/component/ci-experience/troubleshooting';

/** The guide of a default class. */
export function guideOf(id: string): string {
  return `${GUIDE_BASE}/${id}/`;
}

/** The guide shown when nothing matched: how to add a rule. */
export const ADDING_RULES_GUIDE = guideOf('adding-rules');

/**
 * The default rules, in the order they are tried. The first rule with a
 * pattern matching ANY considered line wins, whatever line it matched (rule
 * order, not line order), so more specific rules come first:
 *
 * 1. `superseded`, `time-limit`: the provider ended the job from outside;
 *    whatever the job printed before (a test failing, a retry) is not why it
 *    stopped.
 * 2. `code-signing` before `xcode-build` (a signing failure ends in
 *    `** BUILD FAILED **`) and before `expired-credentials` (an expired
 *    provisioning profile or signing certificate has its own guide).
 * 3. `rate-limited` before `package-registry` (Docker Hub's `toomanyrequests`
 *    and npm's `E429` are registry answers, but the fix is a quota) and
 *    `expired-credentials` before it (an `E401` is a token, not an outage).
 * 4. `out-of-memory` and `no-space-left` before `gradle-daemon`: a daemon
 *    that "disappeared" is most often the OOM killer; when the log says so
 *    (`OutOfMemoryError`, exit code 137) the memory guide is the useful one,
 *    and the Gradle guide covers the daemon dying without such evidence.
 *    They also come before tests and compilers, which a full memory or disk
 *    makes fail in their own words.
 * 5. `package-registry` before `network-timeout` and both before
 *    `dependency-resolution`: Maven and Gradle report a registry outage or a
 *    time-out as "Could not resolve dependencies ... status code 503" /
 *    "... Connect timed out" on one line; the cause is the registry or the
 *    network, not the dependency graph.
 * 6. `compile-error` before `failing-tests`: code that does not compile
 *    makes test runs fail too, and before `xcode-build`, whose
 *    `** BUILD FAILED **` follows every Xcode failure: `xcode-build` is the
 *    catch-all for Xcode failures no more specific rule explains.
 *
 * `FailureClassifier.test.ts` pins this order.
 */
const RULES: Array<Omit<FailureRule, 'guide'>> = [
  {
    id: 'superseded',
    title: 'Cancelled by a newer run',
    category: 'configuration',
    patterns: [
      // GitHub Actions concurrency groups
      'Canceling since a higher priority waiting request for .+ exists',
      // GitLab interruptible jobs and redundant pipelines, CircleCI
      '\\bauto-cancell?ed\\b',
      // Buildkite "Cancel intermediate builds"
      'cancell?ed automatically by a newer build',
      // Jenkins milestone step
      '\\bSuperseded by (?:build )?#\\d+',
    ],
  },
  {
    id: 'time-limit',
    title: 'Time limit exceeded',
    category: 'timeout',
    patterns: [
      // GitHub Actions job `timeout-minutes` and the 360-minute ceiling
      'has exceeded the maximum execution time of \\d+ minutes',
      // GitHub Actions step `timeout-minutes`
      "\\bThe action (?:'[^']*' )?has timed out\\b",
      // GitLab
      'execution took longer than .+ seconds',
      'could not run to completion because the timeout was exceeded',
      // Jenkins build-timeout plugin and `timeout` step
      '\\bBuild timed out\\b',
      '\\bTimeout has been exceeded\\b',
      // CircleCI `no_output_timeout`
      '\\bToo long with no output\\b',
    ],
  },
  {
    id: 'code-signing',
    title: 'Code signing or provisioning profile',
    category: 'configuration',
    patterns: [
      "\\bNo profiles? for (?:team )?'[^']*'(?: matching '[^']*')? (?:were |was )?found",
      "couldn't find any .*provisioning profiles? matching",
      "Provisioning profile .* doesn't include signing certificate",
      'Provisioning profile .* (?:has )?expired',
      '\\brequires a provisioning profile\\b',
      '\\bNo signing certificate .* found',
      '\\berrSecInternalComponent\\b',
      '\\bCode Sign(?:ing)? Error\\b',
      '\\bCommand CodeSign failed\\b',
      // Android
      'Keystore was tampered with, or password was incorrect',
      '\\bjarsigner: unable to sign\\b',
      '\\bjarsigner error\\b',
    ],
  },
  {
    id: 'rate-limited',
    title: 'Provider rate limit',
    category: 'infrastructure',
    patterns: [
      '\\bAPI rate limit exceeded\\b',
      '\\bsecondary rate limit\\b',
      '\\btoomanyrequests\\b',
      '\\byou have reached your pull rate limit\\b',
      '\\b429 Too Many Requests\\b',
      '\\bnpm (?:ERR!|error) code E429\\b',
      '\\bERR_PNPM_FETCH_429\\b',
      '\\bstatus(?: code)?:? 429\\b',
    ],
  },
  {
    id: 'expired-credentials',
    title: 'Expired credentials or certificates',
    category: 'configuration',
    patterns: [
      // Node.js, Go (x509: certificate has expired or is not yet valid), curl
      '\\bcertificate has expired\\b',
      '\\bCERT_HAS_EXPIRED\\b',
      // GitHub API
      '\\bBad credentials\\b',
      // AWS
      '\\bExpiredToken(?:Exception)?\\b',
      '\\b(?:token|credentials?|password|certificate)\\b[^.]*\\b(?:is|has|have) (?:been )?expired\\b',
      '\\b(?:token|credentials?|password) expired\\b',
      '\\b401 Unauthorized\\b',
      '\\bnpm (?:ERR!|error) code E401\\b',
      '\\bERR_PNPM_FETCH_401\\b',
      '\\bstatus(?: code)?:? 401\\b',
    ],
  },
  {
    id: 'out-of-memory',
    title: 'Out of memory',
    category: 'infrastructure',
    patterns: [
      'JavaScript heap out of memory',
      '\\bOOMKilled\\b',
      '\\bOutOfMemoryError\\b',
      'fatal error: runtime: out of memory',
      '\\bCannot allocate memory\\b',
      '\\bENOMEM\\b',
      // 137 = killed by SIGKILL, in CI nearly always the OOM killer:
      // "Process completed with exit code 137" (GitHub), "exit code 137"
      // (GitLab, Jenkins), "Exited with code exit status 137" (CircleCI)
      '\\bexit(?:ed with)? (?:code|status)(?: exit status)? 137\\b',
      '\\bKilled signal terminated program\\b',
      '\\bsignal: killed\\b',
      '^MemoryError\\b',
      '\\bout of memory\\b',
    ],
  },
  {
    id: 'no-space-left',
    title: 'No space left on device',
    category: 'infrastructure',
    patterns: [
      '\\bNo space left on device\\b',
      '\\bENOSPC\\b',
      '\\bDisk quota exceeded\\b',
      '\\bThere is not enough space on the disk\\b',
      '\\brunning out of disk space\\b',
    ],
  },
  {
    id: 'gradle-daemon',
    title: 'Gradle daemon failure',
    category: 'infrastructure',
    patterns: [
      '\\bGradle build daemon disappeared unexpectedly\\b',
      '\\bThe daemon has terminated unexpectedly\\b',
      '\\bdaemon has disappeared\\b',
      '\\bCould not connect to the Gradle daemon\\b',
    ],
  },
  {
    id: 'package-registry',
    title: 'Package registry error',
    category: 'dependency',
    patterns: [
      // npm 6-9 `npm ERR! code E503`, npm 10 `npm error code E503`
      '\\bnpm (?:ERR!|error) (?:code )?E?5\\d\\d\\b',
      '\\bERR_PNPM_FETCH_5\\d\\d\\b',
      // Yarn 1, Yarn 2+
      '\\bRequest failed \\\\?"5\\d\\d\\b',
      '\\bResponse Code: 5\\d\\d\\b',
      // Gradle, Maven
      '\\bReceived status code 5\\d\\d from server\\b',
      '\\bCould not transfer artifact\\b.*\\b(?:status code:? )?5\\d\\d\\b',
      // pip
      '\\bHTTP error 5\\d\\d while getting\\b',
      '\\b5\\d\\d Server Error\\b.*\\b(?:pypi\\.org|pythonhosted\\.org)\\b',
      // Go module proxy
      '\\bproxy\\.golang\\.org\\b.*\\b5\\d\\d\\b',
      // Docker registries
      '\\breceived unexpected HTTP status: 5\\d\\d\\b',
    ],
  },
  {
    id: 'network-timeout',
    title: 'Network or DNS timeout',
    category: 'infrastructure',
    patterns: [
      '\\bgetaddrinfo (?:ENOTFOUND|EAI_AGAIN)\\b',
      '\\bEAI_AGAIN\\b',
      '\\bENOTFOUND\\b',
      '\\bETIMEDOUT\\b',
      '\\bECONNRESET\\b',
      '\\bCould not resolve host\\b',
      '\\bTemporary failure in name resolution\\b',
      '\\bName or service not known\\b',
      '\\bConnection timed out\\b',
      '\\bConnect timed out\\b',
      '\\bRead timed out\\b',
      '\\bTLS handshake timeout\\b',
      // Go: "dial tcp: lookup proxy.golang.org: i/o timeout", "no such host"
      '\\bi/o timeout\\b',
      '\\bdial tcp\\b.*\\bno such host\\b',
      '\\bNetwork is unreachable\\b',
      '\\bsocket hang up\\b',
      '\\bFailed to connect to .* port \\d+',
    ],
  },
  {
    id: 'dependency-resolution',
    title: 'Dependency resolution failed',
    category: 'dependency',
    patterns: [
      // npm, pnpm, Yarn
      '\\bERESOLVE\\b',
      '\\bNo matching version found for\\b',
      '\\bnpm (?:ERR!|error) code E404\\b',
      '\\bERR_PNPM_(?:NO_MATCHING_VERSION|PEER_DEP_ISSUES|FETCH_404)\\b',
      "\\bCouldn't find any versions for\\b",
      '\\blockfile would have been modified by this install\\b',
      '\\bcan only install packages when your package\\.json and package-lock\\.json\\b',
      // Maven, Gradle
      '\\bCould not resolve dependencies for project\\b',
      '\\bCould not find artifact\\b',
      '\\bCould not resolve all (?:files|dependencies|artifacts|task dependencies) for configuration\\b',
      // pip, Poetry, Dart
      '\\bResolutionImpossible\\b',
      '\\bCould not find a version that satisfies the requirement\\b',
      '\\bNo matching distribution found for\\b',
      '\\bversion solving failed\\b',
      // Cargo, Go, Bundler
      '\\bfailed to select a version for the requirement\\b',
      '\\bmissing go\\.sum entry\\b',
      "\\bCould not find gem '",
    ],
  },
  {
    id: 'compile-error',
    title: 'Compilation error',
    category: 'code',
    patterns: [
      // TypeScript
      '\\berror TS\\d{4,5}:',
      // Rust
      '\\berror\\[E\\d{4}\\]',
      '\\berror: could not compile `',
      // Java, Kotlin, Maven, Gradle
      '\\berror: cannot find symbol\\b',
      '\\bCompilation failed\\b',
      '\\bCOMPILATION ERROR\\b',
      '^e: (?:file://)?\\S+\\.kts?[:(]',
      // Go: "./main.go:10:2: undefined: foo", "FAIL example.com/pkg [build failed]"
      '\\.go:\\d+:\\d+: undefined: ',
      '\\[build failed\\]',
      // C, C++, Objective-C, Swift (clang, gcc, swiftc)
      '\\berror: .* was not declared\\b',
      '\\berror: use of undeclared identifier\\b',
      '\\.(?:c|cc|cpp|cxx|h|hpp|m|mm|swift):\\d+:\\d+: (?:fatal )?error: ',
      // C#
      '\\berror CS\\d{4}:',
    ],
  },
  {
    id: 'failing-tests',
    title: 'Failing tests',
    category: 'test',
    patterns: [
      // Jest "Tests:  2 failed, ...", Vitest "Tests  2 failed | ..."
      '^Tests:?\\s+\\d+ failed\\b',
      // pytest "=== 1 failed, 3 passed in 0.12s ===", "FAILED tests/x.py::test_y"
      '\\b\\d+ failed\\b.*\\bin \\d+(?:\\.\\d+)?\\s*s(?:econds)?\\b',
      '^FAILED \\S+::',
      // Gradle, JUnit
      '\\bThere were failing tests\\b',
      '\\b\\d+ tests? completed, \\d+ failed\\b',
      // Maven Surefire
      '\\bTests run: \\d+, Failures: (?:[1-9]|0, Errors: [1-9])',
      '\\bThere are test failures\\b',
      // Go
      '^--- FAIL: ',
      // RSpec, Mocha, .NET, Cargo, XCTest
      '\\b\\d+ examples?, [1-9]\\d* failures?\\b',
      '^\\d+ failing\\b',
      '^Failed!\\s+-\\s+Failed:\\s+[1-9]',
      '\\btest result: FAILED\\b',
      '\\*\\* TEST FAILED \\*\\*',
    ],
  },
  {
    id: 'xcode-build',
    title: 'Xcode build failure',
    category: 'code',
    patterns: [
      '\\bxcodebuild: error:',
      '\\*\\* (?:BUILD|ARCHIVE) FAILED \\*\\*',
      '\\bThe following build commands failed:',
      '\\berror: Build input file cannot be found\\b',
      '\\bxcodebuild\\b.*\\b(?:exit|error) code:? 65\\b',
    ],
  },
];

export const DEFAULT_RULES: readonly FailureRule[] = RULES.map(rule => ({
  ...rule,
  guide: guideOf(rule.id),
}));
