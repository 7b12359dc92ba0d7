// readUdpDrops against the kernel's own tables: a socket bound here is found by its address in
// /proc/net/udp and /proc/net/udp6 (IPv6 words in host byte order), and no other is taken for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { readUdpDrops } from '../../src/input/udp-drops.js';

for (const [type, host, table] of [
  ['udp4', '127.0.0.1', '/proc/net/udp'],
  ['udp6', '::1', '/proc/net/udp6'],
] as const) {
  test(`a ${type} socket on ${host} is found in ${table}, with its drops`, async () => {
    const socket = createSocket(type);
    socket.bind(0, host);
    await once(socket, 'listening');
    try {
      const port = socket.address().port;
      assert.equal(readUdpDrops(readFileSync(table, 'latin1'), { host, port }), 0);
      assert.equal(readUdpDrops(readFileSync(table, 'latin1'), { host: type === 'udp4' ? '127.0.0.2' : '::2', port }), undefined, 'another address');
    } finally {
      socket.close();
    }
  });
}
