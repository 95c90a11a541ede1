import fs from 'node:fs';
import path from 'node:path';

// `yarn start` (scripts/start.cjs): which config files the portal reads. The
// root's scripts belong to no package; this is the one `yarn start` runs.
const start: {
  backstageArgs(
    userArgs: string[],
    rootDir: string,
    exists?: (file: string) => boolean,
  ): string[];
  // eslint-disable-next-line @backstage/no-relative-monorepo-imports
} = require('../../../scripts/start.cjs');

const ROOT = path.resolve(__dirname, '../../..');
const at = (file: string) => path.join(ROOT, file);

describe('yarn start', () => {
  it('loads app-config.yaml, then the demo config', () => {
    expect(start.backstageArgs([], ROOT, () => false)).toEqual([
      'repo',
      'start',
      '--config',
      at('app-config.yaml'),
      '--config',
      at('app-config.demo.yaml'),
    ]);
  });

  it('loads app-config.local.yaml last when it exists, as Backstage would without --config', () => {
    const args = start.backstageArgs(
      ['--inspect'],
      ROOT,
      file => file === at('app-config.local.yaml'),
    );
    expect(args).toEqual([
      'repo',
      'start',
      '--config',
      at('app-config.yaml'),
      '--config',
      at('app-config.demo.yaml'),
      '--config',
      at('app-config.local.yaml'),
      '--inspect',
    ]);
  });

  it("loads only the caller's files when they name some", () => {
    expect(
      start.backstageArgs(['--config', 'mine.yaml'], ROOT, () => true),
    ).toEqual(['repo', 'start', '--config', 'mine.yaml']);
    expect(
      start.backstageArgs(['--config=mine.yaml'], ROOT, () => true),
    ).toEqual(['repo', 'start', '--config=mine.yaml']);
  });

  it('names files that are committed', () => {
    for (const file of start
      .backstageArgs([], ROOT, () => false)
      .filter(arg => arg.endsWith('.yaml'))) {
      expect(fs.existsSync(file)).toBe(true);
    }
  });
});
