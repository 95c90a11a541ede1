import { Entity } from '@backstage/catalog-model';
import {
  getWorkflowPatterns,
  matchesWorkflowPattern,
  MAX_WORKFLOW_PATTERN_LENGTH,
  MAX_WORKFLOW_PATTERNS,
  readWorkflowPatterns,
} from './annotations';
import { compileGlob, matchesGlob } from './glob';

/** The glob's meaning, as the regular expression it used to be built into. */
function reference(value: string, pattern: string): boolean {
  const source = pattern
    .split('')
    .map(c => {
      if (c === '*') return '.*';
      if (c === '?') return '.';
      return c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`, 's').test(value);
}

/** Every string over `alphabet` of length 0 to `max`. */
function all(alphabet: string[], max: number): string[] {
  const out = [''];
  let level = [''];
  for (let n = 1; n <= max; n++) {
    level = level.flatMap(prefix => alphabet.map(c => prefix + c));
    out.push(...level);
  }
  return out;
}

const entity = (workflows: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'x',
    annotations: { 'ci-experience.io/workflows': workflows },
  },
});

describe('glob', () => {
  it('means what the regular expression meant, for every short pattern and value', () => {
    // 341 patterns x 63 values: every combination, nothing sampled.
    const patterns = all(['a', 'b', '*', '?'], 4);
    const values = all(['a', 'b'], 5);
    const wrong: string[] = [];
    for (const pattern of patterns) {
      const glob = compileGlob(pattern);
      for (const value of values) {
        if (glob.matches(value) !== reference(value, pattern)) {
          wrong.push(`${JSON.stringify(pattern)} ~ ${JSON.stringify(value)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('matches names and paths as workflow patterns are written', () => {
    expect(
      matchesGlob(
        '.github/workflows/payments-ci.yml',
        '.github/workflows/payments-*.yml',
      ),
    ).toBe(true);
    expect(
      matchesGlob(
        '.github/workflows/web-ci.yml',
        '.github/workflows/payments-*.yml',
      ),
    ).toBe(false);
    expect(matchesGlob('Payments CI', 'Payments CI')).toBe(true);
    expect(matchesGlob('Payments CI', 'payments ci')).toBe(false);
    expect(matchesGlob('a.b', 'a?b')).toBe(true);
    expect(matchesGlob('a/b/c', 'a*c')).toBe(true);
    expect(matchesGlob('(x)+[y]', '(x)+[y]')).toBe(true);
    expect(matchesGlob('ab', '(x)+[y]')).toBe(false);
    expect(matchesGlob('💥 deploy', '? deploy')).toBe(true);
  });

  it('runs thirty stars against a long path to the right answer: no backtracking', () => {
    // As a regular expression, `*a*a…*a*b` against a long run of `a`s
    // backtracks through every way of splitting it: it never ends.
    const path = `${'a/'.repeat(50_000)}a`;
    expect(matchesGlob(path, `${'*a'.repeat(29)}*b`)).toBe(false);
    expect(matchesGlob(`${path}b`, `${'*a'.repeat(29)}*b`)).toBe(true);
    expect(matchesGlob(path, `${'*'.repeat(30)}b`)).toBe(false);
    expect(matchesGlob(path, '*'.repeat(30))).toBe(true);
    // 300 tokens: the states span ten words.
    expect(matchesGlob(path, `${'*a'.repeat(150)}`)).toBe(true);
    expect(matchesGlob(path, `${'*a'.repeat(150)}?`)).toBe(false);
  });

  it('builds no regular expression from the pattern', () => {
    const made = jest.spyOn(global, 'RegExp');
    try {
      expect(
        matchesWorkflowPattern('deploy.yml', ['x(?=y)', '[', '*.yml']),
      ).toBe(true);
      expect(made).not.toHaveBeenCalled();
    } finally {
      made.mockRestore();
    }
  });

  it('caps the patterns an entity may list, in count and in length', () => {
    const many = Array.from(
      { length: MAX_WORKFLOW_PATTERNS + 1 },
      (_, i) => `w${i}`,
    ).join(',');
    expect(readWorkflowPatterns(entity(many))).toEqual({
      patterns: undefined,
      error: `ci-experience.io/workflows lists ${
        MAX_WORKFLOW_PATTERNS + 1
      } patterns; at most ${MAX_WORKFLOW_PATTERNS} are allowed`,
    });
    const long = `a, ${'x'.repeat(MAX_WORKFLOW_PATTERN_LENGTH + 1)}`;
    expect(readWorkflowPatterns(entity(long)).error).toBe(
      `ci-experience.io/workflows: pattern 2 is ${
        MAX_WORKFLOW_PATTERN_LENGTH + 1
      } characters long; at most ${MAX_WORKFLOW_PATTERN_LENGTH} are allowed`,
    );
    // Broken limits claim no workflow at all, rather than all of them.
    expect(getWorkflowPatterns(entity(many))).toEqual([]);
    expect(getWorkflowPatterns(entity(' a , b* '))).toEqual(['a', 'b*']);
    expect(
      getWorkflowPatterns(
        entity(
          Array.from({ length: MAX_WORKFLOW_PATTERNS }, (_, i) => i).join(','),
        ),
      ),
    ).toHaveLength(MAX_WORKFLOW_PATTERNS);
  });
});
