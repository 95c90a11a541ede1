/*
 * `yarn start`: the local CI simulator (GitHub Actions API on :7008), then the
 * portal (app on :3000, backend on :7007). Ctrl-C stops all of them.
 *
 * The portal reads app-config.yaml, then app-config.demo.yaml (the
 * simulator's integrations, providers and published demo secrets, which a
 * production start never loads), then app-config.local.yaml when it exists.
 *
 * TechDocs builds the docs (the troubleshooting guides the failure classes
 * link to) with the local `mkdocs` and its `material` theme: when they are
 * missing, they are installed from Debian's packages first if this runs as
 * root or with password-less sudo; otherwise one line says how.
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const children = [];

function run(name, command, args, options = {}) {
  const child = spawn(command, args, {
    cwd: root,
    stdio: 'inherit',
    env: process.env,
    ...options,
  });
  child.on('exit', code => {
    if (!stopping) {
      process.stderr.write(
        `${name} exited with code ${code}; stopping the rest\n`,
      );
      stop(code ?? 1);
    }
  });
  children.push(child);
  return child;
}

let stopping = false;
function stop(code) {
  stopping = true;
  for (const child of children) {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
    }
  }
  setTimeout(() => process.exit(code), 500).unref();
}

const MKDOCS_PACKAGES = ['mkdocs', 'mkdocs-material'];

/** The path of a command on the PATH, or undefined. */
function which(command) {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], {
    encoding: 'utf8',
  });
  return found.status === 0 ? found.stdout.trim() || undefined : undefined;
}

/**
 * Whether the Python that runs `mkdocs` has the material theme; true when
 * that cannot be told (e.g. mkdocs is not a Python script).
 */
function hasMaterialTheme(mkdocs) {
  let firstLine;
  try {
    firstLine = fs.readFileSync(mkdocs, 'utf8').split('\n', 1)[0];
  } catch {
    return true;
  }
  const python = /^#!\s*(\S*python[\d.]*)\s*$/.exec(firstLine)?.[1];
  if (!python) {
    return true;
  }
  // Asks mkdocs itself: Debian's theme is not a Python module but a
  // directory mkdocs looks in.
  const themes = spawnSync(
    python,
    [
      '-c',
      'from mkdocs import utils; print(" ".join(utils.get_theme_names()))',
    ],
    { encoding: 'utf8' },
  );
  return themes.status !== 0 || themes.stdout.split(/\s+/).includes('material');
}

/** Installs Debian's mkdocs and mkdocs-material when they are missing. */
function ensureMkdocs() {
  const mkdocs = which('mkdocs');
  if (mkdocs && hasMaterialTheme(mkdocs)) {
    return;
  }
  const hint = `sudo apt-get install -y ${MKDOCS_PACKAGES.join(' ')}`;
  const isRoot = process.getuid?.() === 0;
  const canSudo =
    !isRoot &&
    !!which('sudo') &&
    spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if (!which('apt-get') || (!isRoot && !canSudo)) {
    process.stderr.write(
      `TechDocs pages (the troubleshooting guides) need mkdocs and its material theme, which are missing: install them with \`${hint}\` and reload the docs page.\n`,
    );
    return;
  }
  process.stdout.write(
    `Installing Debian's ${MKDOCS_PACKAGES.join(
      ' and ',
    )} for TechDocs (apt-get)...\n`,
  );
  const aptGet = (...args) => {
    const command = [
      'env',
      'DEBIAN_FRONTEND=noninteractive',
      'apt-get',
      ...args,
    ];
    const [file, ...rest] = isRoot ? command : ['sudo', '-n', ...command];
    return spawnSync(file, rest, { encoding: 'utf8', stdio: 'pipe' });
  };
  let result = aptGet('install', '-y', '-qq', ...MKDOCS_PACKAGES);
  if (result.status !== 0) {
    // Package lists may be missing or stale (fresh containers have none).
    aptGet('update', '-qq');
    result = aptGet('install', '-y', '-qq', ...MKDOCS_PACKAGES);
  }
  if (result.status !== 0) {
    const reason = `${result.stderr ?? ''}`.trim().split('\n').pop();
    process.stderr.write(
      `Could not install ${MKDOCS_PACKAGES.join(' and ')} (${
        reason || `apt-get exited with ${result.status}`
      }): TechDocs pages will not build until \`${hint}\` succeeds.\n`,
    );
  }
}

/**
 * The config files `yarn start` loads, in order: later ones override earlier
 * ones. Passing any `--config` makes Backstage skip its default
 * app-config.local.yaml, so it is named here when it exists.
 */
function demoConfigFiles(rootDir, exists = fs.existsSync) {
  const local = path.join(rootDir, 'app-config.local.yaml');
  return [
    path.join(rootDir, 'app-config.yaml'),
    path.join(rootDir, 'app-config.demo.yaml'),
    ...(exists(local) ? [local] : []),
  ];
}

/**
 * The arguments for `backstage-cli`: `repo start` with the demo config files,
 * unless the caller names their own `--config` files (then only theirs, as
 * `backstage-cli` itself does).
 */
function backstageArgs(userArgs, rootDir, exists = fs.existsSync) {
  const ownConfig = userArgs.some(
    arg => arg === '--config' || arg.startsWith('--config='),
  );
  const configArgs = ownConfig
    ? []
    : demoConfigFiles(rootDir, exists).flatMap(file => ['--config', file]);
  return ['repo', 'start', ...configArgs, ...userArgs];
}

function main() {
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  ensureMkdocs();
  run('CI simulator', 'yarn', [
    'workspace',
    '@ci-experience/ci-simulator',
    'start',
  ]);
  run('Backstage', 'yarn', [
    'backstage-cli',
    ...backstageArgs(process.argv.slice(2), root),
  ]);
}

module.exports = { backstageArgs, demoConfigFiles };

if (require.main === module) {
  main();
}
