// The rule files of the bench's "relay hash-route with rules": 10 rewrite rules that rename every
// name of the load (collectd.host-NNN.plugin.type.N) and a 100-line blacklist that drops none of
// it (so every point still arrives and is counted), each name tried against all 100 patterns.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REWRITE = String.raw`[pre]
^collectd\.host-(\d+)\. = servers.host\1.
\.cpu-(\d+)\.cpu-(\w+) = .cpu.\1.\2
\.df-root\. = .disk.root.
\.disk-sda\. = .disk.sda.
_complex- = .
^servers\.host9(\d\d)\. = servers.edge9\1.
\.memory\.memory- = .mem.
\.load\.load = .load
\.interface-(eth\d)\. = .net.\1.
\.\.+ = .
`;

const BLACKLIST =
  Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? String.raw`\.debug${i}$` : String.raw`^collectd\.host-${String(i).padStart(3, '0')}\.never\.${i}\.`)).join('\n') + '\n';

/** Writes the files to a new temporary directory; the relay flags that read them. */
export function writeBenchRules(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-bench-rules-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'rewrite-rules.conf'), REWRITE);
  writeFileSync(join(dir, 'blacklist.conf'), BLACKLIST);
  return ['-rewrite-rules', join(dir, 'rewrite-rules.conf'), '-blacklist', join(dir, 'blacklist.conf')];
}
