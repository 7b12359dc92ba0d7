// Pickle frames made by /usr/bin/python3 (the interpreter Debian's graphite-carbon belongs to), and
// what carbon's own receiver makes of them: carbon.util's SafeUnpickler, then the checks and the
// float() of MetricPickleReceiver.stringReceived and metricReceived (NaN values skipped).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A frame body and carbon's reading of it: [path, repr(timestamp), repr(value)] per data point kept, or why carbon refused it. */
export interface CarbonFrame {
  readonly name: string;
  readonly frame: Buffer;
  readonly carbon: { readonly points: Array<[string, string, string]> } | { readonly error: string };
}

/**
 * Each case is Python source for an expression: the object pickled as carbon's client does
 * (`pickle.dumps(x, protocol=2)`), or, when it evaluates to bytes, the frame body itself.
 */
export async function carbonFrames(cases: Record<string, string>): Promise<CarbonFrame[]> {
  const script = `
import json, math, pickle, sys
from carbon.util import get_unpickler
cases = json.load(sys.stdin)
out = []
for name, source in cases.items():
    obj = eval(source)
    frame = obj if isinstance(obj, bytes) else pickle.dumps(obj, protocol=2)
    try:
        datapoints = get_unpickler(insecure=False).loads(frame)
        points = []
        for raw in datapoints:
            try:
                (metric, (timestamp, value)) = raw
                timestamp, value = float(timestamp), float(value)
            except Exception:
                continue
            if value != value:
                continue
            points.append([metric if isinstance(metric, str) else metric.decode(), repr(timestamp), repr(value)])
        out.append({'name': name, 'frame': frame.hex(), 'carbon': {'points': points}})
    except Exception as e:
        out.append({'name': name, 'frame': frame.hex(), 'carbon': {'error': '%s: %s' % (type(e).__name__, e)}})
print(json.dumps(out))
`;
  const child = run('/usr/bin/python3', ['-c', script], { maxBuffer: 64 * 1024 * 1024 });
  child.child.stdin!.end(JSON.stringify(cases));
  const { stdout } = await child;
  return (JSON.parse(stdout) as Array<{ name: string; frame: string; carbon: CarbonFrame['carbon'] }>).map((c) => ({
    ...c,
    frame: Buffer.from(c.frame, 'hex'),
  }));
}

/** One frame as it travels: the 4-byte big-endian length, then the body. */
export function framed(body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}
