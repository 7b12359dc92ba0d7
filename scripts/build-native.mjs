// Builds the native addons (native/) with npm's own node-gyp; `npm install` runs it: the line
// passes (lines.c, a C compiler is all it needs: built first) and the ISA-L gzip. Where ISA-L's
// headers (Debian: libisal-dev) or a compiler are missing, the build fails and polymur-proxy gzips
// with node:zlib instead (and, without a compiler, validates in JavaScript): that is a warning
// here, never a failed install.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = fileURLToPath(new URL('../native/', import.meta.url));
// npm puts its node-gyp's path in every script's environment, and the headers' folder if configured.
const nodeGyp = process.env.npm_config_node_gyp;
const nodedir = process.env.npm_config_nodedir;

function warn(why) {
  console.warn(
    `polymur: the ISA-L gzip addon was not built (${why}).\n` +
      'polymur-proxy will gzip with node:zlib, at about three times the CPU per point.\n' +
      "To build it: apt-get install libisal-dev (or your system's ISA-L headers), then npm run build:native.",
  );
}

if (!nodeGyp) {
  warn('run it through npm: npm run build:native');
} else {
  const args = [nodeGyp, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const build = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8' });
  if (build.status !== 0) {
    const output = `${build.stdout ?? ''}${build.stderr ?? ''}`.trim().split('\n');
    const cause = output.find((line) => /error|not found|No such file/i.test(line) && !line.startsWith('gyp ERR! stack')) ?? output.at(-1);
    warn(build.error ? build.error.message : (cause ?? `node-gyp exited with ${build.status}`));
    // The line passes need no ISA-L: where node-gyp got as far as writing the Makefile, build them alone.
    const lines = spawnSync('make', ['-C', join(nativeDir, 'build'), 'polymur_lines'], { encoding: 'utf8' });
    if (lines.status === 0) console.log('polymur: built the line passes alone (native/build/Release/polymur_lines.node)');
    else console.warn('polymur: the native line passes were not built either: validation runs in JavaScript, at about four times the CPU per line.');
  } else {
    console.log('polymur: built the native addons (native/build/Release/polymur_lines.node, isal_gzip.node)');
  }
}
