import { mockServices } from '@backstage/backend-test-utils';
import fs from 'node:fs';
import path from 'node:path';
import { FailureClassifier } from './FailureClassifier';
import { maskSecrets, SECRET_PATTERNS } from './maskSecrets';
import {
  OTHER_SECRETS,
  SECRET_LINES,
  TOKENS,
} from './__fixtures__/secretLines';

describe('maskSecrets', () => {
  it.each(SECRET_LINES)('masks %s', (line, expected) => {
    const masked = maskSecrets(line);
    expect(masked).toContain(expected);
    for (const secret of [...Object.values(TOKENS), ...OTHER_SECRETS]) {
      expect(masked).not.toContain(secret);
    }
  });

  it('leaves lines without secrets unchanged', () => {
    const lines = [
      'npm ERR! code E404',
      "Error: Cannot find module 'left-pad'",
      '##[error]Process completed with exit code 1.',
      'FAIL src/app.test.ts (12.3 s)',
      'Token scope insufficient for this request',
      'warning: use a token instead of a password',
      'ERROR: Job failed: exit code 137',
      'remote: Support for password authentication was removed on August 13, 2021.',
      'Run actions/checkout@v4',
      'Cloning into https://github.com/acme/app.git',
      'The bearer of this message is the build',
      'eyJ is where every JWT starts',
      'AKIA is the prefix of an access key id',
      'ghp_ prefixes personal access tokens',
      '  expected: 200, received: 401',
    ];
    for (const line of lines) {
      expect(maskSecrets(line)).toBe(line);
    }
  });

  it('leaves every line of the recorded failure logs unchanged', () => {
    const dir = path.join(__dirname, '__fixtures__', 'logs');
    const changed = fs
      .readdirSync(dir)
      .filter(f => f.endsWith('.log'))
      .flatMap(f => fs.readFileSync(path.join(dir, f), 'utf8').split('\n'))
      .filter(line => maskSecrets(line) !== line);
    expect(changed).toEqual([]);
  });

  it('uses only bounded, unnested quantifiers', () => {
    expect(SECRET_PATTERNS.length).toBeGreaterThanOrEqual(14);
    for (const { source } of SECRET_PATTERNS) {
      // Escapes and character classes hold no quantifiers of their own.
      const bare = source.replace(/\\./g, '').replace(/\[[^\]]*\]/g, '');
      expect({ source, unbounded: /[*+]|\{\d+,\}/.test(bare) }).toEqual({
        source,
        unbounded: false,
      });
    }
  });

  it('masks the line a failure class quotes', () => {
    const classifier = FailureClassifier.create({
      logger: mockServices.logger.mock(),
      rules: [
        {
          id: 'push-denied',
          title: 'Push denied',
          pattern: 'Authentication failed',
          category: 'configuration',
        },
      ],
    });
    const failure = classifier.classify(
      [
        'Run git push',
        `fatal: Authentication failed for 'https://ci:${TOKENS.ghp}@github.com/acme/app.git/'`,
        '##[error]Process completed with exit code 128.',
      ].join('\n'),
    );
    expect(failure.id).toBe('push-denied');
    expect(failure.line).toBe(
      "fatal: Authentication failed for 'https://ci:ghp_***@github.com/acme/app.git/'",
    );
  });
});
