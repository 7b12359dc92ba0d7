// The inputs besides the plaintext TCP listener, shared by the proxy and the relay (each off
// unless its address is given): Graphite plaintext over UDP, and carbon's pickle protocol.
import type { FlagReader } from './validate.js';

export interface InputsConfig {
  /** '' when off. */
  readonly listenUdp: string;
  readonly udpReceiveBufferBytes: number;
  /** '' when off. */
  readonly listenPickle: string;
  readonly maxPickleBytes: number;
}

export function readInputsConfig(f: FlagReader): InputsConfig {
  const optionalAddress = (name: string): string => (f.string(name) === '' ? '' : f.hostPort(name));
  return {
    listenUdp: optionalAddress('listen-udp'),
    udpReceiveBufferBytes: f.int('udp-receive-buffer', 1),
    listenPickle: optionalAddress('listen-pickle'),
    maxPickleBytes: f.int('max-pickle-bytes', 1),
  };
}
