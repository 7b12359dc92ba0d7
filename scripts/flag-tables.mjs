// Prints the README's flag tables from the programs' flag tables (node scripts/flag-tables.mjs after a build).
import { PROXY_FLAGS, GATEWAY_FLAGS, RELAY_FLAGS } from '../dist/src/config/programs.js';
import { envName } from '../dist/src/config/flags.js';

const programs = [
  ['polymur-proxy', PROXY_FLAGS, 'POLYMUR_PROXY'],
  ['polymur-gateway', GATEWAY_FLAGS, 'POLYMUR_GW'],
  ['polymur', RELAY_FLAGS, 'POLYMUR'],
];
for (const [name, flags, prefix] of programs) {
  console.log(`### ${name}\n\n| flag | type | default | environment | meaning |\n| --- | --- | --- | --- | --- |`);
  for (const f of [...flags].sort((a, b) => a.name.localeCompare(b.name))) {
    const def = f.type === 'string' ? (f.default === '' ? '""' : `"${f.default}"`) : String(f.default);
    console.log(`| \`-${f.name}\` | ${f.type} | \`${def}\` | \`${envName(prefix, f.name)}\` | ${f.usage} |`);
  }
  console.log();
}
