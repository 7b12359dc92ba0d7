// deploy/systemd: the units pass `systemd-analyze verify` (with ExecStart pointed at this checkout's
// programs, as an install would), say nothing it warns about, and every variable of the example
// environment files is a flag of its program with a value the program accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envName, parseFlags, type FlagSpec } from '../../src/config/flags.js';
import { GATEWAY_FLAGS, PROXY_FLAGS, RELAY_FLAGS } from '../../src/config/programs.js';
import { programPath, type ProgramName } from '../../harness/programs.js';

const deploy = join(process.cwd(), 'deploy', 'systemd');
const UNITS: Array<{ unit: string; program: ProgramName; flags: readonly FlagSpec[]; prefix: string }> = [
  { unit: 'polymur-proxy', program: 'proxy', flags: PROXY_FLAGS, prefix: 'POLYMUR_PROXY' },
  { unit: 'polymur-gateway', program: 'gateway', flags: GATEWAY_FLAGS, prefix: 'POLYMUR_GW' },
  { unit: 'polymur', program: 'relay', flags: RELAY_FLAGS, prefix: 'POLYMUR' },
];

function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `${path}: not NAME=value: ${line}`);
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

test('the systemd units pass systemd-analyze verify without a warning', () => {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-units-'));
  try {
    const paths = UNITS.map(({ unit, program }) => {
      const text = readFileSync(join(deploy, `${unit}.service`), 'utf8');
      assert.match(text, new RegExp(`^ExecStart=/usr/local/bin/${unit}$`, 'm'));
      assert.match(text, new RegExp(`^EnvironmentFile=/etc/polymur/${unit}\\.env$`, 'm'));
      for (const setting of ['StateDirectory=', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'User=polymur']) {
        assert.ok(text.includes(`\n${setting}`), `${unit}: ${setting}`);
      }
      const local = text
        .replace(/^ExecStart=.*$/m, `ExecStart=${process.execPath} ${programPath(program)}`)
        .replace(/^EnvironmentFile=.*$/m, `EnvironmentFile=${join(deploy, `${unit}.env`)}`);
      const path = join(dir, `${unit}.service`);
      writeFileSync(path, local);
      return path;
    });
    const r = spawnSync('systemd-analyze', ['verify', ...paths], { encoding: 'utf8', timeout: 60_000 });
    // Debian's own units (carbon-cache's) draw warnings too; only ours count.
    const ours = `${r.stdout}${r.stderr}`.split('\n').filter((l) => UNITS.some(({ unit }) => l.includes(`${unit}.service`)));
    assert.deepEqual(ours, [], ours.join('\n'));
    assert.equal(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const gateway = readFileSync(join(deploy, 'polymur-gateway.service'), 'utf8');
  assert.match(gateway, /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
});

test('every variable in the example environment files is a flag of its program, with a valid value', () => {
  for (const { unit, flags, prefix } of UNITS) {
    const env = readEnvFile(join(deploy, `${unit}.env`));
    const known = new Set(flags.map((f) => envName(prefix, f.name)));
    for (const name of Object.keys(env)) assert.ok(known.has(name), `${unit}.env: ${name} is not a flag of ${unit}`);
    // Values convert as the program converts them (a bad one throws).
    parseFlags(flags, [], env, prefix);
  }
});
