// The inputs besides the plaintext TCP listener, shared by the proxy and the relay (each off
// unless its address is given): Graphite plaintext over UDP, and carbon's pickle protocol.
import type { INPUT_FLAGS } from './programs.js';
import type { FlagReader, FlagsOf } from './validate.js';

export interface InputsConfig {
  /** '' when off. */
  readonly listenUdp: string;
  readonly udpReceiveBufferBytes: number;
  /** '' when off. */
  readonly listenPickle: string;
  readonly maxPickleBytes: number;
}

export function readInputsConfig(f: FlagReader<FlagsOf<typeof INPUT_FLAGS>>): InputsConfig {
  const optionalAddress = (name: 'listen-udp' | 'listen-pickle'): string => (f.string(name) === '' ? '' : f.hostPort(name));
  return {
    listenUdp: optionalAddress('listen-udp'),
    udpReceiveBufferBytes: f.int('udp-receive-buffer'),
    listenPickle: optionalAddress('listen-pickle'),
    maxPickleBytes: f.int('max-pickle-bytes'),
  };
}
