/* counter 1.0.0: keeps a count per key. Increments and queries arrive as
 * messages (counter_proto.h); queries are answered with molt_reply. The
 * state is one open-addressing table, allocated with molt_alloc and never
 * pointing into this module's image. */
#include <stdio.h>
#include <string.h>

#include "../counter_proto.h"
#include "molt/module.h"

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

static uint32_t hash(const char* s) {
  uint32_t h = 2166136261u;
  while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
  return h;
}

static slot_t* find(counter_t* c, const char* key) {
  for (uint32_t i = hash(key) & (c->cap - 1);; i = (i + 1) & (c->cap - 1))
    if (!c->slots[i].key[0] || strcmp(c->slots[i].key, key) == 0) return &c->slots[i];
}

static int grow(counter_t* c) {
  counter_t bigger = *c;
  bigger.cap = c->cap * 2;
  bigger.used = 0;
  bigger.slots = molt_calloc(bigger.cap, sizeof(slot_t));
  if (!bigger.slots) return MOLT_ENOMEM;
  for (uint32_t i = 0; i < c->cap; i++) {
    if (!c->slots[i].key[0]) continue;
    *find(&bigger, c->slots[i].key) = c->slots[i];
    bigger.used++;
  }
  molt_free(c->slots);
  *c = bigger;
  return 0;
}

static int counter_init(const molt_args_t* args, void** state) {
  counter_t* c = molt_calloc(1, sizeof(*c));
  if (!c) return MOLT_ENOMEM;
  c->cap = 16;
  c->slots = molt_calloc(c->cap, sizeof(slot_t));
  if (!c->slots) {
    molt_free(c);
    return MOLT_ENOMEM;
  }
  const char* name = molt_args_str(args, "name", NULL);
  int rc = name ? molt_register(name) : 0;
  if (rc) {
    molt_free(c->slots);
    molt_free(c);
    return rc;
  }
  *state = c;
  return 0;
}

/* A key is 1..31 characters of [A-Za-z0-9._-], NUL-terminated inside its
 * field: safe to print as JSON as it is. */
static bool valid_key(const char* key) {
  size_t n = 0;
  for (; n < COUNTER_KEY_MAX && key[n]; n++) {
    char ch = key[n];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return n > 0 && n < COUNTER_KEY_MAX;
}

static int incr(counter_t* c, const counter_incr_t* in) {
  if (!valid_key(in->key)) return 0;
  if ((c->used + 1) * 4 > c->cap * 3 && grow(c) != 0) return MOLT_ENOMEM;
  slot_t* s = find(c, in->key);
  if (!s->key[0]) {
    memcpy(s->key, in->key, sizeof(s->key));
    c->used++;
  }
  s->count += in->by;
  c->total += in->by;
  return 0;
}

static int counter_handle(void* state, const molt_msg_t* msg) {
  counter_t* c = state;
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  c->messages++;
  switch (msg->tag) {
    case COUNTER_INCR:
      if (msg->size != sizeof(counter_incr_t)) break;
      return incr(c, msg->data);
    case COUNTER_GET: {
      if (msg->size != sizeof(counter_key_t)) break;
      counter_value_t v = {0};
      memcpy(v.key, ((const counter_key_t*)msg->data)->key, sizeof(v.key));
      v.key[COUNTER_KEY_MAX - 1] = '\0';
      if (valid_key(v.key)) {
        slot_t* s = find(c, v.key);
        v.value = s->key[0] ? s->count : 0;
      }
      molt_reply(msg, COUNTER_VALUE, &v, sizeof(v));
      return MOLT_OK;
    }
    case COUNTER_STATS: {
      counter_stats_t st = {c->total, c->used, c->messages};
      molt_reply(msg, COUNTER_STATS_REPLY, &st, sizeof(st));
      return MOLT_OK;
    }
  }
  /* A message this version does not understand: say so and keep serving
   * rather than lose every count to a crash. */
  molt_log("ignored message tag %u of %u bytes", msg->tag, msg->size);
  return MOLT_OK;
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

static char* counter_format_state(const void* state) {
  const counter_t* c = state;
  size_t cap = 96 + (size_t)c->used * (COUNTER_KEY_MAX + 32);
  char* out = molt_alloc(cap);
  if (!out) return NULL;
  size_t len = (size_t)snprintf(out, cap, "{\"total\":%lld,\"messages\":%llu,\"counts\":{", (long long)c->total,
                                (unsigned long long)c->messages);
  bool first = true;
  for (uint32_t i = 0; i < c->cap && len < cap; i++) {
    if (!c->slots[i].key[0]) continue;
    len += (size_t)snprintf(out + len, cap - len, "%s\"%s\":%lld", first ? "" : ",", c->slots[i].key,
                            (long long)c->slots[i].count);
    first = false;
  }
  if (len < cap) snprintf(out + len, cap - len, "}}");
  return out;
}

MOLT_EXPORT const molt_module_t molt_module = {
    .magic = MOLT_MAGIC,
    .abi = MOLT_ABI_VERSION,
    .size = sizeof(molt_module_t),
    .state_vsn = 1,
    .name = "counter",
    .vsn = "1.0.0",
    .init = counter_init,
    .handle = counter_handle,
    .terminate = counter_terminate,
    .code_change = NULL, /* the first version: nothing to migrate from */
    .free_state = counter_free_state,
    .format_state = counter_format_state,
};
