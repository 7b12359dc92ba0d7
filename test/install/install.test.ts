// The README's install command, run as written on a fresh clone of this repository into a temporary
// prefix: every program is installed and answers -version; and the same tarball installs with the
// ISA-L addon's build failing (no compiler), where the programs fall back to node:zlib.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = process.cwd();
const PROGRAMS = ['polymur-proxy', 'polymur-gateway', 'polymur', 'polymur-keys', 'pgw-key'];

function readmeInstallCommand(): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Install'));
  const command = /```sh\n(.+)\n```/.exec(section)?.[1];
  assert.ok(command, 'the README has an install command');
  return command;
}

function sh(command: string, cwd: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync('bash', ['-c', command], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 240_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

function versions(prefix: string): string[] {
  return PROGRAMS.map((name) => execFileSync(join(prefix, 'bin', name), ['-version'], { encoding: 'utf8', timeout: 10_000 }).trim());
}

// Two installs, each compiling the TypeScript and the addon: minutes on a shared 2-core machine, more
// than the runner's default 300 s per test when it is busy.
test('the README install command works on a fresh clone; the tarball also installs where the addon cannot build', { timeout: 600_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'polymur-install-'));
  try {
    const clone = join(work, 'clone');
    execFileSync('git', ['clone', '-q', repo, clone], { timeout: 60_000 });
    const { version } = JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8')) as { version: string };

    const prefix = join(work, 'prefix');
    sh(readmeInstallCommand(), clone, { npm_config_prefix: prefix });
    const installed = versions(prefix);
    for (const [i, line] of installed.entries()) {
      assert.equal(line, `${PROGRAMS[i]} ${version} (Node.js ${process.version}; ISA-L igzip, level 1)`);
    }

    // Without a compiler the addon's build fails: the install still succeeds, with a warning.
    const tarball = readdirSync(clone).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack left its tarball in the clone');
    const fallback = join(work, 'fallback');
    sh(`npm install -g --prefix ${JSON.stringify(fallback)} ./${tarball}`, clone, { CC: '/bin/false', CXX: '/bin/false' });
    for (const line of versions(fallback)) assert.match(line, new RegExp(`^\\S+ ${version} \\(Node\\.js ${process.version}; node:zlib, level 1 \\(the ISA-L addon is not built`));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
