// The proxy's gzip, always off the event loop: Intel ISA-L's igzip (the addon in native/, built at
// install where libisal-dev is present) or, without it, node:zlib on zlib's thread pool. Both give
// level-1 gzip of the same ratio on Graphite batches; igzip spends about a third of zlib's CPU.
// The addon's bounded gunzip serves the gateway's one-pass inflate (gateway/body.ts).
import { loadAddon } from '../native-addon.js';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzip as gzipCallback } from 'node:zlib';

export type Gzip = (data: Buffer) => Promise<Buffer>;

const zlibGzipAsync = promisify(gzipCallback);

/**
 * Output buffer of zlib's gzip: a batch of a few hundred KiB comes out in one piece instead of many
 * 16 KiB ones, each a round trip between the zlib thread and JavaScript.
 */
const GZIP_CHUNK_BYTES = 256 * 1024;

export const zlibGzip: Gzip = (data) => zlibGzipAsync(data, { level: 1, chunkSize: GZIP_CHUNK_BYTES });

/**
 * Inflates every gzip member of `input` into `output` on this thread: the bytes written, or -1 when
 * `output` filled before the stream ended. Throws (code Z_DATA_ERROR) on data that is not whole gzip.
 */
export type GunzipInto = (input: Buffer, output: Buffer) => number;

interface IsalAddon {
  gzip: Gzip;
  gunzipInto: GunzipInto;
}

const isal = loadAddon<IsalAddon>('build/Release/isal_gzip.node');

/** ISA-L's gzip, or why it is not there. */
export const isalGzip: Gzip | undefined = 'exports' in isal ? isal.exports.gzip : undefined;

/** ISA-L's bounded gunzip, when the addon is built. */
export const isalGunzipInto: GunzipInto | undefined = 'exports' in isal ? isal.exports.gunzipInto : undefined;

export const gzip: Gzip = isalGzip ?? zlibGzip;

/** Which gzip the proxy uses, for its start-up log. */
export const gzipEngine: string =
  'exports' in isal ? 'ISA-L igzip, level 1' : `node:zlib, level 1 (the ISA-L addon is not built: ${isal.error}; with libisal-dev installed, npm run build:native)`;

/** The engine in one word, for the gzip label of polymur_build_info. */
export const gzipEngineId: 'isal' | 'zlib' = 'exports' in isal ? 'isal' : 'zlib';

export const gunzip = promisify(gunzipCallback);
