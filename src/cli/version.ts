// What -version prints: the program, the package's version, Node's, and the proxy's gzip engine.
import { readFileSync } from 'node:fs';
import { gzipEngine } from '../forward/gzip.js';

/** package.json from dist/src/cli/ (in the checkout and in an installed package alike). */
const PACKAGE_JSON = new URL('../../../package.json', import.meta.url);

export const packageVersion: string = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;

export function versionText(program: string): string {
  return `${program} ${packageVersion} (Node.js ${process.version}; ${gzipEngine})`;
}
