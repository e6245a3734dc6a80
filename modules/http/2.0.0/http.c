/* http 2.0.0: the connection state gains a field (state_vsn 2): the bytes
 * received since this version took the connection over, which every 200
 * answer reports in an X-Molt-Conn header next to the request count:
 *
 *   GET /           hello from molt http 2.0.0 (state v2: per-connection bytes)
 *   GET /stats      {"vsn":"2.0.0","requests":N,"bytes_in":B}
 *   GET /keys/k     {"vsn":"2.0.0","key":"k","count":N,"added":true|false}
 *
 * code_change converts 1.x states up (bytes_in starts at 0: 1.x never
 * counted) and back down (the field is dropped), listener and connection
 * alike, a request half-parsed or waiting for the store included. */
#include "../http_common.h"

#define HTTP_VSN "2.0.0"

typedef struct {
  http_core_t core; /* first: the shared code sees a 2.0.0 state as its core */
  uint64_t bytes_in;
} http_v2_t;

static int body(const void* state, const http_answer_t* a, char* buf, size_t len) {
  const http_v2_t* h = state;
  switch (a->kind) {
    case HTTP_ANS_ROOT:
      return snprintf(buf, len, "hello from molt http %s (state v2: per-connection bytes)\n", HTTP_VSN);
    case HTTP_ANS_STATS:
      return snprintf(buf, len, "{\"vsn\":\"%s\",\"requests\":%llu,\"bytes_in\":%llu}\n", HTTP_VSN,
                      (unsigned long long)h->core.requests + 1, (unsigned long long)h->bytes_in);
    case HTTP_ANS_KEY:
      return snprintf(buf, len, "{\"vsn\":\"%s\",\"key\":\"%s\",\"count\":%lld,\"added\":%s}\n", HTTP_VSN, a->key,
                      (long long)a->count, a->put ? "true" : "false");
  }
  return 0;
}

static int headers(const void* state, char* buf, size_t len) {
  const http_v2_t* h = state;
  return snprintf(buf, len, "X-Molt-Conn: requests=%llu bytes_in=%llu\r\n", (unsigned long long)h->core.requests + 1,
                  (unsigned long long)h->bytes_in);
}

static void received(void* state, size_t n) { ((http_v2_t*)state)->bytes_in += n; }

static const http_ops_t ops = {.vsn = HTTP_VSN, .body = body, .headers = headers, .received = received};

static int http_init(const molt_args_t* args, void** state) { return http_init_state(args, sizeof(http_v2_t), state); }
static int http_handle(void* state, const molt_msg_t* m) { return http_handle_any(&ops, state, m); }
static void http_free_state(void* state) { http_free_any(state); }

static char* http_format_state(const void* state) {
  char extra[48];
  snprintf(extra, sizeof(extra), ",\"bytes_in\":%llu", (unsigned long long)((const http_v2_t*)state)->bytes_in);
  return http_format_any(state, HTTP_VSN, extra);
}

/* Up from state_vsn 1 (the core alone) or down to it. Any other layout is
 * refused: this version knows no other. */
static int http_code_change(molt_direction_t dir, const char* vsn, uint32_t state_vsn, const void* old_state,
                            const char* extra, void** new_state) {
  (void)vsn;
  (void)extra;
  if (state_vsn != 1) return MOLT_EINVAL;
  size_t size = dir == MOLT_UP ? sizeof(http_v2_t) : sizeof(http_core_t);
  http_core_t* c = molt_calloc(1, size);
  if (!c) return MOLT_ENOMEM;
  if (http_core_copy(c, old_state) != 0) {
    molt_free(c);
    return MOLT_ENOMEM;
  }
  *new_state = c; /* up: bytes_in is 0, calloc'd */
  return 0;
}

#define http_terminate NULL
MOLT_MODULE("http", HTTP_VSN, 2, http);
