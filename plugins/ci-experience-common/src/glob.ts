/**
 * Glob patterns (`*` any run of characters, `/` included; `?` one
 * character; the rest literal; the whole value) matched without building a
 * regular expression from them.
 *
 * Patterns come from entity annotations and config, which anyone who can
 * register an entity writes. A regular expression built from `*a*a*a*…`
 * backtracks exponentially on a long non-matching value and would freeze the
 * backend; this matcher runs the pattern as a set of states, one bit each,
 * advanced once per character of the value: O(value length × ⌈pattern
 * length / 32⌉) steps whatever the input.
 *
 * @packageDocumentation
 */

type Token = '*' | '?' | { char: string };

/**
 * A compiled glob: test it against many values.
 *
 * @public
 */
export interface Glob {
  /** The pattern it was compiled from. */
  readonly pattern: string;
  /** Whether the whole value matches the pattern. */
  matches(value: string): boolean;
}

const WORD_BITS = 32;

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  for (const char of pattern) {
    if (char === '*') {
      // `**` is `*`: repeated stars add no states.
      if (tokens[tokens.length - 1] !== '*') {
        tokens.push('*');
      }
    } else if (char === '?') {
      tokens.push('?');
    } else {
      tokens.push({ char });
    }
  }
  return tokens;
}

/**
 * Compiles a glob. State `j` means the first `j` tokens are matched; the
 * value matches when, after its last character, the last state is set.
 *
 * @public
 */
export function compileGlob(pattern: string): Glob {
  const tokens = tokenize(pattern);
  const states = tokens.length + 1;
  const words = Math.ceil(states / WORD_BITS);
  const mask = () => new Uint32Array(words);
  const set = (m: Uint32Array, bit: number) => {
    m[bit >>> 5] |= 1 << (bit & 31);
  };
  /** States that `?` moves on from. */
  const any = mask();
  /** States that a given character moves on from. */
  const byChar = new Map<string, Uint32Array>();
  /** States right after a `*`: the star may take one more character. */
  const afterStar = mask();
  /** States right before a `*`: the star may take nothing. */
  const beforeStar = mask();
  tokens.forEach((token, j) => {
    if (token === '*') {
      set(beforeStar, j);
      set(afterStar, j + 1);
    } else if (token === '?') {
      set(any, j);
    } else {
      let m = byChar.get(token.char);
      if (!m) {
        m = mask();
        byChar.set(token.char, m);
      }
      set(m, j);
    }
  });
  const last = tokens.length;

  /** `into |= (from & only) << 1`, across words. */
  const orShifted = (
    into: Uint32Array,
    from: Uint32Array,
    only: Uint32Array,
  ) => {
    let carry = 0;
    for (let w = 0; w < words; w++) {
      const bits = from[w] & only[w];
      into[w] |= ((bits << 1) | carry) >>> 0;
      carry = bits >>> 31;
    }
  };

  // Matching is synchronous: one pair of state sets per glob serves every
  // call, so a match allocates nothing.
  const scratch = [mask(), mask()];

  return {
    pattern,
    matches(value: string): boolean {
      let [current, next] = scratch;
      current.fill(0);
      set(current, 0);
      orShifted(current, current, beforeStar);
      for (const char of value) {
        const moves = byChar.get(char);
        let alive = 0;
        for (let w = 0; w < words; w++) {
          next[w] = current[w] & afterStar[w];
        }
        let carry = 0;
        for (let w = 0; w < words; w++) {
          const bits = current[w] & (any[w] | (moves ? moves[w] : 0));
          next[w] |= ((bits << 1) | carry) >>> 0;
          carry = bits >>> 31;
        }
        orShifted(next, next, beforeStar);
        for (let w = 0; w < words; w++) {
          alive |= next[w];
        }
        if (alive === 0) {
          return false;
        }
        [current, next] = [next, current];
      }
      return (current[last >>> 5] & (1 << (last & 31))) !== 0;
    },
  };
}

/**
 * Whether a value matches a glob (`*` any run of characters, `?` one
 * character, the rest literal, the whole value), in time linear in the
 * value's length.
 *
 * @public
 */
export function matchesGlob(value: string, pattern: string): boolean {
  return compileGlob(pattern).matches(value);
}
