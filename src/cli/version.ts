// What -version prints: the program, the package's version, Node's, and the proxy's gzip engine.
import { readFileSync } from 'node:fs';
import { gzipEngine, gzipEngineId } from '../forward/gzip.js';
import type { Registry } from '../observe/metrics.js';
import { createProgramRegistry } from '../observe/process-metrics.js';

/** package.json from dist/src/cli/ (in the checkout and in an installed package alike). */
const PACKAGE_JSON = new URL('../../../package.json', import.meta.url);

export const packageVersion: string = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;

export function versionText(program: string): string {
  return `${program} ${packageVersion} (Node.js ${process.version}; ${gzipEngine})`;
}

/** The program's metrics registry, labelled with this build (polymur_build_info). */
export function programRegistry(program: string): Registry {
  return createProgramRegistry({ program, version: packageVersion, gzip: gzipEngineId });
}
