// `npm run check:layers`: no circular import, and no import from a lower layer to a higher one (the
// layers are in scripts/layers.mjs). Reads the TypeScript sources with TypeScript's own
// preprocessor (imports, `export … from`, `import type`, dynamic import()), so comments and strings
// never count. Exits 1 with every offending import listed.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { LAYERS } from './layers.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROOTS = ['src', 'harness', 'test', 'bench'];

function sources(dir) {
  const out = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The layer rank of a file and the folder of the table it belongs to; undefined when no folder claims it. */
function place(file) {
  for (const [rank, layer] of LAYERS.entries()) {
    for (const folder of layer.folders) if (file === folder || file.startsWith(`${folder}/`)) return { rank, folder };
  }
  return undefined;
}

/** The local files a source imports (a `.js` specifier names the `.ts` beside it). */
function importsOf(file) {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
  return importedFiles
    .map((i) => i.fileName)
    .filter((spec) => spec.startsWith('./') || spec.startsWith('../'))
    .map((spec) => normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts'));
}

const files = ROOTS.flatMap((r) => sources(r));
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const problems = [];

for (const file of files) {
  const from = place(file);
  if (!from) {
    problems.push(`${file}: its folder is in no layer (add it to scripts/layers.mjs)`);
    continue;
  }
  for (const target of graph.get(file)) {
    const to = place(target);
    if (!to) continue; // outside the layered tree (package.json, a .mjs script): not ours to rank
    if (to.folder === from.folder) continue;
    if (to.rank > from.rank) problems.push(`${file} imports ${target}: ${from.folder} may not import ${to.folder}, a higher layer`);
    else if (to.rank === from.rank) problems.push(`${file} imports ${target}: ${from.folder} and ${to.folder} are one layer and stay independent`);
  }
}

// Cycles: each strongly connected group of files (Tarjan) is one problem, shown by one cycle in it.
function stronglyConnected() {
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const groups = [];
  let next = 0;
  const visit = (file) => {
    index.set(file, next);
    low.set(file, next++);
    stack.push(file);
    onStack.add(file);
    for (const to of graph.get(file)) {
      if (!graph.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file), low.get(to)));
      } else if (onStack.has(to)) low.set(file, Math.min(low.get(file), index.get(to)));
    }
    if (low.get(file) !== index.get(file)) return;
    const group = [];
    for (let f; f !== file;) {
      f = stack.pop();
      onStack.delete(f);
      group.push(f);
    }
    if (group.length > 1 || graph.get(file).includes(file)) groups.push(group);
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return groups;
}

/** The shortest way from `start` back to itself inside the group (breadth first). */
function cycleIn(group) {
  const members = new Set(group);
  const start = [...group].sort()[0];
  const from = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift();
    for (const to of graph.get(file)) {
      if (to === start) {
        const path = [file];
        for (let f = from.get(file); f !== undefined; f = from.get(f)) path.unshift(f);
        return [...path, start];
      }
      if (members.has(to) && !from.has(to)) {
        from.set(to, file);
        queue.push(to);
      }
    }
  }
  return group;
}

for (const group of stronglyConnected()) {
  problems.push(`circular import among ${group.length} file(s): ${cycleIn(group).join(' -> ')}`);
}

const edges = [...graph.values()].reduce((n, targets) => n + targets.length, 0);
if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error(`check-layers: ${problems.length} problem(s) in ${files.length} files`);
  process.exit(1);
}
console.log(`check-layers: ${files.length} files, ${edges} imports, ${LAYERS.length} layers: no circular import, none upward`);
