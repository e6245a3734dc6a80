/* http 1.1.0: the same state as 1.0.0 (state_vsn 1, a soft load), new
 * answers: the greeting says it was loaded live, and keys and stats are
 * answered as JSON:
 *
 *   GET /           hello from molt http 1.1.0 (loaded live, no restart)
 *   GET /stats      {"vsn":"1.1.0","requests":N}
 *   GET /keys/k     {"vsn":"1.1.0","key":"k","count":N}
 *
 * Its format_state and code_change are 1.0.0's: none needed. */
#include "../http_common.h"

#define HTTP_VSN "1.1.0"

static int body(const void* state, const http_answer_t* a, char* buf, size_t len) {
  const http_core_t* c = state;
  switch (a->kind) {
    case HTTP_ANS_ROOT:
      return snprintf(buf, len, "hello from molt http %s (loaded live, no restart)\n", HTTP_VSN);
    case HTTP_ANS_STATS:
      return snprintf(buf, len, "{\"vsn\":\"%s\",\"requests\":%llu}\n", HTTP_VSN,
                      (unsigned long long)c->requests + 1);
    case HTTP_ANS_KEY:
      return snprintf(buf, len, "{\"vsn\":\"%s\",\"key\":\"%s\",\"count\":%lld}\n", HTTP_VSN, a->key,
                      (long long)a->count);
  }
  return 0;
}

static const http_ops_t ops = {.vsn = HTTP_VSN, .body = body};

static int http_init(const molt_args_t* args, void** state) {
  return http_init_state(args, sizeof(http_core_t), state);
}
static int http_handle(void* state, const molt_msg_t* m) { return http_handle_any(&ops, state, m); }
static void http_free_state(void* state) { http_free_any(state); }
static char* http_format_state(const void* state) { return http_format_any(state, HTTP_VSN, ""); }

#define http_terminate NULL
#define http_code_change NULL /* same layout as 1.0.0 */
MOLT_MODULE("http", HTTP_VSN, 1, http);
