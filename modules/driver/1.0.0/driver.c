/* driver 1.0.0: drives the counter service by messages. Every interval it
 * sends `batch` increments to the counter (found by name), spread over its
 * own keys, and now and then asks for one key's value. Because messages
 * between two actors arrive in order, the answer must equal what this
 * driver had sent for that key when it asked: a mismatch means a lost or
 * duplicated message, and is logged and counted. */
#include <stdio.h>
#include <string.h>

#include "../../counter/counter_proto.h"
#include "molt/module.h"

enum { TICK = 100 };

typedef struct {
  char target[MOLT_NAME_MAX + 1];
  char prefix[16];
  uint32_t interval_ms, nkeys, batch, next_key, ticks;
  uint64_t sent, checks, mismatches, unreachable;
  int64_t per_key[]; /* increments sent per key */
} driver_t;

static void key_name(const driver_t* d, uint32_t i, char out[COUNTER_KEY_MAX]) {
  snprintf(out, COUNTER_KEY_MAX, "%s.k%u", d->prefix, i);
}

static int driver_init(const molt_args_t* args, void** state) {
  int64_t nkeys = molt_args_int(args, "keys", 4);
  int64_t interval = molt_args_int(args, "interval_ms", 100);
  int64_t batch = molt_args_int(args, "batch", 1);
  const char* target = molt_args_str(args, "target", "counter");
  if (nkeys < 1 || nkeys > 1024 || interval < 1 || batch < 1 || batch > 100000 ||
      strlen(target) > MOLT_NAME_MAX)
    return MOLT_EINVAL;
  driver_t* d = molt_calloc(1, sizeof(*d) + (size_t)nkeys * sizeof(int64_t));
  if (!d) return MOLT_ENOMEM;
  strcpy(d->target, target);
  /* Keys unique to this actor, so its checks see only its own sends. */
  molt_pid_t self = molt_self();
  snprintf(d->prefix, sizeof(d->prefix), "d%u", (unsigned)(self & 0xffffffffu));
  d->interval_ms = (uint32_t)interval;
  d->nkeys = (uint32_t)nkeys;
  d->batch = (uint32_t)batch;
  int rc = molt_send_after(d->interval_ms, self, TICK, NULL, 0, NULL);
  if (rc) {
    molt_free(d);
    return rc;
  }
  *state = d;
  return 0;
}

static void tick(driver_t* d) {
  molt_pid_t counter = molt_whereis(d->target);
  if (counter == MOLT_PID_NONE) {
    d->unreachable++;
    return;
  }
  for (uint32_t i = 0; i < d->batch; i++) {
    counter_incr_t in = {.by = 1};
    uint32_t k = d->next_key++ % d->nkeys;
    key_name(d, k, in.key);
    if (molt_send(counter, COUNTER_INCR, &in, sizeof(in)) == 0) {
      d->per_key[k]++;
      d->sent++;
    }
  }
  if (++d->ticks % 10 == 0) {
    /* The ref carries what we expect, so the reply is checked statelessly. */
    uint32_t k = d->ticks / 10 % d->nkeys;
    counter_key_t q;
    key_name(d, k, q.key);
    molt_send_ref(counter, COUNTER_GET, (uint64_t)d->per_key[k], &q, sizeof(q));
  }
}

static void check(driver_t* d, const molt_msg_t* msg) {
  if (msg->size != sizeof(counter_value_t)) return;
  const counter_value_t* v = msg->data;
  d->checks++;
  if ((uint64_t)v->value != msg->ref) {
    d->mismatches++;
    molt_log("mismatch on %.31s: counter says %lld, sent %llu", v->key, (long long)v->value,
             (unsigned long long)msg->ref);
  }
}

static int driver_handle(void* state, const molt_msg_t* msg) {
  driver_t* d = state;
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  if (msg->tag == TICK) {
    tick(d);
    return molt_send_after(d->interval_ms, molt_self(), TICK, NULL, 0, NULL);
  }
  if (msg->tag == COUNTER_VALUE) check(d, msg);
  return MOLT_OK;
}

static void driver_terminate(void* state, int reason) {
  driver_t* d = state;
  molt_log("terminating (reason %d): sent %llu, checks %llu, mismatches %llu", reason,
           (unsigned long long)d->sent, (unsigned long long)d->checks, (unsigned long long)d->mismatches);
}

static void driver_free_state(void* state) { molt_free(state); }

static char* driver_format_state(const void* state) {
  const driver_t* d = state;
  char* out = molt_alloc(256);
  if (out)
    snprintf(out, 256,
             "{\"target\":\"%s\",\"sent\":%llu,\"checks\":%llu,\"mismatches\":%llu,\"unreachable\":%llu}",
             d->target, (unsigned long long)d->sent, (unsigned long long)d->checks,
             (unsigned long long)d->mismatches, (unsigned long long)d->unreachable);
  return out;
}

MOLT_EXPORT const molt_module_t molt_module = {
    .magic = MOLT_MAGIC,
    .abi = MOLT_ABI_VERSION,
    .size = sizeof(molt_module_t),
    .state_vsn = 1,
    .name = "driver",
    .vsn = "1.0.0",
    .init = driver_init,
    .handle = driver_handle,
    .terminate = driver_terminate,
    .code_change = NULL,
    .free_state = driver_free_state,
    .format_state = driver_format_state,
};
