// MD5 (RFC 1321) for carbon_ch's ring: ringPrefix16(buffer, start, end) -> the first 16 bits of the
// MD5 of buffer[start, end), big-endian, which is carbon's ring position of that key. One call per
// metric name, straight over the batch's bytes: no Buffer view, no hash object, nothing allocated
// (node:crypto's one-shot hash costs several times the rest of routing a point). Needs no library,
// so it is its own target: it builds where ISA-L's headers are missing.
#include <node_api.h>
#include <stdint.h>
#include <string.h>

static const uint32_t K[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static const uint8_t SHIFT[64] = {
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

static uint32_t rotl(uint32_t x, unsigned n) { return (x << n) | (x >> (32 - n)); }

// One 64-byte block into the state (MD5's words are little-endian, whatever the machine's order).
static void md5_block(uint32_t state[4], const uint8_t *block) {
  uint32_t m[16];
  for (int i = 0; i < 16; i++) {
    m[i] = (uint32_t)block[i * 4] | (uint32_t)block[i * 4 + 1] << 8 | (uint32_t)block[i * 4 + 2] << 16 | (uint32_t)block[i * 4 + 3] << 24;
  }
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  for (int i = 0; i < 64; i++) {
    uint32_t f;
    int g;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    uint32_t next = b + rotl(a + f + K[i] + m[g], SHIFT[i]);
    a = d;
    d = c;
    c = b;
    b = next;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
}

// The first two bytes of MD5(data): the low 16 bits of the first state word, byte-swapped.
static uint32_t md5_prefix16(const uint8_t *data, size_t length) {
  uint32_t state[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  size_t whole = length & ~(size_t)63;
  for (size_t at = 0; at < whole; at += 64) md5_block(state, data + at);
  // The tail, the 0x80 marker, zeros, and the bit length: one block, or two when the tail leaves
  // fewer than 8 bytes for the length.
  uint8_t last[128];
  size_t tail = length - whole;
  memcpy(last, data + whole, tail);
  last[tail] = 0x80;
  size_t padded = tail < 56 ? 64 : 128;
  memset(last + tail + 1, 0, padded - tail - 1);
  uint64_t bits = (uint64_t)length * 8;
  for (int i = 0; i < 8; i++) last[padded - 8 + i] = (uint8_t)(bits >> (8 * i));
  md5_block(state, last);
  if (padded == 128) md5_block(state, last + 64);
  return (state[0] & 0xff) << 8 | (state[0] >> 8 & 0xff);
}

static napi_value ring_prefix16(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data;
  size_t length;
  uint32_t start, end;
  if (argc < 3 || napi_get_buffer_info(env, argv[0], &data, &length) != napi_ok || napi_get_value_uint32(env, argv[1], &start) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &end) != napi_ok) {
    napi_throw_type_error(env, NULL, "ringPrefix16 expects a Buffer, a start and an end");
    return NULL;
  }
  if (start > end || end > length) {
    napi_throw_range_error(env, NULL, "ringPrefix16: start and end must satisfy 0 <= start <= end <= buffer.length");
    return NULL;
  }
  napi_value result;
  napi_create_uint32(env, md5_prefix16((const uint8_t *)data + start, end - start), &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "ringPrefix16", NAPI_AUTO_LENGTH, ring_prefix16, NULL, &fn);
  napi_set_named_property(env, exports, "ringPrefix16", fn);
  return exports;
}
