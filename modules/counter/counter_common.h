/* counter_common.h: what every counter version since 1.1.0 compiles: the
 * key rules, the key hash, the protocol (counter_proto.h) served over
 * whatever table a version keeps, and a bounded text builder for
 * format_state. Never a state layout: each version defines its own, so
 * what differs between versions stays in their sources.
 *
 * 1.0.0 predates this file and keeps its own copies; its source is frozen
 * because it is what releases already shipped. Everything here is static
 * inline: each module image gets its own copy and exports nothing. */
#ifndef DEMO_COUNTER_COMMON_H
#define DEMO_COUNTER_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "counter_proto.h"
#include "molt/module.h"

/* A key is 1..31 characters of [A-Za-z0-9._-], NUL-terminated inside its
 * field: safe to print as JSON as it is. The same rule as 1.0.0's. */
static inline bool counter_valid_key(const char* key) {
  size_t n = 0;
  for (; n < COUNTER_KEY_MAX && key[n]; n++) {
    char ch = key[n];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return n > 0 && n < COUNTER_KEY_MAX;
}

/* FNV-1a, as 1.0.0 hashes. Frozen: the 1.x table (state_vsn 1) places a
 * key by this hash and linear probing, so 2.0.0's downgrade must place
 * keys exactly so for 1.x code to find them again. */
static inline uint32_t counter_hash(const char* s) {
  uint32_t h = 2166136261u;
  while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
  return h;
}

/* The table a version keeps, as the protocol sees it. A const table in the
 * module image: the state never points at it. */
typedef struct {
  const char* vsn;    /* answered to COUNTER_INFO */
  uint32_t state_vsn;
  /* key is valid (counter_valid_key). 0, or MOLT_ENOMEM with the state
   * unchanged. */
  int (*incr)(void* state, const char* key, int64_t by);
  /* The key's count, 0 if the key is unknown. */
  int64_t (*get)(const void* state, const char* key);
  counter_stats_t (*stats)(const void* state);
} counter_ops_t;

/* One USER message, already counted in the state's messages. Requests are
 * answered with molt_reply; a message nobody understands is logged and
 * dropped rather than crash the actor and lose every count. */
static inline int counter_serve(const counter_ops_t* ops, void* state, const molt_msg_t* msg) {
  switch (msg->tag) {
    case COUNTER_INCR: {
      if (msg->size != sizeof(counter_incr_t)) break;
      const counter_incr_t* in = msg->data;
      return counter_valid_key(in->key) ? ops->incr(state, in->key, in->by) : MOLT_OK;
    }
    case COUNTER_GET: {
      if (msg->size != sizeof(counter_key_t)) break;
      counter_value_t v = {0};
      memcpy(v.key, ((const counter_key_t*)msg->data)->key, sizeof(v.key));
      v.key[COUNTER_KEY_MAX - 1] = '\0';
      if (counter_valid_key(v.key)) v.value = ops->get(state, v.key);
      molt_reply(msg, COUNTER_VALUE, &v, sizeof(v));
      return MOLT_OK;
    }
    case COUNTER_STATS: {
      counter_stats_t st = ops->stats(state);
      molt_reply(msg, COUNTER_STATS_REPLY, &st, sizeof(st));
      return MOLT_OK;
    }
    case COUNTER_INFO: {
      counter_info_t info = {.state_vsn = ops->state_vsn, .messages = ops->stats(state).messages};
      snprintf(info.vsn, sizeof(info.vsn), "%s", ops->vsn);
      molt_reply(msg, COUNTER_INFO_REPLY, &info, sizeof(info));
      return MOLT_OK;
    }
  }
  molt_log("ignored message tag %u of %u bytes", msg->tag, msg->size);
  return MOLT_OK;
}

/* init's optional "name" argument: register the actor under it. */
static inline int counter_register(const molt_args_t* args) {
  const char* name = molt_args_str(args, "name", NULL);
  return name ? molt_register(name) : 0;
}

/* format_state's output: a molt_alloc'd buffer sized up front by the
 * caller. Appends stop at the end instead of overrunning it, and a
 * truncated text is refused (NULL) rather than returned as broken JSON. */
typedef struct {
  char* buf;
  size_t cap, len;
} counter_text_t;

static inline bool counter_text_init(counter_text_t* t, size_t cap) {
  t->buf = molt_alloc(cap);
  t->cap = cap;
  t->len = 0;
  if (t->buf) t->buf[0] = '\0';
  return t->buf != NULL;
}

__attribute__((format(printf, 2, 3))) static inline void counter_text_add(counter_text_t* t, const char* fmt, ...) {
  if (t->len >= t->cap) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
  va_end(ap);
  t->len = n < 0 ? t->cap : t->len + (size_t)n;
}

static inline char* counter_text_done(counter_text_t* t) {
  if (t->len < t->cap) return t->buf;
  molt_free(t->buf);
  return NULL;
}

#endif
