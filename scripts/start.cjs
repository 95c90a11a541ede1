/*
 * `yarn start`: the local CI simulator (GitHub Actions API on :7008), then the
 * portal (app on :3000, backend on :7007). Ctrl-C stops all of them.
 */
const { spawn } = require('node:child_process');
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
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

run('CI simulator', 'yarn', [
  'workspace',
  '@ci-experience/ci-simulator',
  'start',
]);
run('Backstage', 'yarn', [
  'backstage-cli',
  'repo',
  'start',
  ...process.argv.slice(2),
]);
