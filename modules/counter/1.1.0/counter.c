/* counter 1.1.0: 1.0.0's service plus one query, COUNTER_INFO, answered
 * with the version that runs, so a client can tell which code served it.
 * The state is exactly 1.0.0's (state_vsn 1): upgrading from 1.0.0, or
 * down from 2.0.0's code_change, is a soft load, with no code_change of
 * its own. */
#include "../counter_common.h"

#define VSN "1.1.0"
#define STATE_VSN 1

/* The state_vsn 1 layout, field for field as 1.0.0 declares it: an
 * open-addressing table placed by counter_hash and linear probing. Both
 * versions run on the same states, so this must not change while
 * state_vsn stays 1; 2.0.0 keeps a frozen copy to migrate from and to. */
typedef struct {
  char key[COUNTER_KEY_MAX];
  int64_t count;
} slot_t;

typedef struct {
  uint32_t cap, used; /* cap is a power of two */
  int64_t total;
  uint64_t messages;
  slot_t* slots;
} counter_t;

static slot_t* find(const counter_t* c, const char* key) {
  for (uint32_t i = counter_hash(key) & (c->cap - 1);; i = (i + 1) & (c->cap - 1))
    if (!c->slots[i].key[0] || strcmp(c->slots[i].key, key) == 0) return &c->slots[i];
}

static int grow(counter_t* c) {
  counter_t bigger = *c;
  bigger.cap = c->cap * 2;
  bigger.slots = molt_calloc(bigger.cap, sizeof(slot_t));
  if (!bigger.slots) return MOLT_ENOMEM;
  for (uint32_t i = 0; i < c->cap; i++)
    if (c->slots[i].key[0]) *find(&bigger, c->slots[i].key) = c->slots[i];
  molt_free(c->slots);
  *c = bigger;
  return 0;
}

static int counter_init(const molt_args_t* args, void** state) {
  counter_t* c = molt_calloc(1, sizeof(*c));
  if (!c) return MOLT_ENOMEM;
  c->cap = 16;
  c->slots = molt_calloc(c->cap, sizeof(slot_t));
  int rc = c->slots ? counter_register(args) : MOLT_ENOMEM;
  if (rc) {
    molt_free(c->slots);
    molt_free(c);
    return rc;
  }
  *state = c;
  return 0;
}

/* Grows at a load of 3/4, as 1.0.0 does, so a slot is always empty and
 * find always ends. */
static int incr(void* state, const char* key, int64_t by) {
  counter_t* c = state;
  if ((c->used + 1) * 4 > c->cap * 3 && grow(c) != 0) return MOLT_ENOMEM;
  slot_t* s = find(c, key);
  if (!s->key[0]) {
    snprintf(s->key, sizeof(s->key), "%s", key);
    c->used++;
  }
  s->count += by;
  c->total += by;
  return 0;
}

static int64_t get(const void* state, const char* key) {
  const slot_t* s = find(state, key);
  return s->key[0] ? s->count : 0;
}

static counter_stats_t stats(const void* state) {
  const counter_t* c = state;
  return (counter_stats_t){c->total, c->used, c->messages};
}

static const counter_ops_t ops = {.vsn = VSN, .state_vsn = STATE_VSN, .incr = incr, .get = get, .stats = stats};

static int counter_handle(void* state, const molt_msg_t* msg) {
  counter_t* c = state;
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  c->messages++;
  return counter_serve(&ops, c, msg);
}

static void counter_terminate(void* state, int reason) {
  counter_t* c = state;
  molt_log("terminating (reason %d): %u keys, total %lld", reason, c->used, (long long)c->total);
}

static void counter_free_state(void* state) {
  counter_t* c = state;
  molt_free(c->slots);
  molt_free(c);
}

/* The same text as 1.0.0's, so tools comparing states across a soft load
 * see no difference but the counts. */
static char* counter_format_state(const void* state) {
  const counter_t* c = state;
  counter_text_t t;
  if (!counter_text_init(&t, 96 + (size_t)c->used * (COUNTER_KEY_MAX + 32))) return NULL;
  counter_text_add(&t, "{\"total\":%lld,\"messages\":%llu,\"counts\":{", (long long)c->total,
                   (unsigned long long)c->messages);
  const char* sep = "";
  for (uint32_t i = 0; i < c->cap; i++) {
    if (!c->slots[i].key[0]) continue;
    counter_text_add(&t, "%s\"%s\":%lld", sep, c->slots[i].key, (long long)c->slots[i].count);
    sep = ",";
  }
  counter_text_add(&t, "}}");
  return counter_text_done(&t);
}

MOLT_EXPORT const molt_module_t molt_module = {
    .magic = MOLT_MAGIC,
    .abi = MOLT_ABI_VERSION,
    .size = sizeof(molt_module_t),
    .state_vsn = STATE_VSN,
    .name = "counter",
    .vsn = VSN,
    .init = counter_init,
    .handle = counter_handle,
    .terminate = counter_terminate,
    .code_change = NULL, /* same state_vsn as 1.0.0: nothing to migrate */
    .free_state = counter_free_state,
    .format_state = counter_format_state,
};
