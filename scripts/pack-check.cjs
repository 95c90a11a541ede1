/* eslint-disable no-console */
/**
 * `yarn pack:check`: builds and packs every publishable package the way it
 * would be published, and fails when a pack misses a file it needs.
 *
 * Per package not marked `private` (plugins/*, packages/*):
 *   1. `backstage-cli package build` (after `yarn tsc`, which writes the
 *      declarations the build bundles);
 *   2. `backstage-cli package prepack` (package.json takes its
 *      `publishConfig`, `exports` point into dist), `npm pack --dry-run
 *      --json`, then `backstage-cli package postpack` (package.json back);
 *   3. the pack must hold: README.md, package.json's `main`, `module`,
 *      `types`, every `exports` and `typesVersions` target, its
 *      `configSchema` file, and every migration of the package.
 *
 * The built dist/ folders are left (git-ignored); `--clean` removes them.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const launcher = path.join(root, '.yarn', 'launcher.cjs');

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: process.env });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
const cli = (args, cwd) =>
  run(process.execPath, [launcher, 'backstage-cli', ...args], cwd);

/** The package dirs to check: every workspace package not marked private. */
function publishable() {
  const dirs = [];
  for (const group of ['plugins', 'packages']) {
    const base = path.join(root, group);
    if (!fs.existsSync(base)) continue;
    for (const name of fs.readdirSync(base).sort()) {
      const file = path.join(base, name, 'package.json');
      if (!fs.existsSync(file)) continue;
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (!pkg.private) dirs.push(path.join(base, name));
    }
  }
  return dirs;
}

/** Every file path a packed package.json says it needs. */
function needed(pkg, dir) {
  const want = new Set(['package.json', 'README.md']);
  const add = p => {
    // Paths only: `exports` also carries Backstage's feature markers
    // (`"backstage": "@backstage/BackendFeature"`).
    if (typeof p !== 'string' || p.includes('*') || p.startsWith('@')) return;
    want.add(path.posix.normalize(p.replace(/^\.\//, '')));
  };
  add(pkg.main);
  add(pkg.module);
  add(pkg.types);
  add(pkg.configSchema);
  const walk = v => {
    if (typeof v === 'string') add(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(pkg.exports);
  walk(pkg.typesVersions);
  const migrations = path.join(dir, 'migrations');
  if (fs.existsSync(migrations)) {
    for (const f of fs.readdirSync(migrations)) {
      if (f.endsWith('.js')) want.add(`migrations/${f}`);
    }
  }
  return [...want];
}

function check(dir) {
  const rel = path.relative(root, dir);
  const problems = [];
  const build = cli(['package', 'build'], dir);
  if (!build.ok) {
    return [`build failed:\n${build.out.slice(-2000)}`];
  }
  const pkgFile = path.join(dir, 'package.json');
  const before = fs.readFileSync(pkgFile, 'utf8');
  const prepack = cli(['package', 'prepack'], dir);
  try {
    if (!prepack.ok) {
      return [`prepack failed:\n${prepack.out.slice(-2000)}`];
    }
    const packed = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
    const pack = run(
      'npm',
      ['pack', '--dry-run', '--json', '--ignore-scripts'],
      dir,
    );
    if (!pack.ok) {
      return [`npm pack failed:\n${pack.out.slice(-2000)}`];
    }
    const json = JSON.parse(pack.out.slice(pack.out.indexOf('[')));
    const files = new Set(json[0].files.map(f => f.path));
    for (const file of needed(packed, dir)) {
      if (!files.has(file)) problems.push(`the pack misses ${file}`);
    }
    console.log(
      `${rel}: ${json[0].name}@${json[0].version}, ${files.size} files, ${(
        json[0].size / 1024
      ).toFixed(0)} KiB packed`,
    );
  } finally {
    cli(['package', 'postpack'], dir);
    if (fs.readFileSync(pkgFile, 'utf8') !== before) {
      fs.writeFileSync(pkgFile, before);
    }
  }
  return problems;
}

let failed = 0;
for (const dir of publishable()) {
  const problems = check(dir);
  for (const p of problems) {
    failed += 1;
    console.error(`${path.relative(root, dir)}: ${p}`);
  }
  if (process.argv.includes('--clean')) {
    fs.rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
  }
}
console.log(
  failed
    ? `pack check: ${failed} problems`
    : 'pack check: every pack holds what it needs',
);
process.exit(failed ? 1 : 0);
