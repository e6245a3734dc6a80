/* probe.c: the probe module and the test-thread helpers of probe.h. The
 * module uses only the public actor API, as a real module would; the
 * barrier rides the runtime's own call messages. */
#include "probe.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actor.h"
#include "message.h"

typedef struct probe {
  char* id;
  int64_t last_seq;
} probe_t;

typedef unsigned long long ull;

static int probe_init(const molt_args_t* args, void** state) {
  probe_t* p = molt_calloc(1, sizeof(*p));
  if (!p) return MOLT_ENOMEM;
  p->id = molt_strdup(molt_args_str(args, "id", "probe"));
  if (!p->id) {
    molt_free(p);
    return MOLT_ENOMEM;
  }
  int rc = 0;
  if (molt_args_int(args, "trap", 0)) molt_trap_exit(true);
  if (molt_args_int(args, "register", 0)) rc = molt_register(p->id);
  int64_t ms = molt_args_int(args, "timer_ms", 0);
  if (rc == 0 && ms > 0) rc = molt_send_after((uint64_t)ms, molt_self(), PROBE_TIMER_FIRED, NULL, 0, NULL);
  if (rc == 0 && molt_args_int(args, "fail", 0)) rc = MOLT_EINVAL;
  if (rc) {
    rt_note("%s init failed rc=%d", p->id, rc);
    molt_free(p->id);
    molt_free(p);
    return rc;
  }
  rt_note("%s init pid=%llu", p->id, (ull)molt_self());
  *state = p;
  return 0;
}

static void spawn(probe_t* p, const molt_msg_t* msg, unsigned flags) {
  const char* args = msg->size ? msg->data : NULL;
  molt_pid_t pid = MOLT_PID_NONE;
  uint64_t ref = 0;
  int rc = molt_spawn_opt("probe", args, flags, &pid, &ref);
  rt_note("%s spawned pid=%llu ref=%llu rc=%d", p->id, (ull)pid, (ull)ref, rc);
}

static void echo(probe_t* p, int64_t seq) {
  if (seq != p->last_seq + 1)
    rt_note("%s OUT OF ORDER seq=%lld after=%lld", p->id, (long long)seq, (long long)p->last_seq);
  p->last_seq = seq;
  rt_note("%s got seq=%lld", p->id, (long long)seq);
}

static int command(probe_t* p, const molt_msg_t* msg) {
  probe_cmd_t c = {0, 0};
  if (msg->size >= sizeof(c)) memcpy(&c, msg->data, sizeof(c));
  const char* text = msg->size ? msg->data : NULL;
  uint64_t ref = 0;
  int rc;
  switch (msg->tag) {
    case PROBE_LINK:
      rt_note("%s link rc=%d", p->id, molt_link((molt_pid_t)c.a));
      return MOLT_OK;
    case PROBE_UNLINK:
      rt_note("%s unlink rc=%d", p->id, molt_unlink((molt_pid_t)c.a));
      return MOLT_OK;
    case PROBE_MONITOR:
      rc = molt_monitor((molt_pid_t)c.a, &ref);
      rt_note("%s monitor ref=%llu rc=%d", p->id, (ull)ref, rc);
      return MOLT_OK;
    case PROBE_DEMONITOR:
      rt_note("%s demonitor rc=%d", p->id, molt_demonitor((uint64_t)c.a));
      return MOLT_OK;
    case PROBE_TRAP:
      molt_trap_exit(c.a != 0);
      rt_note("%s trap on=%d", p->id, c.a != 0);
      return MOLT_OK;
    case PROBE_EXIT:
      rt_note("%s exit rc=%d", p->id, molt_exit((molt_pid_t)c.a, (int)c.b));
      return MOLT_OK;
    case PROBE_CRASH:
      return (int)c.a;
    case PROBE_STOP:
      return MOLT_STOP;
    case PROBE_SPAWN_LINK:
      spawn(p, msg, MOLT_SPAWN_LINK);
      return MOLT_OK;
    case PROBE_SPAWN_MONITOR:
      spawn(p, msg, MOLT_SPAWN_MONITOR);
      return MOLT_OK;
    case PROBE_SPAWN_ANY:
      spawn(p, msg, MOLT_SPAWN_ANY);
      return MOLT_OK;
    case PROBE_TIMER:
      rc = molt_send_after((uint64_t)c.a, molt_self(), (uint32_t)c.b, NULL, 0, &ref);
      rt_note("%s timer ref=%llu at=%llu rc=%d", p->id, (ull)ref, (ull)molt_now_ms(), rc);
      return MOLT_OK;
    case PROBE_TIMER_TO:
      rc = molt_send_after((uint64_t)c.b, (molt_pid_t)c.a, PROBE_TIMER_FIRED, NULL, 0, &ref);
      rt_note("%s timer ref=%llu at=%llu rc=%d", p->id, (ull)ref, (ull)molt_now_ms(), rc);
      return MOLT_OK;
    case PROBE_CANCEL:
      rt_note("%s cancel rc=%d", p->id, molt_cancel_timer((uint64_t)c.a));
      return MOLT_OK;
    case PROBE_SEND: {
      probe_cmd_t empty = {0, 0};
      rt_note("%s send rc=%d", p->id, molt_send((molt_pid_t)c.a, (uint32_t)c.b, &empty, sizeof(empty)));
      return MOLT_OK;
    }
    case PROBE_ECHO:
      echo(p, c.a);
      return MOLT_OK;
    case PROBE_REGISTER:
      rt_note("%s register rc=%d", p->id, molt_register(text));
      return MOLT_OK;
    case PROBE_UNREGISTER:
      rt_note("%s unregister rc=%d", p->id, molt_unregister(text));
      return MOLT_OK;
    case PROBE_WHEREIS:
      rt_note("%s whereis pid=%llu", p->id, (ull)molt_whereis(text));
      return MOLT_OK;
  }
  if (msg->tag >= PROBE_TIMER_FIRED) {
    rt_note("%s fired tag=%u at=%llu", p->id, msg->tag, (ull)molt_now_ms());
    return MOLT_OK;
  }
  rt_note("%s unknown tag=%u", p->id, msg->tag);
  return MOLT_OK;
}

static int probe_handle(void* state, const molt_msg_t* msg) {
  probe_t* p = state;
  switch (msg->kind) {
    case MOLT_MSG_EXIT:
      rt_note("%s EXIT from=%llu reason=%d", p->id, (ull)msg->from, msg->reason);
      return MOLT_OK;
    case MOLT_MSG_DOWN:
      rt_note("%s DOWN ref=%llu from=%llu reason=%d", p->id, (ull)msg->ref, (ull)msg->from, msg->reason);
      return MOLT_OK;
    case MOLT_MSG_USER:
      return command(p, msg);
  }
  rt_note("%s unknown kind=%u", p->id, msg->kind);
  return MOLT_OK;
}

static void probe_terminate(void* state, int reason) {
  probe_t* p = state;
  rt_note("%s terminate reason=%d", p->id, reason);
}

static void probe_free_state(void* state) {
  probe_t* p = state;
  molt_free(p->id);
  molt_free(p);
}

const molt_module_t probe_module = {
    .magic = MOLT_MAGIC,
    .abi = MOLT_ABI_VERSION,
    .size = sizeof(molt_module_t),
    .state_vsn = 1,
    .name = "probe",
    .vsn = "1.0.0",
    .init = probe_init,
    .handle = probe_handle,
    .terminate = probe_terminate,
    .free_state = probe_free_state,
};

/* ---- the test thread's side */

void probe_install(void) { rt_install(&probe_module); }

molt_pid_t probe_start(const char* id, const char* extra) {
  char args[512];
  snprintf(args, sizeof(args), "{\"id\":\"%s\",\"register\":1%s}", id, extra ? extra : "");
  molt_pid_t pid = rt_spawn("probe", args);
  cr_assert_eq(molt_whereis(id), pid, "%s is not registered", id);
  return pid;
}

static void send_or_fail(molt_pid_t to, uint32_t tag, const void* data, size_t size) {
  int rc = rt_send(to, tag, data, size);
  cr_assert_eq(rc, 0, "command %u: %s", tag, molt_strerror(rc));
}

void probe_cmd(molt_pid_t to, uint32_t tag, int64_t a, int64_t b) {
  probe_cmd_t c = {a, b};
  send_or_fail(to, tag, &c, sizeof(c));
}

void probe_cmd_str(molt_pid_t to, uint32_t tag, const char* text) {
  send_or_fail(to, tag, text, text ? strlen(text) + 1 : 0);
}

/* Send, then wait for one more "<id> <what> " note and return its rc. */
static long long call(molt_pid_t p, const char* id, const char* what, uint32_t tag, const void* data,
                      size_t size) {
  char needle[96];
  snprintf(needle, sizeof(needle), "%s %s ", id, what);
  int n = rt_count(needle);
  send_or_fail(p, tag, data, size);
  probe_expect(needle, n + 1);
  return probe_value(needle, "rc");
}

long long probe_call(molt_pid_t p, const char* id, const char* what, uint32_t tag, int64_t a, int64_t b) {
  probe_cmd_t c = {a, b};
  return call(p, id, what, tag, &c, sizeof(c));
}

long long probe_call_str(molt_pid_t p, const char* id, const char* what, uint32_t tag, const char* text) {
  return call(p, id, what, tag, text, text ? strlen(text) + 1 : 0);
}

molt_pid_t probe_spawn_child(molt_pid_t parent, const char* parent_id, uint32_t tag, const char* args) {
  long long rc = probe_call_str(parent, parent_id, "spawned", tag, args);
  cr_assert_eq(rc, 0, "%s spawning %s: %s", parent_id, args, molt_err_name((int)rc));
  char needle[96];
  snprintf(needle, sizeof(needle), "%s spawned ", parent_id);
  return (molt_pid_t)probe_value(needle, "pid");
}

void probe_expect(const char* needle, int n) {
  cr_assert(rt_wait_count(needle, n, PROBE_WAIT_MS), "waited for %d x \"%s\", saw %d; notes:\n%s", n,
            needle, rt_count(needle), rt_notes());
}

static const char* nth(const char* notes, const char* needle, int n) {
  const char* p = notes;
  for (int i = 0; (p = strstr(p, needle)) != NULL; p += strlen(needle))
    if (++i == n) return p;
  return NULL;
}

long probe_pos(const char* needle, int n) {
  const char* notes = rt_notes();
  const char* p = nth(notes, needle, n);
  return p ? (long)(p - notes) : -1;
}

static long long value_in(const char* notes, const char* line, const char* needle, const char* key) {
  cr_assert_not_null(line, "no note \"%s\"; notes:\n%s", needle, notes);
  const char* end = strchr(line, '\n');
  char want[64];
  snprintf(want, sizeof(want), " %s=", key);
  const char* v = strstr(line, want);
  cr_assert(v && (!end || v < end), "no %s in note \"%s\"; notes:\n%s", key, needle, notes);
  return strtoll(v + strlen(want), NULL, 10);
}

long long probe_nth_value(const char* needle, int n, const char* key) {
  const char* notes = rt_notes();
  return value_in(notes, nth(notes, needle, n), needle, key);
}

long long probe_value(const char* needle, const char* key) {
  const char* notes = rt_notes();
  const char* line = NULL;
  for (const char* p = notes; (p = strstr(p, needle)) != NULL; p += strlen(needle)) line = p;
  return value_in(notes, line, needle, key);
}

void probe_expect_value(const char* needle, const char* key, long long value) {
  probe_expect(needle, 1);
  long long got = probe_value(needle, key);
  cr_assert_eq(got, value, "\"%s\": %s=%lld, expected %lld; notes:\n%s", needle, key, got, value, rt_notes());
}

void probe_expect_signal(const char* needle, molt_pid_t from, int reason) {
  probe_expect_value(needle, "from", (long long)from);
  probe_expect_value(needle, "reason", reason);
}

/* Static, not on the stack: a barrier abandoned by a failed assertion is
 * still answered during teardown. */
static sem_t barrier_done;

static void barrier_reached(molt_actor_t* a, void* arg) { sem_post(&barrier_done); }

void probe_barrier(molt_pid_t pid) {
  sem_init(&barrier_done, 0, 0);
  molt__msg_t* m = molt__msg_call(barrier_reached, NULL);
  cr_assert_not_null(m);
  cr_assert_eq(molt__deliver(pid, m), 0, "barrier to a pid that never existed");
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += PROBE_WAIT_MS / 1000;
  int rc;
  while ((rc = sem_timedwait(&barrier_done, &deadline)) != 0 && errno == EINTR) continue;
  cr_assert_eq(rc, 0, "the actor never got to the barrier; notes:\n%s", rt_notes());
}

void probe_setup1(void) {
  rt_setup(1);
  probe_install();
}

void probe_setup2(void) {
  rt_setup(2);
  probe_install();
}
