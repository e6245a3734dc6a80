/* heartbeat 1.0.0: a tiny service that counts a tick every interval (500 ms
 * unless args say "interval_ms") and answers HEARTBEAT_GET with the count.
 * Present in demo releases 1.0.0 and 1.1.0, removed in 2.0.0: the upgrade
 * that drops a module. Ticks are timer messages, never callbacks. */
#include <stdio.h>
#include <string.h>

#include "../heartbeat_proto.h"
#include "molt/module.h"

/* The timer's message to ourselves. Not part of the protocol: a TICK from
 * anyone else is ignored, so clients cannot inflate the count. */
enum { TICK = 100 };

typedef struct {
  uint64_t ticks;
  uint64_t interval_ms;
  uint64_t started_ms, last_ms; /* molt_now_ms() at init and at the last tick */
} heartbeat_t;

static int heartbeat_init(const molt_args_t* args, void** state) {
  int64_t interval = molt_args_int(args, "interval_ms", 500);
  const char* name = molt_args_str(args, "name", NULL);
  if (interval < 1 || interval > 3600000) return MOLT_EINVAL;
  heartbeat_t* h = molt_calloc(1, sizeof(*h));
  if (!h) return MOLT_ENOMEM;
  h->interval_ms = (uint64_t)interval;
  h->started_ms = molt_now_ms();
  int rc = name ? molt_register(name) : 0;
  if (!rc) rc = molt_send_after(h->interval_ms, molt_self(), TICK, NULL, 0, NULL);
  if (rc) {
    /* The name, if taken, is released when the failed actor is gone. */
    molt_free(h);
    return rc;
  }
  *state = h;
  return 0;
}

static int heartbeat_handle(void* state, const molt_msg_t* msg) {
  heartbeat_t* h = state;
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  if (msg->tag == TICK && msg->from == molt_self()) {
    h->ticks++;
    h->last_ms = molt_now_ms();
    return molt_send_after(h->interval_ms, molt_self(), TICK, NULL, 0, NULL);
  }
  if (msg->tag == HEARTBEAT_GET) {
    heartbeat_count_t c = {h->ticks, h->interval_ms};
    molt_reply(msg, HEARTBEAT_COUNT, &c, sizeof(c));
    return MOLT_OK;
  }
  molt_log("ignored message tag %u of %u bytes", msg->tag, msg->size);
  return MOLT_OK;
}

static void heartbeat_terminate(void* state, int reason) {
  heartbeat_t* h = state;
  molt_log("terminating (reason %d): %llu ticks", reason, (unsigned long long)h->ticks);
}

static void heartbeat_free_state(void* state) { molt_free(state); }

static char* heartbeat_format_state(const void* state) {
  const heartbeat_t* h = state;
  char* out = molt_alloc(160);
  if (out)
    snprintf(out, 160, "{\"ticks\":%llu,\"interval_ms\":%llu,\"started_ms\":%llu,\"last_ms\":%llu}",
             (unsigned long long)h->ticks, (unsigned long long)h->interval_ms,
             (unsigned long long)h->started_ms, (unsigned long long)h->last_ms);
  return out;
}

MOLT_EXPORT const molt_module_t molt_module = {
    .magic = MOLT_MAGIC,
    .abi = MOLT_ABI_VERSION,
    .size = sizeof(molt_module_t),
    .state_vsn = 1,
    .name = "heartbeat",
    .vsn = "1.0.0",
    .init = heartbeat_init,
    .handle = heartbeat_handle,
    .terminate = heartbeat_terminate,
    .code_change = NULL, /* the only version */
    .free_state = heartbeat_free_state,
    .format_state = heartbeat_format_state,
};
