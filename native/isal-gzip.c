// gzip with Intel's ISA-L (igzip). gzip(buffer) -> Promise<Buffer>: level-1 compression on libuv's
// thread pool, the same ratio as zlib's level 1 on Graphite batches at about three times its speed
// (compression is the proxy's largest cost). gunzipInto(input, output) -> number: inflates one or
// more gzip members into a caller's buffer on the calling thread, for the gateway's bodies of a
// few hundred KiB, in about half zlib's time.
#include <node_api.h>
#include <isa-l/igzip_lib.h>
#include <stdlib.h>

// What one compression writes into: kept for the next one once it is done, so a batch costs no
// malloc, no page faults on fresh memory and no trim of the heap (about half a MiB a batch).
typedef struct {
  struct isal_zstream stream;
  uint8_t level_buf[ISAL_DEF_LVL1_DEFAULT];
  uint8_t *output;  // output_cap bytes
  size_t output_cap;
} Scratch;

// Scratches kept per Node environment (a worker thread has its own); as many as compressions run
// at once in the proxy, and a few more.
#define SCRATCH_KEPT 4
typedef struct {
  Scratch *kept[SCRATCH_KEPT];
  int count;
} ScratchCache;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref input_ref;  // keeps the input alive while a pool thread reads it
  const uint8_t *input;
  size_t input_len;
  // Taken and given back on the main thread, so the pool threads never allocate: glibc would give
  // each of them an arena of its own, which holds on to freed memory.
  Scratch *scratch;
  ScratchCache *cache;
  size_t output_len;
  const char *error;
} Job;

static void free_scratch(Scratch *scratch) {
  if (!scratch) return;
  free(scratch->output);
  free(scratch);
}

// A scratch whose output holds `bound` bytes: a kept one, or a new one; NULL when out of memory.
static Scratch *take_scratch(ScratchCache *cache, size_t bound) {
  Scratch *scratch = cache->count > 0 ? cache->kept[--cache->count] : calloc(1, sizeof(Scratch));
  if (!scratch) return NULL;
  if (scratch->output_cap < bound) {
    free(scratch->output);
    scratch->output = malloc(bound);
    scratch->output_cap = scratch->output ? bound : 0;
    if (!scratch->output) {
      free(scratch);
      return NULL;
    }
  }
  return scratch;
}

static void give_scratch(ScratchCache *cache, Scratch *scratch) {
  if (cache->count < SCRATCH_KEPT) cache->kept[cache->count++] = scratch;
  else free_scratch(scratch);
}

static void free_cache(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  ScratchCache *cache = data;
  while (cache->count > 0) free_scratch(cache->kept[--cache->count]);
  free(cache);
}

// Incompressible input leaves igzip as stored blocks (5 bytes per 64 KiB) plus the gzip header and
// trailer; this leaves ample room beyond that.
static size_t output_bound(size_t n) { return n + n / 64 + 1024; }

static void compress(napi_env env, void *data) {
  (void)env;
  Job *job = data;
  struct isal_zstream *stream = &job->scratch->stream;
  isal_deflate_init(stream);
  stream->gzip_flag = IGZIP_GZIP;
  stream->level = 1;
  stream->level_buf = job->scratch->level_buf;
  stream->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
  stream->end_of_stream = 1;
  stream->flush = NO_FLUSH;
  stream->next_in = (uint8_t *)job->input;
  stream->avail_in = (uint32_t)job->input_len;
  stream->next_out = job->scratch->output;
  stream->avail_out = (uint32_t)output_bound(job->input_len);
  int rc = isal_deflate(stream);
  if (rc != COMP_OK) job->error = "isal_deflate failed";
  else if (stream->internal_state.state != ZSTATE_END) job->error = "isal_deflate ran out of output space";
  else job->output_len = stream->total_out;
}

static void free_job(Job *job) {
  if (job->scratch) give_scratch(job->cache, job->scratch);
  free(job);
}

static void settle(napi_env env, napi_status status, void *data) {
  Job *job = data;
  napi_value result;
  // Copied into a buffer of Node's of the exact size: the output scratch is freed at once, not
  // when the garbage collector finds the buffer.
  void *copy;
  bool done = status == napi_ok && !job->error &&
              napi_create_buffer_copy(env, job->output_len, job->scratch->output, &copy, &result) == napi_ok;
  if (done) {
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message;
    napi_create_string_utf8(env, job->error ? job->error : "gzip job failed", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &result);
    napi_reject_deferred(env, job->deferred, result);
  }
  napi_delete_reference(env, job->input_ref);
  napi_delete_async_work(env, job->work);
  free_job(job);
}

static napi_value gzip(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value input;
  napi_get_cb_info(env, info, &argc, &input, NULL, NULL);
  bool is_buffer = false;
  if (argc < 1 || napi_is_buffer(env, input, &is_buffer) != napi_ok || !is_buffer) {
    napi_throw_type_error(env, NULL, "gzip expects a Buffer");
    return NULL;
  }
  Job *job = calloc(1, sizeof *job);
  if (!job) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  void *bytes;
  napi_get_buffer_info(env, input, &bytes, &job->input_len);
  if (job->input_len > UINT32_MAX / 2) {
    free(job);
    napi_throw_range_error(env, NULL, "gzip input over 2 GiB");
    return NULL;
  }
  job->input = bytes;
  if (napi_get_instance_data(env, (void **)&job->cache) != napi_ok || !job->cache) {
    free(job);
    napi_throw_error(env, NULL, "the addon's scratch cache is missing");
    return NULL;
  }
  job->scratch = take_scratch(job->cache, output_bound(job->input_len));
  if (!job->scratch) {
    free_job(job);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_value promise, name;
  napi_create_reference(env, input, 1, &job->input_ref);
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "polymur:isal-gzip", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, compress, settle, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

// Why an inflate failed, in the words node:zlib uses where it has them.
static const char *inflate_error(int rc) {
  switch (rc) {
    case ISAL_INCORRECT_CHECKSUM: return "incorrect data check";
    case ISAL_INVALID_WRAPPER: return "incorrect header check";
    case ISAL_UNSUPPORTED_METHOD: return "unknown compression method";
    case ISAL_INVALID_BLOCK: return "invalid block type";
    case ISAL_INVALID_SYMBOL: return "invalid code";
    case ISAL_INVALID_LOOKBACK: return "invalid distance too far back";
    default: return "invalid gzip data";
  }
}

// Inflates every gzip member of input into output. Returns the bytes written, -1 when output filled
// before the last member ended (the caller decides: too large, or a bigger buffer), or NULL with a
// JavaScript error thrown for data that is not a whole gzip stream. As node:zlib's gunzip, bytes
// after a member are another member, unless they start with a zero byte (padding, ignored).
static napi_value gunzip_into(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool in_is_buffer = false, out_is_buffer = false;
  if (argc < 2 || napi_is_buffer(env, argv[0], &in_is_buffer) != napi_ok || !in_is_buffer ||
      napi_is_buffer(env, argv[1], &out_is_buffer) != napi_ok || !out_is_buffer) {
    napi_throw_type_error(env, NULL, "gunzipInto expects two Buffers");
    return NULL;
  }
  void *in, *out;
  size_t in_len, out_len;
  napi_get_buffer_info(env, argv[0], &in, &in_len);
  napi_get_buffer_info(env, argv[1], &out, &out_len);
  if (in_len > UINT32_MAX || out_len > UINT32_MAX) {
    napi_throw_range_error(env, NULL, "gunzipInto buffers over 4 GiB");
    return NULL;
  }
  struct inflate_state *state = malloc(sizeof *state);
  if (!state) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  const uint8_t *next_in = in;
  uint32_t avail_in = (uint32_t)in_len;
  size_t written = 0;
  const char *error = NULL;
  bool full = false;
  if (avail_in == 0) error = "unexpected end of file";
  while (!error && !full && avail_in > 0) {
    isal_inflate_init(state);
    state->crc_flag = ISAL_GZIP;
    state->next_in = (uint8_t *)next_in;
    state->avail_in = avail_in;
    state->next_out = (uint8_t *)out + written;
    state->avail_out = (uint32_t)(out_len - written);
    int rc = isal_inflate(state);
    written = out_len - state->avail_out;
    next_in = state->next_in;
    avail_in = state->avail_in;
    if (rc < 0) error = inflate_error(rc);
    else if (state->block_state != ISAL_BLOCK_FINISH) {
      if (state->avail_out == 0) full = true;
      else error = "unexpected end of file";
    } else if (avail_in > 0 && next_in[0] == 0) {
      break;  // the last member, followed by padding
    }
  }
  free(state);
  if (error) {
    napi_throw_error(env, "Z_DATA_ERROR", error);
    return NULL;
  }
  napi_value result;
  napi_create_int64(env, full ? -1 : (int64_t)written, &result);
  return result;
}

NAPI_MODULE_INIT() {
  ScratchCache *cache = calloc(1, sizeof *cache);
  if (!cache || napi_set_instance_data(env, cache, free_cache, NULL) != napi_ok) {
    free(cache);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_value fn;
  napi_create_function(env, "gzip", NAPI_AUTO_LENGTH, gzip, NULL, &fn);
  napi_set_named_property(env, exports, "gzip", fn);
  napi_create_function(env, "gunzipInto", NAPI_AUTO_LENGTH, gunzip_into, NULL, &fn);
  napi_set_named_property(env, exports, "gunzipInto", fn);
  return exports;
}
