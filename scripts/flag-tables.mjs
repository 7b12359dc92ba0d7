// Prints the README's flag tables from the programs' flag tables (node scripts/flag-tables.mjs after a build),
// then the table of the ranges checked at start.
import { PROXY_FLAGS, GATEWAY_FLAGS, RELAY_FLAGS } from '../dist/src/config/programs.js';
import { describeRange, envName } from '../dist/src/config/flags.js';

const programs = [
  ['polymur-proxy', PROXY_FLAGS, 'POLYMUR_PROXY'],
  ['polymur-gateway', GATEWAY_FLAGS, 'POLYMUR_GW'],
  ['polymur', RELAY_FLAGS, 'POLYMUR'],
];
const byName = (a, b) => a.name.localeCompare(b.name);
for (const [name, flags, prefix] of programs) {
  console.log(`### ${name}\n\n| flag | type | default | environment | meaning |\n| --- | --- | --- | --- | --- |`);
  for (const f of [...flags].sort(byName)) {
    const def = f.type === 'string' ? (f.default === '' ? '""' : `"${f.default}"`) : String(f.default);
    console.log(`| \`-${f.name}\` | ${f.type} | \`${def}\` | \`${envName(prefix, f.name)}\` | ${f.usage} |`);
  }
  console.log();
}
// One row a flag name: a flag shared by programs is one entry, with one range.
const ranged = new Map();
for (const [name, flags] of programs) {
  for (const f of flags) {
    const range = describeRange(f);
    if (range === undefined) continue;
    const row = ranged.get(f.name) ?? { flag: f, range, programs: [] };
    if (row.range !== range) throw new Error(`-${f.name} has two ranges: ${row.range} and ${range}`);
    row.programs.push(name);
    ranged.set(f.name, row);
  }
}
console.log('| flag | accepts | programs |\n| --- | --- | --- |');
for (const { flag, range, programs: names } of [...ranged.values()].sort((a, b) => byName(a.flag, b.flag))) {
  console.log(`| \`-${flag.name}\` | ${range} | ${names.join(', ')} |`);
}
