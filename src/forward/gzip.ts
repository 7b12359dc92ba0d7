// The proxy's gzip, on zlib's thread pool, so compression never blocks the event loop.
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzip as gzipCallback } from 'node:zlib';

const gzipAsync = promisify(gzipCallback);

/**
 * Output buffer of the gzip: a batch of a few hundred KiB comes out in one piece instead of many
 * 16 KiB ones, each a round trip between the zlib thread and JavaScript.
 */
const GZIP_CHUNK_BYTES = 256 * 1024;

export function gzip(data: Buffer, level: number): Promise<Buffer> {
  return gzipAsync(data, { level, chunkSize: GZIP_CHUNK_BYTES });
}

export const gunzip = promisify(gunzipCallback);
