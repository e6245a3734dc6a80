/* counter 2.0.0: the protocol 1.1.0 serves, over a new state (state_vsn 2).
 * Each key's record now also holds how many increments it took and when
 * the last one came; records sit densely in order of first appearance and
 * a separate index of record numbers finds them. code_change converts a
 * 1.x state up and converts back down to the exact 1.x layout, so a
 * release can roll back to 1.1.0 without losing a count. */
#include "../counter_common.h"

#define VSN "2.0.0"
#define STATE_VSN 2

/* The 1.x state (state_vsn 1), copied from 1.0.0/counter.c and frozen
 * here: this version must read and write it long after 1.x's sources have
 * moved on, and a shared header would let an edit for one version silently
 * change what another migrates. 1.x places a key at counter_hash(key) &
 * (cap - 1), probing linearly, and grows before an insert would take the
 * load above 3/4. */
typedef struct {
  char key[COUNTER_KEY_MAX];
  int64_t count;
} v1_slot_t;

typedef struct {
  uint32_t cap, used; /* cap is a power of two */
  int64_t total;
  uint64_t messages;
  v1_slot_t* slots;
} v1_counter_t;

/* The state_vsn 2 layout. */
typedef struct {
  char key[COUNTER_KEY_MAX];
  int64_t count;
  uint64_t increments; /* COUNTER_INCR messages for this key since it reached 2.x */
  uint64_t updated_ms; /* molt_now_ms() at the last of them; 0: none since */
} record_t;

typedef struct {
  int64_t total;
  uint64_t messages;
  uint32_t nrec, rec_cap; /* records[0, nrec) are in use */
  uint32_t index_cap;     /* a power of two, at least twice nrec */
  record_t* records;
  uint32_t* index; /* per slot a record number + 1, 0 for empty; placed by
                    * counter_hash with linear probing */
} counter_t;

/* The demo's and tests' hook for a refused migration: a real code_change
 * validates the state it is given, and this one refuses, in both
 * directions, any state holding this key. Sending one increment of
 * "poison" to one counter among a thousand makes the whole upgrade abort. */
#define POISON_KEY "poison"

/* At most this many keys: keeps every capacity below in 32 bits. */
#define MAX_KEYS (1u << 28)

static uint32_t index_cap_for(uint32_t nrec) {
  uint32_t cap = 16;
  while (cap < 2 * nrec) cap *= 2;
  return cap;
}

/* Where key's record number is, or the empty slot where it would go. The
 * load stays at most 1/2, so a slot is always empty and the probe ends. */
static uint32_t* slot_of(const record_t* records, uint32_t* index, uint32_t cap, const char* key) {
  for (uint32_t i = counter_hash(key) & (cap - 1);; i = (i + 1) & (cap - 1))
    if (!index[i] || strcmp(records[index[i] - 1].key, key) == 0) return &index[i];
}

/* A fresh index of cap slots over records[0, nrec), or NULL. */
static uint32_t* index_build(const record_t* records, uint32_t nrec, uint32_t cap) {
  uint32_t* index = molt_calloc(cap, sizeof(uint32_t));
  if (!index) return NULL;
  for (uint32_t r = 0; r < nrec; r++) *slot_of(records, index, cap, records[r].key) = r + 1;
  return index;
}

static void counter_free_state(void* state) {
  counter_t* c = state;
  molt_free(c->records);
  molt_free(c->index);
  molt_free(c);
}

/* An empty state with room for nrec records. */
static counter_t* state_new(uint32_t nrec) {
  counter_t* c = molt_calloc(1, sizeof(*c));
  if (!c) return NULL;
  c->rec_cap = nrec > 16 ? nrec : 16;
  c->index_cap = index_cap_for(nrec);
  c->records = molt_calloc(c->rec_cap, sizeof(record_t));
  c->index = molt_calloc(c->index_cap, sizeof(uint32_t));
  if (!c->records || !c->index) {
    counter_free_state(c);
    return NULL;
  }
  return c;
}

static int counter_init(const molt_args_t* args, void** state) {
  counter_t* c = state_new(0);
  if (!c) return MOLT_ENOMEM;
  int rc = counter_register(args);
  if (rc) {
    counter_free_state(c);
    return rc;
  }
  *state = c;
  return 0;
}

/* Room for one more record: both allocations happen before the state
 * changes in a way that matters, so a failure leaves it as it was (a
 * bigger records array is harmless). */
static int reserve_one(counter_t* c) {
  if (c->nrec >= MAX_KEYS) return MOLT_ENOMEM;
  if (c->nrec == c->rec_cap) {
    record_t* bigger = molt_realloc(c->records, (size_t)c->rec_cap * 2 * sizeof(record_t));
    if (!bigger) return MOLT_ENOMEM;
    c->records = bigger;
    c->rec_cap *= 2;
  }
  if ((c->nrec + 1) * 2 > c->index_cap) {
    uint32_t* index = index_build(c->records, c->nrec, c->index_cap * 2);
    if (!index) return MOLT_ENOMEM;
    molt_free(c->index);
    c->index = index;
    c->index_cap *= 2;
  }
  return 0;
}

static int incr(void* state, const char* key, int64_t by) {
  counter_t* c = state;
  uint32_t* slot = slot_of(c->records, c->index, c->index_cap, key);
  if (!*slot) {
    int rc = reserve_one(c);
    if (rc) return rc;
    slot = slot_of(c->records, c->index, c->index_cap, key); /* the index may be new */
    record_t* r = &c->records[c->nrec];
    memset(r, 0, sizeof(*r));
    snprintf(r->key, sizeof(r->key), "%s", key);
    *slot = ++c->nrec;
  }
  record_t* r = &c->records[*slot - 1];
  r->count += by;
  r->increments++;
  r->updated_ms = molt_now_ms();
  c->total += by;
  return 0;
}

static int64_t get(const void* state, const char* key) {
  const counter_t* c = state;
  uint32_t n = *slot_of(c->records, c->index, c->index_cap, key);
  return n ? c->records[n - 1].count : 0;
}

static counter_stats_t stats(const void* state) {
  const counter_t* c = state;
  return (counter_stats_t){c->total, c->nrec, c->messages};
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
  molt_log("terminating (reason %d): %u keys, total %lld", reason, c->nrec, (long long)c->total);
}

/* A 1.x state is only read, and only after it is known to be sound: a
 * power-of-two table whose keys are valid, NUL-terminated and as many as it
 * says, none of them the poison key. */
static int v1_check(const v1_counter_t* old, const char* vsn) {
  if (!old->slots || old->cap < 2 || (old->cap & (old->cap - 1)) || old->used >= old->cap ||
      old->used > MAX_KEYS) {
    molt_log("code_change up from %s: not a 1.x table (cap %u, used %u)", vsn, old->cap, old->used);
    return MOLT_EINVAL;
  }
  uint32_t keys = 0;
  for (uint32_t i = 0; i < old->cap; i++) {
    const char* key = old->slots[i].key;
    if (!key[0]) continue;
    keys++;
    if (!memchr(key, '\0', COUNTER_KEY_MAX) || !counter_valid_key(key)) {
      molt_log("code_change up from %s: slot %u holds no valid key", vsn, i);
      return MOLT_EINVAL;
    }
    if (strcmp(key, POISON_KEY) == 0) {
      molt_log("code_change up from %s: refused, the state holds the key \"" POISON_KEY "\"", vsn);
      return MOLT_EINVAL;
    }
  }
  if (keys != old->used) {
    molt_log("code_change up from %s: %u keys in a table that says %u", vsn, keys, old->used);
    return MOLT_EINVAL;
  }
  return 0;
}

/* 1.x -> 2.0.0. Every key keeps its count; what 1.x never recorded (the
 * increments and the time of the last) starts at 0. Keys take the order
 * of the old table's slots. */
static int up(const v1_counter_t* old, const char* vsn, void** new_state) {
  int rc = v1_check(old, vsn);
  if (rc) return rc;
  counter_t* c = state_new(old->used);
  if (!c) return MOLT_ENOMEM;
  for (uint32_t i = 0; i < old->cap; i++) {
    const v1_slot_t* s = &old->slots[i];
    if (!s->key[0]) continue;
    record_t* r = &c->records[c->nrec];
    memcpy(r->key, s->key, sizeof(r->key));
    r->count = s->count;
    *slot_of(c->records, c->index, c->index_cap, r->key) = ++c->nrec;
  }
  c->total = old->total;
  c->messages = old->messages;
  *new_state = c;
  return 0;
}

/* 2.0.0 -> 1.x: the exact 1.x layout, every key placed where 1.x's own
 * find looks for it, in a table as big as 1.x would have grown it. The
 * increments and times are dropped: 1.x has nowhere to keep them. */
static int down(const counter_t* c, const char* vsn, void** new_state) {
  for (uint32_t r = 0; r < c->nrec; r++)
    if (strcmp(c->records[r].key, POISON_KEY) == 0) {
      molt_log("code_change down to %s: refused, the state holds the key \"" POISON_KEY "\"", vsn);
      return MOLT_EINVAL;
    }
  uint32_t cap = 16;
  while ((uint64_t)c->nrec * 4 > (uint64_t)cap * 3) cap *= 2;
  v1_counter_t* old = molt_calloc(1, sizeof(*old));
  v1_slot_t* slots = molt_calloc(cap, sizeof(v1_slot_t));
  if (!old || !slots) {
    molt_free(old);
    molt_free(slots);
    return MOLT_ENOMEM;
  }
  for (uint32_t r = 0; r < c->nrec; r++) {
    uint32_t i = counter_hash(c->records[r].key) & (cap - 1);
    while (slots[i].key[0]) i = (i + 1) & (cap - 1);
    memcpy(slots[i].key, c->records[r].key, sizeof(slots[i].key));
    slots[i].count = c->records[r].count;
  }
  *old = (v1_counter_t){.cap = cap, .used = c->nrec, .total = c->total, .messages = c->messages, .slots = slots};
  *new_state = old;
  return 0;
}

/* Up from state_vsn 1 and down to it; nothing else. extra "fail" refuses
 * every call, so a test or the demo can abort a whole upgrade at will. */
static int counter_code_change(molt_direction_t dir, const char* vsn, uint32_t state_vsn, const void* old_state,
                               const char* extra, void** new_state) {
  if (state_vsn != 1 || (dir != MOLT_UP && dir != MOLT_DOWN) || !old_state || !new_state) return MOLT_EINVAL;
  if (!vsn) vsn = "1.x";
  if (extra && strcmp(extra, "fail") == 0) {
    molt_log("code_change %s %s: refused, asked to by extra \"fail\"", dir == MOLT_UP ? "up from" : "down to", vsn);
    return MOLT_ECANCELED;
  }
  return dir == MOLT_UP ? up(old_state, vsn, new_state) : down(old_state, vsn, new_state);
}

/* 1.x's text plus each record's increments and last update. */
static char* counter_format_state(const void* state) {
  const counter_t* c = state;
  counter_text_t t;
  if (!counter_text_init(&t, 128 + (size_t)c->nrec * (2 * COUNTER_KEY_MAX + 160))) return NULL;
  counter_text_add(&t, "{\"total\":%lld,\"messages\":%llu,\"counts\":{", (long long)c->total,
                   (unsigned long long)c->messages);
  for (uint32_t r = 0; r < c->nrec; r++)
    counter_text_add(&t, "%s\"%s\":%lld", r ? "," : "", c->records[r].key, (long long)c->records[r].count);
  counter_text_add(&t, "},\"records\":[");
  for (uint32_t r = 0; r < c->nrec; r++) {
    const record_t* rec = &c->records[r];
    counter_text_add(&t, "%s{\"key\":\"%s\",\"count\":%lld,\"increments\":%llu,\"updated_ms\":%llu}", r ? "," : "",
                     rec->key, (long long)rec->count, (unsigned long long)rec->increments,
                     (unsigned long long)rec->updated_ms);
  }
  counter_text_add(&t, "]}");
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
    .code_change = counter_code_change,
    .free_state = counter_free_state,
    .format_state = counter_format_state,
};
