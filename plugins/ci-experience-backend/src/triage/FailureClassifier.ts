import { LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import {
  CI_FAILURE_CATEGORIES,
  CiFailureCategory,
  CiFailureClass,
} from '@ci-experience/plugin-ci-experience-common';
import { ADDING_RULES_GUIDE, DEFAULT_RULES, FailureRule } from './defaultRules';
import { maskSecrets } from './maskSecrets';

/** The class of a failure no rule recognised. */
export const UNKNOWN_FAILURE: CiFailureClass = Object.freeze({
  id: 'unknown',
  title: 'Unknown failure',
  guide: ADDING_RULES_GUIDE,
});

/** Ids the classifier and the triage service use for themselves. */
const RESERVED_IDS = new Set(['unknown', 'no-log']);

/** How much of a log the classifier reads. */
export interface ClassifierLimits {
  /** Lines read, from the end of the log (or of the failed step). Default 500. */
  maxLines: number;
  /** Characters of a line matched, after ANSI escapes are removed. Default 2,000. */
  maxLineLength: number;
}

export const DEFAULT_CLASSIFIER_LIMITS: ClassifierLimits = {
  maxLines: 500,
  maxLineLength: 2000,
};

/** At most this many characters of a matched line are kept in the class. */
const MAX_REPORTED_LINE = 500;
/** Config patterns longer than this are refused. */
const MAX_PATTERN_LENGTH = 1000;

/** What the classifier knows of the job besides its log. */
export interface ClassifyOptions {
  /** The name of the job's failed step, when the provider reports steps. */
  failedStep?: string;
}

/** A classification with what it looked at, for tests and diagnostics. */
export interface ClassifyDetails {
  failure: CiFailureClass;
  /** Lines matched against the rules: never more than `maxLines`. */
  linesConsidered: number;
  /** `step`: only the failed step's section was read; `log`: the log's tail. */
  scope: 'step' | 'log';
}

interface CompiledRule {
  id: string;
  title: string;
  category: CiFailureCategory;
  guide?: string;
  regexes: RegExp[];
}

const ESC = String.fromCharCode(0x1b);
const BEL = String.fromCharCode(0x07);
/**
 * ANSI escape sequences: CSI (colours, cursor moves, GitLab's erase-line
 * `ESC[0K`), OSC (window titles, hyperlinks) and other two-character ones.
 */
const ANSI_ESCAPES = new RegExp(
  [
    `${ESC}\\[[0-?]*[ -/]*[@-~]`,
    `${ESC}\\][^${BEL}${ESC}]*(?:${BEL}|${ESC}\\\\)`,
    `${ESC}[@-Z\\\\-_]`,
  ].join('|'),
  'g',
);
/** The timestamp GitHub Actions puts before every line of a job log. */
const GITHUB_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z ?/;
/**
 * A quantified group that itself ends in a quantifier, e.g. `(a+)+`,
 * `(\w*)*`, `(x|y+){2,}`: the shape of patterns that backtrack
 * exponentially. A heuristic (it sees innermost groups only), on top of the
 * real guard: matching one capped line at a time over a bounded tail.
 */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[*+}]\)[*+{]/;

/** Removes ANSI escape sequences. */
export function stripAnsi(text: string): string {
  return text.includes(ESC) ? text.replace(ANSI_ESCAPES, '') : text;
}

/**
 * Assigns a failed job's log a failure class from rules: the team's rules
 * from config first (`ciExperience.triage.rules`), then the default rules
 * (unless `ciExperience.triage.defaults` is false). See {@link DEFAULT_RULES}
 * for the order and why it matters.
 *
 * What it reads, so that neither a huge log nor a careless pattern can stall
 * the backend:
 *
 * - When the failed step is known and the log has GitHub Actions step
 *   markers (`##[group]Run <step>` or `##[group]<step>`), only the lines from
 *   the last such marker of that step to the end of the log; otherwise the
 *   whole log. Steps after the failed one are skipped by the provider, so
 *   what follows the marker is the failed step plus clean-up. Composite
 *   actions nest their own `##[group]Run` markers, which is why the section
 *   is not cut at the next marker.
 * - Of those, the last `maxLines` lines (500), each with ANSI escapes and a
 *   leading GitHub timestamp removed, trimmed and cut to `maxLineLength`
 *   (2,000) characters. A carriage return inside a line (progress bars)
 *   keeps what was printed last, as a terminal would show it.
 * - Patterns are compiled once, case-insensitive, and matched one line at a
 *   time.
 *
 * The first rule (in rule order) with a pattern matching any of those lines
 * wins, and the class carries the first line it matched (trimmed, at most
 * 500 characters, credentials masked by {@link maskSecrets}: it is stored
 * and shown in the portal). When no rule matches, the class is
 * {@link UNKNOWN_FAILURE}, which links to the guide on adding rules.
 */
export class FailureClassifier {
  private readonly limits: ClassifierLimits;

  /** Reads `ciExperience.triage.rules` and `ciExperience.triage.defaults`. */
  static fromConfig(
    config: Config,
    options: { logger: LoggerService; limits?: Partial<ClassifierLimits> },
  ): FailureClassifier {
    const { logger } = options;
    let defaults = true;
    try {
      defaults =
        config.getOptionalBoolean('ciExperience.triage.defaults') ?? true;
    } catch {
      logger.warn(
        'ciExperience.triage.defaults must be true or false; the default triage rules stay on',
      );
    }
    return FailureClassifier.create({
      rules: config.getOptional('ciExperience.triage.rules'),
      defaults,
      logger,
      limits: options.limits,
    });
  }

  /**
   * Builds a classifier from rules as config gives them (unvalidated): an
   * invalid rule is skipped with a warning naming it and why, never thrown.
   */
  static create(options: {
    rules?: unknown;
    defaults?: boolean;
    logger: LoggerService;
    limits?: Partial<ClassifierLimits>;
  }): FailureClassifier {
    const { logger } = options;
    const custom: CompiledRule[] = [];
    const raw = options.rules ?? [];
    if (!Array.isArray(raw)) {
      logger.warn(
        'ciExperience.triage.rules must be a list of rules; it is ignored',
      );
    } else {
      const ids = new Set<string>();
      raw.forEach((entry, index) => {
        const parsed = parseRule(entry);
        const named = (entry as { id?: unknown } | null)?.id;
        const where = `ciExperience.triage.rules[${index}]${
          typeof named === 'string' && named.trim()
            ? ` (${JSON.stringify(named.trim().slice(0, 100))})`
            : ''
        }`;
        if (typeof parsed === 'string') {
          logger.warn(`Triage rule ${where} skipped: ${parsed}`);
          return;
        }
        if (ids.has(parsed.id)) {
          logger.warn(
            `Triage rule ${where} skipped: an earlier rule has the id "${parsed.id}"`,
          );
          return;
        }
        ids.add(parsed.id);
        custom.push(parsed);
      });
    }

    const overridden = new Set(custom.map(r => r.id));
    const defaults =
      options.defaults === false
        ? []
        : DEFAULT_RULES.filter(rule => {
            if (overridden.has(rule.id)) {
              logger.info(
                `Triage rule "${rule.id}" from ciExperience.triage.rules replaces the default rule of that id`,
              );
              return false;
            }
            return true;
          }).map(compileTrusted);
    return new FailureClassifier([...custom, ...defaults], {
      ...DEFAULT_CLASSIFIER_LIMITS,
      ...options.limits,
    });
  }

  private constructor(
    private readonly compiled: CompiledRule[],
    limits: ClassifierLimits,
  ) {
    this.limits = {
      maxLines: Math.max(1, Math.floor(limits.maxLines)),
      maxLineLength: Math.max(1, Math.floor(limits.maxLineLength)),
    };
  }

  /** The rules, in the order they are tried. */
  get rules(): Array<Omit<CiFailureClass, 'line'>> {
    return this.compiled.map(toClass);
  }

  classify(log: string, options: ClassifyOptions = {}): CiFailureClass {
    return this.explain(log, options).failure;
  }

  explain(log: string, options: ClassifyOptions = {}): ClassifyDetails {
    const stepAt = stepSectionStart(log, options.failedStep);
    const lines = tailLines(log, Math.max(stepAt, 0), this.limits.maxLines).map(
      line => normalizeLine(line, this.limits.maxLineLength),
    );
    const result = (failure: CiFailureClass): ClassifyDetails => ({
      failure,
      linesConsidered: lines.length,
      scope: stepAt >= 0 ? 'step' : 'log',
    });
    for (const rule of this.compiled) {
      for (const line of lines) {
        if (line.length > 0 && matchesAny(rule.regexes, line)) {
          return result({
            ...toClass(rule),
            line: maskSecrets(line).slice(0, MAX_REPORTED_LINE),
          });
        }
      }
    }
    return result({ ...UNKNOWN_FAILURE });
  }
}

function matchesAny(regexes: RegExp[], line: string): boolean {
  for (const regex of regexes) {
    if (regex.test(line)) {
      return true;
    }
  }
  return false;
}

function toClass(rule: CompiledRule): Omit<CiFailureClass, 'line'> {
  return {
    id: rule.id,
    title: rule.title,
    category: rule.category,
    ...(rule.guide ? { guide: rule.guide } : {}),
  };
}

function compileTrusted(rule: FailureRule): CompiledRule {
  return {
    id: rule.id,
    title: rule.title,
    category: rule.category,
    guide: rule.guide,
    regexes: rule.patterns.map(p => new RegExp(p, 'i')),
  };
}

/** A rule from config, compiled, or why it cannot be used. */
function parseRule(entry: unknown): CompiledRule | string {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return 'a rule must be an object with id, title, pattern and category';
  }
  const rule = entry as Record<string, unknown>;
  const id = typeof rule.id === 'string' ? rule.id.trim() : '';
  if (!id) {
    return 'id is missing';
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(id)) {
    return `id "${id.slice(
      0,
      100,
    )}" must be letters, digits, '.', '_' or '-' (at most 100)`;
  }
  if (RESERVED_IDS.has(id)) {
    return `id "${id}" is reserved`;
  }
  const title = typeof rule.title === 'string' ? rule.title.trim() : '';
  if (!title) {
    return `title of "${id}" is missing`;
  }
  if (title.length > 200) {
    return `title of "${id}" is longer than 200 characters`;
  }
  if (
    typeof rule.category !== 'string' ||
    !(CI_FAILURE_CATEGORIES as readonly string[]).includes(rule.category)
  ) {
    const allowed = CI_FAILURE_CATEGORIES.join(', ');
    return rule.category === undefined
      ? `category of "${id}" is missing (one of ${allowed})`
      : `category of "${id}" is ${JSON.stringify(
          rule.category,
        )}, not one of ${allowed}`;
  }
  let guide: string | undefined;
  if (rule.guide !== undefined) {
    if (typeof rule.guide !== 'string' || !isSafeGuide(rule.guide.trim())) {
      return `guide of "${id}" must be a portal path starting with / or an http(s) URL`;
    }
    guide = rule.guide.trim();
  }
  let sources: unknown[];
  if (rule.pattern === undefined) {
    return rule.patterns === undefined
      ? `pattern of "${id}" is missing`
      : `"${id}" has "patterns"; the key is "pattern" (a string or a list of strings)`;
  } else if (Array.isArray(rule.pattern)) {
    sources = rule.pattern;
  } else {
    sources = [rule.pattern];
  }
  if (sources.length === 0) {
    return `pattern of "${id}" is an empty list`;
  }
  const regexes: RegExp[] = [];
  for (const source of sources) {
    const compiled = compilePattern(source);
    if (typeof compiled === 'string') {
      return `pattern of "${id}" ${compiled}`;
    }
    regexes.push(compiled);
  }
  return {
    id,
    title,
    category: rule.category as CiFailureCategory,
    guide,
    regexes,
  };
}

function compilePattern(source: unknown): RegExp | string {
  if (typeof source !== 'string' || source.length === 0) {
    return 'must be a non-empty string';
  }
  const shown = JSON.stringify(source.slice(0, 80));
  if (source.length > MAX_PATTERN_LENGTH) {
    return `${shown}... is longer than ${MAX_PATTERN_LENGTH} characters`;
  }
  let regex: RegExp;
  try {
    regex = new RegExp(source, 'i');
  } catch (e) {
    return `${shown} is not a valid regular expression: ${
      (e as Error).message
    }`;
  }
  if (NESTED_QUANTIFIER.test(source)) {
    return `${shown} repeats a group that ends in a repetition (like (a+)+), which can take exponential time on some lines; rewrite it without the nesting`;
  }
  if (regex.test('')) {
    return `${shown} matches an empty line, so it would match every log`;
  }
  return regex;
}

/**
 * Guides become links in the portal: only paths inside it and web URLs, never
 * `javascript:` and the like.
 */
function isSafeGuide(guide: string): boolean {
  if (guide.startsWith('/')) {
    return !guide.startsWith('//') && !guide.startsWith('/\\');
  }
  return /^https?:\/\/[^\s]+$/i.test(guide);
}

/**
 * Where the failed step's section starts: the start of the line holding the
 * last `##[group]Run <step>` or `##[group]<step>` marker (the marker must
 * end its line), or -1 when there is none.
 */
function stepSectionStart(log: string, step: string | undefined): number {
  const name = step?.trim();
  if (!name || !log.includes('##[group]')) {
    return -1;
  }
  let best = -1;
  for (const marker of [`##[group]Run ${name}`, `##[group]${name}`]) {
    let from = log.length;
    for (;;) {
      const at = log.lastIndexOf(marker, from);
      if (at < 0) {
        break;
      }
      const end = at + marker.length;
      const next = log.charCodeAt(end);
      if (end === log.length || next === 10 || next === 13) {
        best = Math.max(best, at);
        break;
      }
      if (at === 0) {
        break;
      }
      from = at - 1;
    }
  }
  return best < 0 ? -1 : log.lastIndexOf('\n', best) + 1;
}

/**
 * The last `max` lines of `log` from `start` on, found from the end so that
 * a long log is not split whole.
 */
function tailLines(log: string, start: number, max: number): string[] {
  let end = log.length;
  while (end > start && (log[end - 1] === '\n' || log[end - 1] === '\r')) {
    end -= 1;
  }
  if (end <= start) {
    return [];
  }
  let begin = start;
  let cut = end;
  for (let taken = 0; taken < max; taken++) {
    const newline = cut > start ? log.lastIndexOf('\n', cut - 1) : -1;
    if (newline < start) {
      begin = start;
      break;
    }
    begin = newline + 1;
    cut = newline;
  }
  return log.slice(begin, end).split('\n');
}

function normalizeLine(raw: string, maxLength: number): string {
  // Bound the work on a pathological line before anything else.
  let line = raw.length > maxLength * 4 ? raw.slice(0, maxLength * 4) : raw;
  if (line.includes('\r')) {
    const shown = line
      .split('\r')
      .filter(part => part.trim().length > 0)
      .pop();
    line = shown ?? '';
  }
  line = stripAnsi(line).replace(GITHUB_TIMESTAMP, '').trim();
  return line.length > maxLength ? line.slice(0, maxLength) : line;
}
