// -destinations-file: the destinations one a line, in -destinations' syntax (host:port[:instance]),
// `#` starting a comment. Read at start and again on SIGHUP; the whole file is checked before any
// of it is used, so a file broken mid-edit changes nothing.
import { readFileSync } from 'node:fs';
import { DestinationError, parseDestination, parseDestinations, type Distribution } from '../route/destination.js';
import { fileErrorText } from '../errors.js';
import { ConfigError } from './validate.js';

export class DestinationsFileError extends ConfigError {
  override readonly code = 'POLYMUR_ERR_DESTINATIONS_FILE';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`-destinations-file: ${path}: ${reason}`);
  }
}

/** The destinations the file names, in its order; DestinationsFileError saying which line is wrong. */
export function readDestinationsFile(path: string, distribution: Distribution): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DestinationsFileError(path, fileErrorText(err));
  }
  const destinations: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    try {
      parseDestination(line);
    } catch (err) {
      if (err instanceof DestinationError) throw new DestinationsFileError(path, `line ${i + 1}: ${err.message}`);
      throw err;
    }
    destinations.push(line);
  });
  try {
    parseDestinations(destinations.join(','), distribution);
  } catch (err) {
    if (err instanceof DestinationError) throw new DestinationsFileError(path, err.message);
    throw err;
  }
  return destinations;
}
