// Where carbon's own ConsistentHashRing (Debian's graphite-carbon, /usr/bin/python3) places metric
// names: the reference any hash-route placement of ours must match.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { DestinationAddress } from '../../src/route/destination.js';

const SCRIPT = `
import json, sys
from carbon.hashing import ConsistentHashRing
spec = json.loads(sys.stdin.readline())
ring = ConsistentHashRing([tuple(n) for n in spec['nodes']], hash_type=spec['hashType'])
nodes = [tuple(n) for n in spec['nodes']]
out = [nodes.index(ring.get_node(line.rstrip('\\n'))) for line in sys.stdin]
json.dump(out, sys.stdout)
`;

/** For each name, the index in `nodes` of the node carbon's ring gives it. */
export async function carbonPlacements(nodes: readonly DestinationAddress[], hashType: string, names: readonly string[]): Promise<number[]> {
  const py = spawn('/usr/bin/python3', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  py.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  py.stdin.end(`${JSON.stringify({ nodes: nodes.map((n) => [n.host, n.instance]), hashType })}\n${names.join('\n')}\n`);
  const [code] = (await once(py, 'exit')) as [number];
  if (code !== 0) throw new Error(`carbon's ConsistentHashRing exited ${code}`);
  return JSON.parse(out) as number[];
}
