/* stats 1.0.0: every interval (250 ms unless args say "interval_ms") asks
 * the counter, found by the name in args "target" (default "counter"),
 * for COUNTER_STATS, and keeps the latest answer for format_state and for
 * STATS_GET. Added by demo release 2.0.0: the upgrade that adds a module.
 * It only reads the counter; a counter that is down or restarting is
 * counted as unreachable and asked again next time. */
#include <stdio.h>
#include <string.h>

#include "../stats_proto.h"
#include "molt/module.h"

/* The timer's message to ourselves; a TICK from anyone else is ignored. */
enum { TICK = 100 };

typedef struct {
  char target[MOLT_NAME_MAX + 1];
  uint64_t interval_ms;
  stats_latest_t s;
} stats_t;

/* Names the counter can register under that format_state can print as
 * they are: 1..63 of [A-Za-z0-9._-]. */
static bool target_ok(const char* s) {
  size_t n = 0;
  for (; s[n]; n++) {
    char ch = s[n];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return n > 0 && n <= MOLT_NAME_MAX;
}

static int stats_init(const molt_args_t* args, void** state) {
  int64_t interval = molt_args_int(args, "interval_ms", 250);
  const char* target = molt_args_str(args, "target", "counter");
  if (interval < 1 || interval > 3600000 || !target_ok(target)) return MOLT_EINVAL;
  stats_t* st = molt_calloc(1, sizeof(*st));
  if (!st) return MOLT_ENOMEM;
  strcpy(st->target, target);
  st->interval_ms = (uint64_t)interval;
  int rc = molt_send_after(st->interval_ms, molt_self(), TICK, NULL, 0, NULL);
  if (rc) {
    molt_free(st);
    return rc;
  }
  *state = st;
  return 0;
}

static void poll_counter(stats_t* st) {
  molt_pid_t counter = molt_whereis(st->target);
  if (counter != MOLT_PID_NONE && molt_send_ref(counter, COUNTER_STATS, molt_make_ref(), NULL, 0) == 0)
    st->s.polls++;
  else
    st->s.unreachable++;
}

static int stats_handle(void* state, const molt_msg_t* msg) {
  stats_t* st = state;
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  switch (msg->tag) {
    case TICK:
      if (msg->from != molt_self()) break;
      poll_counter(st);
      return molt_send_after(st->interval_ms, molt_self(), TICK, NULL, 0, NULL);
    case COUNTER_STATS_REPLY:
      if (msg->size != sizeof(counter_stats_t)) break;
      memcpy(&st->s.latest, msg->data, sizeof(st->s.latest));
      st->s.answers++;
      st->s.at_ms = molt_now_ms();
      return MOLT_OK;
    case STATS_GET:
      molt_reply(msg, STATS_LATEST, &st->s, sizeof(st->s));
      return MOLT_OK;
  }
  molt_log("ignored message tag %u of %u bytes", msg->tag, msg->size);
  return MOLT_OK;
}

static void stats_terminate(void* state, int reason) {
  stats_t* st = state;
  molt_log("terminating (reason %d): %llu polls, %llu answers", reason, (unsigned long long)st->s.polls,
           (unsigned long long)st->s.answers);
}

static void stats_free_state(void* state) { molt_free(state); }

static char* stats_format_state(const void* state) {
  const stats_t* st = state;
  const stats_latest_t* s = &st->s;
  size_t cap = 384;
  char* out = molt_alloc(cap);
  if (!out) return NULL;
  int n = snprintf(out, cap, "{\"target\":\"%s\",\"polls\":%llu,\"answers\":%llu,\"unreachable\":%llu,\"latest\":",
                   st->target, (unsigned long long)s->polls, (unsigned long long)s->answers,
                   (unsigned long long)s->unreachable);
  if (s->answers == 0)
    snprintf(out + n, cap - (size_t)n, "null}");
  else
    snprintf(out + n, cap - (size_t)n, "{\"total\":%lld,\"keys\":%llu,\"messages\":%llu,\"at_ms\":%llu}}",
             (long long)s->latest.total, (unsigned long long)s->latest.keys,
             (unsigned long long)s->latest.messages, (unsigned long long)s->at_ms);
  return out;
}

MOLT_EXPORT const molt_module_t molt_module = {
    .magic = MOLT_MAGIC,
    .abi = MOLT_ABI_VERSION,
    .size = sizeof(molt_module_t),
    .state_vsn = 1,
    .name = "stats",
    .vsn = "1.0.0",
    .init = stats_init,
    .handle = stats_handle,
    .terminate = stats_terminate,
    .code_change = NULL, /* the only version */
    .free_state = stats_free_state,
    .format_state = stats_format_state,
};
