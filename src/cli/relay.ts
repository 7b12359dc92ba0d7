#!/usr/bin/env node
// polymur: the plain relay. Graphite plaintext in, Graphite plaintext out to the destinations.
import { RELAY_FLAGS } from '../config/programs.js';
import { readRelayConfig, type RelayConfig } from '../config/relay-config.js';
import { log } from '../observe/log.js';
import { startInput } from './input.js';
import { runProgram, type Running } from './program.js';
import { startOutput } from './routing.js';
import { programRegistry } from './version.js';

async function start(config: RelayConfig): Promise<Running> {
  log('::: Polymur :::');
  const registry = programRegistry('polymur');
  const output = await startOutput(config, registry);
  const input = await startInput({
    config,
    flushIntervalMs: config.flushIntervalMs,
    sink: output.sink,
    registry,
    queues: output.queues,
    readiness: output.readiness,
  });
  return {
    async shutdown() {
      await input.drain();
      await output.close();
      await input.close();
    },
  };
}

await runProgram({
  program: 'polymur',
  flags: RELAY_FLAGS,
  envPrefix: 'POLYMUR',
  readConfig: readRelayConfig,
  start,
});
