// Damage made on purpose: a test that flips a bit outside the buffer would damage nothing and
// prove nothing, so that is an error here.

/** XORs `mask` into the byte at `at` of `buf`, in place. */
export function flipBits(buf: Buffer, at: number, mask: number): void {
  const byte = buf[at];
  if (byte === undefined) throw new RangeError(`byte ${at} is outside the buffer of ${buf.length}`);
  buf[at] = byte ^ mask;
}
