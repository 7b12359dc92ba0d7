#!/usr/bin/env node
// polymur: the plain relay. Graphite plaintext in, Graphite plaintext out to the destinations.
import { RELAY_FLAGS } from '../config/programs.js';
import { readRelayConfig, type RelayConfig } from '../config/relay-config.js';
import { log } from '../observe/log.js';
import { startInput } from './input.js';
import { keptIn, LOST, runProgram, type Running, type StartUp } from './program.js';
import { createReloader } from './reload.js';
import { createRulesSink } from '../rules/rules-sink.js';
import { startOutput } from './routing.js';
import { programRegistry } from './version.js';

async function start(config: RelayConfig, startUp: StartUp): Promise<Running> {
  log('::: Polymur :::');
  const registry = programRegistry('polymur');
  const output = await startOutput(config, registry);
  for (const [name, stage] of output.stages) startUp.track(name, stage);
  const input = await startInput({
    config,
    flushIntervalMs: config.flushIntervalMs,
    sink: output.rules.active ? createRulesSink(output.sink, output.rules) : output.sink,
    registry,
    queues: output.queues,
    readiness: output.readiness,
  });
  return {
    stages: [...input.stages, ...output.stages, ['stat server', input.statServer]],
    undelivered: () => [
      [output.undelivered(), keptIn(config.spoolDir)],
      [input.batcher.held(), LOST],
    ],
    reload: createReloader(output.reloadParts, log),
  };
}

await runProgram({
  program: 'polymur',
  flags: RELAY_FLAGS,
  envPrefix: 'POLYMUR',
  readConfig: readRelayConfig,
  start,
});
