// Builds the native addons with npm's own node-gyp; `npm install` runs it:
// - native/: the ISA-L gzip addon. Where ISA-L's headers (Debian: libisal-dev) or a compiler are
//   missing, its build fails and polymur-proxy gzips with node:zlib instead.
// - native/lines/: validation's line passes and the tenants' names sketch, which need no library.
//   Without a compiler, they run in JavaScript instead.
// - native/md5/: hash-route's MD5 (carbon_ch), which needs no library. Without a compiler,
//   hash-route hashes in JavaScript instead.
// - native/tcp-diag/: a connection's kernel queues by sock_diag (Linux), for the resend window and
//   the write watchdog. Without it they read /proc/net/tcp, some 10 ms a read.
// A failed build is a warning here, never a failed install.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// npm puts its node-gyp's path in every script's environment, and the headers' folder if configured.
const nodeGyp = process.env.npm_config_node_gyp;
const nodedir = process.env.npm_config_nodedir;

const ADDONS = [
  {
    dir: '../native/lines/',
    name: 'the line-validation addon',
    file: 'native/lines/build/Release/polymur_lines.node',
    fallback: 'polymur-gateway and polymur-proxy will validate lines in JavaScript, at about three times the CPU per line.\nTo build it: a C compiler, then npm run build:native.',
  },
  {
    dir: '../native/',
    name: 'the ISA-L gzip addon',
    file: 'native/build/Release/isal_gzip.node',
    fallback:
      'polymur-proxy will gzip with node:zlib, at about three times the CPU per point.\n' +
      "To build it: apt-get install libisal-dev (or your system's ISA-L headers), then npm run build:native.",
  },
  {
    dir: '../native/md5/',
    name: "hash-route's MD5 addon",
    file: 'native/md5/build/Release/polymur_md5.node',
    fallback:
      'hash-route (carbon_ch) will compute MD5 in JavaScript, at some 0.1 CPU seconds more per million new metric names.\nTo build it: a C compiler, then npm run build:native.',
  },
  {
    dir: '../native/tcp-diag/',
    name: 'the sock_diag addon',
    file: 'native/tcp-diag/build/Release/polymur_tcp_diag.node',
    fallback:
      'the resend window and the write watchdog will read /proc/net/tcp (some 10 ms a read), and the window is trimmed every 100 ms above 4 MiB instead of every 20 ms.\nTo build it: a C compiler, then npm run build:native.',
  },
];

function warn(addon, why) {
  console.warn(`polymur: ${addon.name} was not built (${why}).\n${addon.fallback}`);
}

for (const addon of ADDONS) {
  if (!nodeGyp) {
    warn(addon, 'run it through npm: npm run build:native');
    continue;
  }
  const args = [nodeGyp, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const build = spawnSync(process.execPath, args, { cwd: fileURLToPath(new URL(addon.dir, import.meta.url)), encoding: 'utf8' });
  if (build.status !== 0) {
    const output = `${build.stdout ?? ''}${build.stderr ?? ''}`.trim().split('\n');
    const cause = output.find((line) => /error|not found|No such file/i.test(line) && !line.startsWith('gyp ERR! stack')) ?? output.at(-1);
    warn(addon, build.error ? build.error.message : (cause ?? `node-gyp exited with ${build.status}`));
  } else {
    console.log(`polymur: built ${addon.name} (${addon.file})`);
  }
}
