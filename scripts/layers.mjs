// The layers of the tree, lowest first: a module imports only from its own folder or from a folder
// of a lower layer; folders of one layer do not import each other. scripts/check-layers.mjs checks it.
// A new folder goes in here (the check refuses a folder it does not know).
export const LAYERS = [
  // The error catalog: every error class of every layer takes its code from it; the loader of the
  // native addons, which the lowest layers use.
  { folders: ['src/errors.ts', 'src/native-addon.ts'] },
  {
    // The Graphite line protocol (framing, validation) and sockets/addresses/TLS: what every
    // program and the gateway share, on node: only.
    folders: ['src/protocol', 'src/net'],
  },
  // The Stage contract and timers every long-lived part implements or uses.
  { folders: ['src/lifecycle'] },
  // The batch contracts (BatchSink, BatchQueue), the batcher and the in-memory queue.
  { folders: ['src/batch'] },
  // Logs, metrics, the stat server and readiness: they read queue depths (batch), so sit above it.
  { folders: ['src/observe'] },
  // The stages, each on its own, meeting only through batch's contracts (cli wires them): the
  // spool, the plaintext listener, the proxy's forwarder, the key stores, the router.
  { folders: ['src/spool', 'src/input', 'src/forward', 'src/keys', 'src/route'] },
  // Tenants: per-key accounting, quotas and namespaces, judged from a key's record (keys/), the
  // gateway applies them;
  // and carbon's rule files (rewrite, blacklist, whitelist, tag order), read by the gateway and the
  // relay: judged per name, applied by the gateway and the relay's sink.
  { folders: ['src/tenants', 'src/rules'] },
  // The gateway checks keys (keys/) and feeds a sink a router may be, so it sits above the stages.
  { folders: ['src/gateway'] },
  // Flags into validated configs: it parses with the stages' own parsers (destinations, egress
  // proxy, dead-letter), so it sits above them.
  { folders: ['src/config'] },
  // One entry per program: builds the pipeline from everything below.
  { folders: ['src/cli'] },
  // What the tests and the bench share: spawning the programs, load and sinks.
  { folders: ['harness'] },
  // The tests and the bench: each on its own, over the programs and the harness.
  { folders: ['test', 'bench'] },
];
