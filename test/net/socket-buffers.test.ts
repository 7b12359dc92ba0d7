// The kernel's socket buffer maxima: the third field of tcp_wmem / tcp_rmem, or twice
// net.core.wmem_max / rmem_max where larger; none where the files cannot be read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSocketBufferLimits } from '../../src/net/socket-buffers.js';

test('socket buffer limits: from the sysctl files, the larger of each pair; undefined without them', () => {
  const files: Record<string, string> = {
    '/proc/sys/net/ipv4/tcp_wmem': '4096\t16384\t4194304\n',
    '/proc/sys/net/ipv4/tcp_rmem': '4096\t131072\t6291456\n',
    '/proc/sys/net/core/wmem_max': '212992\n',
    '/proc/sys/net/core/rmem_max': '8388608\n',
  };
  const read = (path: string): string => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: ${path}`);
    return text;
  };
  const limits = readSocketBufferLimits(read);
  assert.equal(limits?.sendBytes, 4194304);
  assert.equal(limits?.receiveBytes, 2 * 8388608);
  delete files['/proc/sys/net/ipv4/tcp_rmem'];
  assert.equal(readSocketBufferLimits(read), undefined);
  // This machine's own files, as the programs read them.
  const here = readSocketBufferLimits();
  assert.ok(here === undefined || (here.sendBytes > 0 && here.receiveBytes > 0));
});
