// Runs our real programs as child processes and watches their logs (for the tests and the bench).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli');

export type ProgramName = 'proxy' | 'gateway' | 'relay' | 'keys' | 'demo';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunningProgram {
  readonly proc: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the match once a stderr (log) line matches; rejects on exit or timeout. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves once stdout matches. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  readonly exited: Promise<Exit>;
  /** Sends the signal and waits for the exit. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
}

/** Every program still running; a test that failed before stopping one must not leave it behind. */
const running = new Set<ChildProcess>();

/** Kills every program still running (the test runner calls it once a test file's tests end: test/setup.ts). */
export function killRunningPrograms(): void {
  for (const proc of running) proc.kill('SIGKILL');
}

/** `spawn`, and the process is killed with the others if its test fails before stopping it (carbon, etcd, HAProxy…). */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const proc = spawn(command, args, options);
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  return proc;
}

export function programPath(name: ProgramName): string {
  return join(cliDir, `${name}.js`);
}

/**
 * The forward-proxy variables polymur-proxy honours: a test's programs talk over loopback, so the
 * runner's own (a developer behind an egress proxy) are not passed on; a test sets them as it needs.
 */
const EGRESS_PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'];

function childEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const inherited = { ...process.env };
  for (const name of EGRESS_PROXY_VARIABLES) delete inherited[name];
  return { ...inherited, ...env };
}

/** `nodeArgs` go to node itself (e.g. --cpu-prof, which NODE_OPTIONS does not allow). */
export function startProgram(name: ProgramName, args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): RunningProgram {
  const proc = spawnTracked(process.execPath, [...nodeArgs, programPath(name), ...args], {
    env: childEnvironment(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const watchers: Array<{ stream: 'out' | 'err'; pattern: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  const check = (): void => {
    for (let i = watchers.length - 1; i >= 0; i--) {
      const w = watchers[i]!;
      const m = (w.stream === 'out' ? out : err).match(w.pattern);
      if (m) {
        watchers.splice(i, 1);
        w.resolve(m);
      }
    }
  };
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    check();
  });
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err += s;
    if (process.env.POLYMUR_TEST_VERBOSE) process.stderr.write(`[${name}] ${s}`);
    check();
  });
  const exited = new Promise<Exit>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));

  const waitFor = (stream: 'out' | 'err', pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${name}: no ${stream === 'out' ? 'stdout' : 'log'} line matching ${pattern} within ${timeoutMs} ms\n--- stderr:\n${err.slice(-3000)}`));
      }, timeoutMs);
      const done = (m: RegExpMatchArray): void => {
        clearTimeout(timer);
        resolve(m);
      };
      watchers.push({ stream, pattern, resolve: done });
      check();
      void exited.then((e) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${e.code ?? e.signal}) before a line matched ${pattern}\n--- stderr:\n${err.slice(-3000)}`));
      });
    });

  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    waitForLog: (p, t) => waitFor('err', p, t),
    waitForStdout: (p, t) => waitFor('out', p, t),
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const e = await exited;
      clearTimeout(timer);
      return e;
    },
  };
}

/** Runs a program to completion. */
export async function runToExit(name: ProgramName, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Exit & { stdout: string; stderr: string }> {
  const p = startProgram(name, args, env);
  const e = await p.exited;
  // Let the pipes drain.
  await new Promise<void>((r) => (p.proc.stdout!.readableEnded ? r() : p.proc.stdout!.once('end', () => r())));
  return { ...e, stdout: p.stdout(), stderr: p.stderr() };
}
