// gzip compression with Intel's ISA-L (igzip, level 1) on libuv's thread pool: the same ratio as
// zlib's level 1 on Graphite batches at about three times its speed, and compression is the
// proxy's largest cost. Exposes one function, gzip(buffer) -> Promise<Buffer>.
#include <node_api.h>
#include <isa-l/igzip_lib.h>
#include <stdlib.h>

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref input_ref;  // keeps the input alive while a pool thread reads it
  const uint8_t *input;
  size_t input_len;
  uint8_t *output;
  size_t output_len;
  const char *error;
} Job;

// Incompressible input leaves igzip as stored blocks (5 bytes per 64 KiB) plus the gzip header and
// trailer; this leaves ample room beyond that.
static size_t output_bound(size_t n) { return n + n / 64 + 1024; }

static void compress(napi_env env, void *data) {
  (void)env;
  Job *job = data;
  struct isal_zstream *stream = malloc(sizeof *stream);
  uint8_t *level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
  size_t capacity = output_bound(job->input_len);
  job->output = malloc(capacity);
  if (!stream || !level_buf || !job->output) {
    job->error = "out of memory";
  } else {
    isal_deflate_init(stream);
    stream->gzip_flag = IGZIP_GZIP;
    stream->level = 1;
    stream->level_buf = level_buf;
    stream->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    stream->end_of_stream = 1;
    stream->flush = NO_FLUSH;
    stream->next_in = (uint8_t *)job->input;
    stream->avail_in = (uint32_t)job->input_len;
    stream->next_out = job->output;
    stream->avail_out = (uint32_t)capacity;
    int rc = isal_deflate(stream);
    if (rc != COMP_OK) job->error = "isal_deflate failed";
    else if (stream->internal_state.state != ZSTATE_END) job->error = "isal_deflate ran out of output space";
    else job->output_len = stream->total_out;
  }
  free(stream);
  free(level_buf);
  if (job->error) {
    free(job->output);
    job->output = NULL;
  } else {
    // Queued batches hold this buffer: give back what compression did not use.
    uint8_t *shrunk = realloc(job->output, job->output_len);
    if (shrunk) job->output = shrunk;
  }
}

static void free_output(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void settle(napi_env env, napi_status status, void *data) {
  Job *job = data;
  napi_value result;
  if (status == napi_ok && !job->error &&
      napi_create_external_buffer(env, job->output_len, job->output, free_output, NULL, &result) == napi_ok) {
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    free(job->output);
    napi_value message;
    napi_create_string_utf8(env, job->error ? job->error : "gzip job failed", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &result);
    napi_reject_deferred(env, job->deferred, result);
  }
  napi_delete_reference(env, job->input_ref);
  napi_delete_async_work(env, job->work);
  free(job);
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
  napi_value promise, name;
  napi_create_reference(env, input, 1, &job->input_ref);
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "polymur:isal-gzip", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, compress, settle, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "gzip", NAPI_AUTO_LENGTH, gzip, NULL, &fn);
  napi_set_named_property(env, exports, "gzip", fn);
  return exports;
}
