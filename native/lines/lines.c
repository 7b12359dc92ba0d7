// The two per-line passes of the hot path in C, one call per batch instead of a JavaScript loop per
// line (src/protocol/native-lines.ts loads it; without it the same work is done in JavaScript):
// - plainRun(buf, start, end, maxLineBytes): how many lines from `start` have the plain shape
//   `name value timestamp\n` (printable ASCII name without `/`, plain numbers, one space between
//   fields, no CR) and where the first line that has not ends. Every line it counts is one
//   filterLines (lines.ts) accepts unchanged; any other line is left to filterLines' own reading,
//   so this only ever says "valid" where the JavaScript would.
// - sketchNames(buf, start, end, skip, registers): each line's metric name hashed as
//   tenants/name-hash.ts hashes it and added to a names sketch's registers (tenants/name-sketch.ts),
//   the lines counted: the gateway's screen of a key without limits.
#include <node_api.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

// Keep in step with tenants/name-sketch.ts.
#define SKETCH_PRECISION 9
#define SKETCH_REGISTERS (1u << SKETCH_PRECISION)
#define RANK_BITS (32 - SKETCH_PRECISION)
// Keep in step with protocol/lines.ts (MAX_TIMESTAMP, MAX_PLAIN_VALUE_BYTES).
#define MAX_TIMESTAMP 4294967295ull
#define MAX_PLAIN_VALUE_BYTES 308

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

// Where the name starting at buf[p] stops: the first byte that is not printable ASCII or is `/`
// (end when none before it). 16 bytes a step where SSE2 is there.
static size_t name_stop(const uint8_t *buf, size_t p, size_t end) {
#ifdef __SSE2__
  const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f), slash = _mm_set1_epi8('/');
  for (; p + 16 <= end; p += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(buf + p));
    // Signed compares: bytes from 0x80 are negative, so outside (0x20, 0x7f) too.
    __m128i good = _mm_andnot_si128(_mm_cmpeq_epi8(v, slash), _mm_and_si128(_mm_cmpgt_epi8(v, space), _mm_cmplt_epi8(v, del)));
    unsigned bad = ~(unsigned)_mm_movemask_epi8(good) & 0xffffu;
    if (bad) return p + (size_t)__builtin_ctz(bad);
  }
#endif
  while (p < end && buf[p] > 0x20 && buf[p] < 0x7f && buf[p] != '/') p++;
  return p;
}

// The first of bytes a or b in buf[p, end), end when neither is there; 16 bytes a step with SSE2
// (the distances here are tens of bytes, where a memchr call costs more than it saves).
static size_t find_either(const uint8_t *buf, size_t p, size_t end, uint8_t a, uint8_t b) {
#ifdef __SSE2__
  const __m128i va = _mm_set1_epi8((char)a), vb = _mm_set1_epi8((char)b);
  for (; p + 16 <= end; p += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(buf + p));
    unsigned hit = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)));
    if (hit) return p + (size_t)__builtin_ctz(hit);
  }
#endif
  while (p < end && buf[p] != a && buf[p] != b) p++;
  return p;
}

// The end of the plain line starting at buf[pos] (the index of its LF), or 0 when the line there is
// not plain or has no LF before end (a line cannot end at 0: its name comes first).
static size_t plain_line_end(const uint8_t *buf, size_t pos, size_t end) {
  size_t p = name_stop(buf, pos, end);
  if (p == pos || p >= end || buf[p] != ' ') return 0;
  size_t value = ++p;
  if (p < end && (buf[p] == '-' || buf[p] == '+')) p++;
  size_t digits_start = p;
  while (p < end && is_digit(buf[p])) p++;
  size_t digits = p - digits_start;
  if (p < end && buf[p] == '.') {
    size_t fraction = ++p;
    while (p < end && is_digit(buf[p])) p++;
    digits += p - fraction;
  }
  if (digits == 0 || p >= end || buf[p] != ' ' || p - value > MAX_PLAIN_VALUE_BYTES) return 0;
  size_t ts = ++p;
  uint64_t seconds = 0;
  while (p < end && is_digit(buf[p])) {
    seconds = seconds * 10 + (uint64_t)(buf[p++] - '0');
    if (seconds > MAX_TIMESTAMP) return 0;
  }
  if (p == ts) return 0;
  if (p < end && buf[p] == '.') {
    p++;
    while (p < end && is_digit(buf[p])) p++;
  }
  return p < end && buf[p] == '\n' ? p : 0;
}

// Reads (buffer, start, end) and checks start <= end <= length.
static int buffer_range(napi_env env, napi_value *argv, uint8_t **data, size_t *start, size_t *end) {
  bool is_buffer = false;
  size_t length;
  double s, e;
  if (napi_is_buffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer || napi_get_buffer_info(env, argv[0], (void **)data, &length) != napi_ok ||
      napi_get_value_double(env, argv[1], &s) != napi_ok || napi_get_value_double(env, argv[2], &e) != napi_ok || !(s >= 0) || !(e >= s) ||
      e > (double)length) {
    napi_throw_range_error(env, NULL, "expects (Buffer, start, end) with 0 <= start <= end <= length");
    return 0;
  }
  *start = (size_t)s;
  *end = (size_t)e;
  return 1;
}

// plainRun(buf, start, end, maxLineBytes) -> count * 2^32 + where the first other line starts.
static napi_value plain_run(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *buf;
  size_t pos, end;
  double max_line;
  if (argc < 4 || !buffer_range(env, argv, &buf, &pos, &end)) return NULL;
  if (napi_get_value_double(env, argv[3], &max_line) != napi_ok) {
    napi_throw_type_error(env, NULL, "maxLineBytes must be a number");
    return NULL;
  }
  double count = 0;
  while (pos < end) {
    size_t nl = plain_line_end(buf, pos, end);
    if (nl == 0 || (double)(nl - pos) > max_line) break;
    count++;
    pos = nl + 1;
  }
  napi_value result;
  napi_create_double(env, count * 4294967296.0 + (double)pos, &result);
  return result;
}

static uint32_t load32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

// tenants/name-hash.ts hashRange, bit for bit.
static uint32_t hash_range(const uint8_t *buf, size_t start, size_t end) {
  uint32_t a = 0x811c9dc5u ^ (uint32_t)(end - start);
  uint32_t b = 0x9e3779b9u;
  size_t i = start;
  for (; i + 8 <= end; i += 8) {
    a = (a ^ load32(buf + i)) * 0x01000193u;
    b = (b ^ load32(buf + i + 4)) * 0x85ebca6bu;
    a ^= a >> 15;
    b ^= b >> 13;
  }
  if (i + 4 <= end) {
    a = (a ^ load32(buf + i)) * 0x01000193u;
    a ^= a >> 15;
    i += 4;
  }
  for (; i < end; i++) b = (b ^ buf[i]) * 0x01000193u;
  uint32_t h = a ^ (b * 0xc2b2ae35u);
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// sketchNames(buf, start, end, skip, registers) -> lines. As tenants/screen.ts reads validated
// lines: the name starts `skip` bytes into the line (the -key-prefix), after any blanks, and ends
// at a blank.
static napi_value sketch_names(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *buf;
  size_t pos, end;
  double skip_value;
  if (argc < 5 || !buffer_range(env, argv, &buf, &pos, &end)) return NULL;
  napi_typedarray_type type;
  size_t registers_length;
  void *registers_data;
  if (napi_get_value_double(env, argv[3], &skip_value) != napi_ok || !(skip_value >= 0) ||
      napi_get_typedarray_info(env, argv[4], &type, &registers_length, &registers_data, NULL, NULL) != napi_ok || type != napi_uint8_array ||
      registers_length != SKETCH_REGISTERS) {
    napi_throw_type_error(env, NULL, "sketchNames expects a skip >= 0 and a Uint8Array of the sketch's registers");
    return NULL;
  }
  uint8_t *registers = registers_data;
  size_t skip = (size_t)skip_value;
  double lines = 0;
  while (pos < end) {
    size_t name_start = pos + skip < end ? pos + skip : end;
    while (name_start < end && (buf[name_start] == ' ' || buf[name_start] == '\t')) name_start++;
    size_t name_end = find_either(buf, name_start, end, ' ', '\t');
    size_t lf = find_either(buf, name_end, end, '\n', '\n');
    size_t next = lf < end ? lf + 1 : end;
    uint32_t hash = hash_range(buf, name_start, name_end);
    uint32_t index = hash >> RANK_BITS;
    uint32_t rest = hash << SKETCH_PRECISION;
    uint8_t rank = rest == 0 ? RANK_BITS + 1 : (uint8_t)(__builtin_clz(rest) + 1);
    if (rank > registers[index]) registers[index] = rank;
    lines++;
    pos = next;
  }
  napi_value result;
  napi_create_double(env, lines, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "plainRun", NAPI_AUTO_LENGTH, plain_run, NULL, &fn);
  napi_set_named_property(env, exports, "plainRun", fn);
  napi_create_function(env, "sketchNames", NAPI_AUTO_LENGTH, sketch_names, NULL, &fn);
  napi_set_named_property(env, exports, "sketchNames", fn);
  return exports;
}
