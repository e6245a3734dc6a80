/* bench_cnt 2.0.0: the C twin of the BEAM anchor's cnt_v2: the state
 * becomes {count, hits} (hits: increments handled since the upgrade).
 * code_change up converts 1.0.0's {count}; down converts back, called on
 * this version before 1.0.0 is switched back in. */
#include <string.h>

#include "../../counter/counter_proto.h"
#include "molt/module.h"

typedef struct {
  int64_t count;
} cnt_v1_t; /* 1.0.0's layout, frozen here: this version converts it */

typedef struct {
  int64_t count;
  uint64_t hits;
} cnt_v2_t;

static int cnt_init(const molt_args_t* args, void** state) {
  (void)args;
  cnt_v2_t* s = molt_calloc(1, sizeof(*s));
  if (!s) return MOLT_ENOMEM;
  *state = s;
  return 0;
}

static int cnt_handle(void* state, const molt_msg_t* msg) {
  cnt_v2_t* s = state;
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  if (msg->tag == COUNTER_INCR && msg->size == sizeof(counter_incr_t)) {
    const counter_incr_t* in = msg->data;
    s->count += in->by;
    s->hits++;
  } else if (msg->tag == COUNTER_STATS) {
    counter_stats_t st = {s->count, 1, s->hits};
    molt_reply(msg, COUNTER_STATS_REPLY, &st, sizeof(st));
  }
  return MOLT_OK;
}

static int cnt_code_change(molt_direction_t dir, const char* vsn, uint32_t state_vsn, const void* old_state,
                           const char* extra, void** new_state) {
  (void)vsn;
  (void)extra;
  if (state_vsn != 1) return MOLT_EINVAL;
  if (dir == MOLT_UP) {
    cnt_v2_t* n = molt_alloc(sizeof(*n));
    if (!n) return MOLT_ENOMEM;
    *n = (cnt_v2_t){((const cnt_v1_t*)old_state)->count, 0};
    *new_state = n;
  } else {
    cnt_v1_t* n = molt_alloc(sizeof(*n));
    if (!n) return MOLT_ENOMEM;
    *n = (cnt_v1_t){((const cnt_v2_t*)old_state)->count};
    *new_state = n;
  }
  return 0;
}

static void cnt_free_state(void* state) { molt_free(state); }

MOLT_EXPORT const molt_module_t molt_module = {
    .magic = MOLT_MAGIC,
    .abi = MOLT_ABI_VERSION,
    .size = sizeof(molt_module_t),
    .state_vsn = 2,
    .name = "bench_cnt",
    .vsn = "2.0.0",
    .init = cnt_init,
    .handle = cnt_handle,
    .code_change = cnt_code_change,
    .free_state = cnt_free_state,
};
