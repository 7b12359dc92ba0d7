// Runs the compiled test files, each in its own `node --test` process, and prints each file's
// output whole when it ends (so two running at once do not interleave), then one summary.
//
//   node test/run.mjs               every file
//   node test/run.mjs SUBSTRING     the files whose path contains it (e.g. hardening/spool)
//   node test/run.mjs --unit        the files that need no peer: none spawns a program, carbon,
//                                   etcd or anything else (see `needsPeers` below), so no root either
//   node test/run.mjs --list [...]  which files those are, and how each runs
//
// Most files run two at a time (the machine has two cores, and a file spends most of its time
// waiting on sockets and child processes). The timing-sensitive ones (hardening/, faults/ and the
// bench test: loads, kills, deadlines and peak RSS) run afterwards one at a time, alone, so that
// none shares the cores with another. TEST_JOBS sets how many of the others run at once.
// A file that mostly waits on a fixed wall-clock span with its programs nearly idle, and checks
// nothing a busy core could change (delivery, peak RSS: no latency, no rate), runs beside the
// paired ones instead of alone (faults/gateway-outage: the gateway gone for 60 s while a
// spooling proxy takes 10,000 points a second), so its minute is not added to the alone pool's.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ROOT = 'dist/test';
const TIMING_SENSITIVE = [/\/hardening\//, /\/faults\//, /\/bench\/bench\.test\.js$/];
const WALL_CLOCK_BOUND = [/\/faults\/gateway-outage\.test\.js$/];

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

/** The relative imports of a compiled file, as paths. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const out = [];
  for (const m of text.matchAll(/\bfrom\s+'(\.[^']+)'|\bimport\s*\(\s*'(\.[^']+)'\s*\)/g)) {
    const p = resolve(dirname(file), m[1] ?? m[2]);
    if (existsSync(p)) out.push(p);
  }
  return out;
}

/** A file that starts child processes, itself or through the test and bench helpers it imports
 * (the programs, carbon, etcd, collectd, tinyproxy, prometheus, mounts), needs peers (and some, root). */
function needsPeers(file, seen = new Set()) {
  const p = resolve(file);
  if (seen.has(p)) return false;
  seen.add(p);
  if (/\bfrom\s+'node:child_process'/.test(readFileSync(p, 'utf8'))) return true;
  // src/ is what is under test; only test/ and bench/ code starts peers.
  return importsOf(p).some((q) => !q.includes(`${join('dist', 'src')}/`) && needsPeers(q, seen));
}

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filter = args.find((a) => !a.startsWith('--'));
let files = find(ROOT)
  .filter((f) => !filter || f.includes(filter))
  .sort();
if (unitOnly) files = files.filter((f) => !needsPeers(f));
if (files.length === 0) {
  console.error(`no test file matches ${filter ?? '(all)'}`);
  process.exit(1);
}
const beside = (f) => WALL_CLOCK_BOUND.some((re) => re.test(f));
const timed = (f) => !beside(f) && TIMING_SENSITIVE.some((re) => re.test(f));
if (args.includes('--list')) {
  for (const f of files) console.log(`${needsPeers(f) ? 'peers' : 'unit '} ${beside(f) ? 'beside' : timed(f) ? 'alone' : 'paired'} ${f}`);
  process.exit(0);
}
const jobs = Math.max(1, Number(process.env.TEST_JOBS) || Math.min(2, availableParallelism()));

const totals = { tests: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
const failedFiles = [];
const durations = [];

function runFile(file) {
  const started = Date.now();
  return new Promise((done) => {
    // test/setup.js goes into each test file's process: it stops the programs a test left running.
    const child = spawn(process.execPath, ['--import', './dist/test/setup.js', '--test', '--test-reporter=spec', '--test-timeout=300000', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.stdout.isTTY ? { ...process.env, FORCE_COLOR: '1' } : process.env,
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s) => (out += s));
    child.on('close', (code, signal) => {
      const seconds = (Date.now() - started) / 1000;
      durations.push([seconds, file]);
      const counts = {};
      // The per-file summary lines (ℹ tests N, ℹ pass N, ...) are added up and shown once at the end.
      const kept = out.split('\n').filter((line) => {
        const m = /^(?:\u001b\[[0-9;]*m)?ℹ (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ([\d.]+)/.exec(line);
        if (m) counts[m[1]] = Number(m[2]);
        return !m;
      });
      for (const k of Object.keys(totals)) totals[k] += counts[k] ?? 0;
      const ok = code === 0 && (counts.fail ?? 0) === 0;
      if (!ok) {
        failedFiles.push(file);
        // A file that died before reporting still counts as a failure.
        if (!counts.fail) totals.fail++;
      }
      process.stdout.write(`\n# ${file} (${seconds.toFixed(1)} s${ok ? '' : `, FAILED: exit ${code ?? signal}`})\n${kept.join('\n').trimEnd()}\n`);
      done();
    });
  });
}

async function pool(list, width) {
  const queue = [...list];
  const worker = async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) await runFile(f);
  };
  await Promise.all(Array.from({ length: Math.min(width, list.length) }, worker));
}

const started = Date.now();
await Promise.all([
  pool(
    files.filter((f) => !timed(f) && !beside(f)),
    jobs,
  ),
  pool(files.filter(beside), 1),
]);
await pool(files.filter(timed), 1);
const seconds = (Date.now() - started) / 1000;

durations.sort((a, b) => b[0] - a[0]);
process.stdout.write(
  `\n# slowest files: ${durations
    .slice(0, 8)
    .map(([s, f]) => `${f.slice(ROOT.length + 1)} ${s.toFixed(1)} s`)
    .join(', ')}\n`,
);
if (failedFiles.length) process.stdout.write(`# failed files:\n${failedFiles.map((f) => `#   ${f}`).join('\n')}\n`);
for (const [k, v] of Object.entries(totals)) process.stdout.write(`ℹ ${k} ${v}\n`);
process.stdout.write(`ℹ duration_ms ${Math.round(seconds * 1000)}\n`);
process.stdout.write(`${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped\n`);
process.exit(failedFiles.length || totals.fail ? 1 : 0);
