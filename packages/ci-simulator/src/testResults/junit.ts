import { SimTestTool } from '../history';
import { SimTestCaseResult, SimTestReport, countCases } from './report';

/*
 * The JUnit XML a job's test tool writes, in that tool's dialect, element
 * for element and attribute for attribute as the reports it wrote in
 * `plugins/ci-experience-backend/src/testResults/__fixtures__/junit/`
 * (jest-junit.xml, go-junit-report.xml, gradle.xml; see SOURCES.md there).
 */

/** One report file: its path in the checkout, and its bytes. */
export interface SimReportFile {
  /** Where the tool wrote it, e.g. `reports/jest/junit.xml`. */
  path: string;
  data: Buffer;
}

/** The report files of a job's results: one, or one per class (Gradle). */
export function reportFiles(report: SimTestReport): SimReportFile[] {
  switch (report.tool) {
    case 'go-junit-report':
      return [file(report.spec.reportPath, goJunitReport(report))];
    case 'gradle':
      return report.suites.map(suite =>
        file(
          `${report.spec.reportPath}/TEST-${suite.name}.xml`,
          gradleReport(suite.name, suite.startedAt, suite.time, suite.cases),
        ),
      );
    default:
      return [file(report.spec.reportPath, jestJunit(report))];
  }
}

function file(path: string, xml: string): SimReportFile {
  return { path, data: Buffer.from(xml, 'utf8') };
}

/** A local time without a zone, as jest-junit and Gradle write timestamps. */
function localTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/** A suite's `timestamp` as its tool writes it (Go's in UTC with `Z`). */
export function suiteTimestamp(tool: SimTestTool, ms: number): string {
  return tool === 'go-junit-report'
    ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
    : localTimestamp(ms);
}

/** `time` as the tools write it: up to 3 decimals. */
function seconds(time: number): string {
  return String(Math.round(time * 1000) / 1000);
}

/** Escapes text and attributes as the `xml` package jest-junit uses does. */
function escapeAll(text: string): string {
  return text.replace(
    /[&"'<>]/g,
    c =>
      ({ '&': '&amp;', '"': '&quot;', "'": '&apos;', '<': '&lt;', '>': '&gt;' }[
        c
      ]!),
  );
}

/** Java's XML writers: `&`, `<` and `>` in text, and `"` in attributes. */
function escapeText(text: string): string {
  return text.replace(
    /[&<>]/g,
    c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' }[c]!),
  );
}

function escapeAttr(text: string): string {
  return escapeText(text).replace(/"/g, '&quot;');
}

/** Go's encoding/xml: `"` and `'` as numeric references too. */
function escapeGo(text: string): string {
  return escapeText(text).replace(/"/g, '&#34;').replace(/'/g, '&#39;');
}

/** Text in CDATA, split where it would close the section. */
function cdata(text: string): string {
  return `<![CDATA[${text.split(']]>').join(']]]]><![CDATA[>')}]]>`;
}

/**
 * jest-junit with `suiteNameTemplate: "{filepath}"`, `classNameTemplate:
 * "{classname}"`, `titleTemplate: "{title}"`, `ancestorSeparator: " › "`
 * and `addFileAttribute: "true"` (what CircleCI asks for): a suite per test
 * file, a passing case as an open/close pair, a failure without a
 * `message` (its text is the error's stack), a bare `<skipped/>`.
 */
export function jestJunit(report: SimTestReport): string {
  const all = countCases(report.cases);
  const total = report.suites.reduce((n, s) => n + s.time, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="jest tests" tests="${all.total}" failures="${
      all.failed
    }" errors="0" time="${seconds(total)}">`,
  ];
  for (const suite of report.suites) {
    const counts = countCases(suite.cases);
    lines.push(
      `  <testsuite name="${escapeAll(suite.name)}" errors="0" failures="${
        counts.failed
      }" skipped="${counts.skipped}" timestamp="${localTimestamp(
        suite.startedAt,
      )}" time="${seconds(suite.time)}" tests="${counts.total}">`,
    );
    for (const test of suite.cases) {
      lines.push(
        `    <testcase classname="${escapeAll(
          test.classname,
        )}" name="${escapeAll(test.name)}" time="${seconds(test.time)}"${
          test.file ? ` file="${escapeAll(test.file)}"` : ''
        }>`,
      );
      if (test.failure) {
        lines.push(`      <failure>${escapeAll(test.failure.text)}</failure>`);
      } else if (test.skipped) {
        lines.push('      <skipped/>');
      }
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n');
}

/**
 * go-junit-report v2: a suite per package with its `go.version` property,
 * tab-indented, `<failure message="Failed">` and `<skipped
 * message="Skipped">` around the test's output in CDATA, `skipped` only
 * where there are skips.
 */
export function goJunitReport(report: SimTestReport): string {
  const all = countCases(report.cases);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${all.total}"${
      all.failed ? ` failures="${all.failed}"` : ''
    }${all.skipped ? ` skipped="${all.skipped}"` : ''}>`,
  ];
  report.suites.forEach((suite, id) => {
    const counts = countCases(suite.cases);
    lines.push(
      `\t<testsuite name="${escapeGo(suite.name)}" tests="${
        counts.total
      }" failures="${counts.failed}" errors="0" id="${id}" hostname="runner"${
        counts.skipped ? ` skipped="${counts.skipped}"` : ''
      } time="${suite.time.toFixed(3)}" timestamp="${suiteTimestamp(
        report.tool,
        suite.startedAt,
      )}">`,
      '\t\t<properties>',
      '\t\t\t<property name="go.version" value="go1.23.4"></property>',
      '\t\t</properties>',
    );
    for (const test of suite.cases) {
      const open = `\t\t<testcase name="${escapeGo(
        test.name,
      )}" classname="${escapeGo(test.classname)}" time="${test.time.toFixed(
        3,
      )}">`;
      if (test.failure) {
        lines.push(
          open,
          `\t\t\t<failure message="${escapeGo(
            test.failure.message ?? 'Failed',
          )}">${cdata(test.failure.text)}</failure>`,
          '\t\t</testcase>',
        );
      } else if (test.skipped) {
        lines.push(
          open,
          `\t\t\t<skipped message="${escapeGo(
            test.skipped.message ?? 'Skipped',
          )}">${cdata(test.skipped.text ?? '')}</skipped>`,
          '\t\t</testcase>',
        );
      } else {
        lines.push(`${open}</testcase>`);
      }
    }
    lines.push('\t</testsuite>');
  });
  lines.push('</testsuites>');
  return lines.join('\n');
}

/**
 * Gradle's `Test` task: one `<testsuite>` per class as the root, empty
 * `<properties/>`, a passing case self-closed, `<failure message type>`
 * with the stack trace as its text, a bare `<skipped/>`, and the class's
 * (empty) `<system-out>` and `<system-err>`.
 */
export function gradleReport(
  className: string,
  startedAt: number,
  time: number,
  cases: SimTestCaseResult[],
): string {
  const counts = countCases(cases);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="${escapeAttr(className)}" tests="${
      counts.total
    }" skipped="${counts.skipped}" failures="${
      counts.failed
    }" errors="0" timestamp="${localTimestamp(
      startedAt,
    )}" hostname="runner" time="${seconds(time)}">`,
    '  <properties/>',
  ];
  for (const test of cases) {
    const attrs = `name="${escapeAttr(test.name)}" classname="${escapeAttr(
      test.classname,
    )}" time="${seconds(test.time)}"`;
    if (test.failure) {
      lines.push(
        `  <testcase ${attrs}>`,
        `    <failure message="${escapeAttr(
          test.failure.message ?? '',
        )}" type="${escapeAttr(test.failure.type ?? '')}">${escapeText(
          test.failure.text,
        )}</failure>`,
        '  </testcase>',
      );
    } else if (test.skipped) {
      lines.push(`  <testcase ${attrs}>`, '    <skipped/>', '  </testcase>');
    } else {
      lines.push(`  <testcase ${attrs}/>`);
    }
  }
  lines.push(
    '  <system-out><![CDATA[]]></system-out>',
    '  <system-err><![CDATA[]]></system-err>',
    '</testsuite>',
    '',
  );
  return lines.join('\n');
}
