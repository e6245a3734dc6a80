/* bench_cnt 1.0.0: the upgrade benchmark's counter, the C twin of the
 * BEAM anchor's cnt_v1 (state {Count}). It speaks the counter protocol
 * (counter_proto.h) that bench_load drives: COUNTER_INCR adds `by` (the
 * key is ignored: one count per actor), COUNTER_STATS answers the total.
 * The state is one int64 in runtime memory, so an upgrade measures the
 * transaction, not a module's conversion of a large table (that is
 * counter 2.0.0's job, `molt-bench upgrade --heavy`). */
#include <string.h>

#include "../../counter/counter_proto.h"
#include "molt/module.h"

typedef struct {
  int64_t count;
} cnt_v1_t;

static int cnt_init(const molt_args_t* args, void** state) {
  (void)args;
  cnt_v1_t* s = molt_calloc(1, sizeof(*s));
  if (!s) return MOLT_ENOMEM;
  *state = s;
  return 0;
}

static int cnt_handle(void* state, const molt_msg_t* msg) {
  cnt_v1_t* s = state;
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  if (msg->tag == COUNTER_INCR && msg->size == sizeof(counter_incr_t)) {
    const counter_incr_t* in = msg->data;
    s->count += in->by;
  } else if (msg->tag == COUNTER_STATS) {
    counter_stats_t st = {s->count, 1, 0};
    molt_reply(msg, COUNTER_STATS_REPLY, &st, sizeof(st));
  }
  return MOLT_OK;
}

static void cnt_free_state(void* state) { molt_free(state); }

/* Downgrades from 2.0.0 are converted by 2.0.0's code_change down, as the
 * BEAM's cnt_v1 leaves {down, 1} to cnt_v2; nothing converts into 1.0.0
 * from anywhere else. */
MOLT_EXPORT const molt_module_t molt_module = {
    .magic = MOLT_MAGIC,
    .abi = MOLT_ABI_VERSION,
    .size = sizeof(molt_module_t),
    .state_vsn = 1,
    .name = "bench_cnt",
    .vsn = "1.0.0",
    .init = cnt_init,
    .handle = cnt_handle,
    .free_state = cnt_free_state,
};
