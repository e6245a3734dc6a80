/* trace_test.c: trace sessions on a real runtime (runtime/actor/trace.c):
 * what a traced actor does reaches its session as events, in order; an
 * untraced one adds nothing; the rate and --max are honoured, what is
 * over the rate counted as dropped; a module's session follows its new
 * actors; a stopped session's actors drop their mark themselves. The
 * traced actors are probes (tests/support/probe.h) steered from here. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "probe.h"
#include "rt.h"
#include "runtime.h"
#include "trace.h"

TestSuite(trace, .init = probe_setup2, .fini = rt_teardown, .timeout = 20);

static molt_trace_event_t got[MOLT_TRACE_RING];

static uint64_t start_pid(molt_pid_t pid, uint32_t rate, uint64_t max) {
  molt_trace_spec_t spec = {pid, NULL, rate, max};
  uint64_t id = 0;
  unsigned busy = 1;
  char err[256] = "";
  cr_assert_eq(molt__trace_start(&spec, &id, &busy, err, sizeof(err)), 0, "%s", err);
  cr_assert_eq(busy, 0);
  return id;
}

/* Every event of session id so far (after a barrier on the actors). */
static uint32_t read_all(uint64_t id, uint64_t* dropped, bool* done) {
  uint32_t n = 0, k;
  uint64_t d;
  *dropped = 0;
  do {
    cr_assert_eq(molt__trace_read(id, got + n, MOLT_TRACE_RING - n, &k, &d, done), 0);
    n += k;
    *dropped += d;
  } while (k && n < MOLT_TRACE_RING);
  return n;
}

static uint32_t count(uint32_t n, molt_trace_kind_t kind) {
  uint32_t c = 0;
  for (uint32_t i = 0; i < n; i++) c += got[i].kind == kind;
  return c;
}

Test(trace, a_traced_actor_reports_what_it_receives_and_sends_in_order) {
  molt_pid_t a = probe_start("a", ""), b = probe_start("b", "");
  uint64_t id = start_pid(a, MOLT_TRACE_RATE_MAX, 0);
  for (int i = 1; i <= 5; i++) probe_cmd(a, PROBE_ECHO, i, 0);
  cr_assert_eq(probe_call(a, "a", "send", PROBE_SEND, (int64_t)b, 7), 0);
  probe_cmd(b, PROBE_ECHO, 1, 0); /* b is not traced */
  probe_barrier(a);
  probe_barrier(b);
  uint64_t dropped;
  bool done;
  uint32_t n = read_all(id, &dropped, &done);
  cr_assert_eq(n, 7, "5 echoes, the send command, its send: %u", n);
  cr_assert_eq(dropped, 0);
  cr_assert_not(done);
  for (int i = 0; i < 5; i++) {
    cr_assert_eq(got[i].kind, MOLT_TRACE_RECV);
    cr_assert_eq(got[i].pid, a);
    cr_assert_eq(got[i].tag, PROBE_ECHO);
    cr_assert_eq(got[i].size, sizeof(probe_cmd_t));
    cr_assert_str_eq(got[i].module, "probe");
    cr_assert_str_eq(got[i].name, "a");
    if (i) cr_assert_geq(got[i].ts_us, got[i - 1].ts_us);
  }
  cr_assert_eq(got[5].tag, PROBE_SEND);
  cr_assert_eq(got[6].kind, MOLT_TRACE_SENT);
  cr_assert_eq(got[6].peer, b);
  cr_assert_eq(got[6].tag, 7);
  cr_assert_eq(molt__trace_stop(id), 0);
}

Test(trace, events_over_the_rate_are_counted_as_dropped_not_kept) {
  molt_pid_t a = probe_start("a", "");
  uint64_t id = start_pid(a, 10, 0);
  for (int i = 1; i <= 200; i++) probe_cmd(a, PROBE_ECHO, i, 0);
  probe_barrier(a);
  uint64_t dropped;
  bool done;
  uint32_t n = read_all(id, &dropped, &done);
  /* A second's worth at once, then 10 a second: however slow the machine,
   * far fewer than 200 within the test's 20 s. */
  cr_assert_geq(n, 10);
  cr_assert_lt(n, 200);
  cr_assert_eq(n + dropped, 200, "every event is either kept or counted: %u + %llu", n,
               (unsigned long long)dropped);
  uint64_t d2;
  cr_assert_eq(read_all(id, &d2, &done), 0);
  cr_assert_eq(d2, 0, "a drop is reported once");
}

Test(trace, a_session_takes_max_events_then_is_done) {
  molt_pid_t a = probe_start("a", "");
  uint64_t id = start_pid(a, MOLT_TRACE_RATE_MAX, 3);
  for (int i = 1; i <= 10; i++) probe_cmd(a, PROBE_ECHO, i, 0);
  probe_barrier(a);
  uint64_t dropped;
  bool done;
  cr_assert_eq(read_all(id, &dropped, &done), 3);
  cr_assert_eq(dropped, 0, "past max is not a drop");
  cr_assert(done);
}

Test(trace, a_stopped_session_is_gone_and_its_actor_unmarks_itself) {
  molt_pid_t a = probe_start("a", "");
  uint64_t id = start_pid(a, MOLT_TRACE_RATE_MAX, 0);
  cr_assert_neq(molt__actor_slot(a)->trace, 0);
  cr_assert_eq(molt__trace_stop(id), 0);
  uint32_t n;
  uint64_t d;
  bool done;
  cr_assert_eq(molt__trace_read(id, got, 1, &n, &d, &done), MOLT_ESRCH);
  cr_assert_eq(molt__trace_stop(id), MOLT_ESRCH);
  probe_cmd(a, PROBE_ECHO, 1, 0);
  probe_barrier(a);
  cr_assert_eq(molt__actor_slot(a)->trace, 0, "its next event found the session gone");
}

Test(trace, a_slot_reused_for_another_actor_reports_only_that_one) {
  molt_pid_t a = probe_start("a", ""), b = probe_start("b", "");
  cr_assert_eq(molt__trace_stop(start_pid(a, MOLT_TRACE_RATE_MAX, 0)), 0);
  uint64_t id = start_pid(b, MOLT_TRACE_RATE_MAX, 0); /* the same slot: a's mark is stale */
  probe_cmd(a, PROBE_ECHO, 1, 0);
  probe_cmd(b, PROBE_ECHO, 1, 0);
  probe_barrier(a);
  probe_barrier(b);
  uint64_t dropped;
  bool done;
  cr_assert_eq(read_all(id, &dropped, &done), 1);
  cr_assert_eq(got[0].pid, b);
}

Test(trace, a_module_session_follows_its_new_actors_links_and_exits) {
  molt_pid_t a = probe_start("a", "");
  molt_trace_spec_t spec = {MOLT_PID_NONE, "probe", MOLT_TRACE_RATE_MAX, 0};
  uint64_t id;
  unsigned busy;
  char err[256] = "";
  cr_assert_eq(molt__trace_start(&spec, &id, &busy, err, sizeof(err)), 0, "%s", err);
  molt_pid_t c = probe_start("c", ""); /* spawned after the start */
  cr_assert_eq(probe_call(a, "a", "link", PROBE_LINK, (int64_t)c, 0), 0);
  probe_barrier(c);
  probe_cmd(c, PROBE_STOP, 0, 0);
  cr_assert(rt_wait_dead(c, PROBE_WAIT_MS));
  probe_barrier(a);
  uint64_t dropped;
  bool done;
  uint32_t n = read_all(id, &dropped, &done);
  cr_assert_eq(count(n, MOLT_TRACE_SPAWNED), 1);
  cr_assert_eq(count(n, MOLT_TRACE_LINK), 1);
  cr_assert_eq(count(n, MOLT_TRACE_SIGNAL), 2, "c linked by a, then a's exit signal from c");
  cr_assert_eq(count(n, MOLT_TRACE_EXIT), 1);
  for (uint32_t i = 0; i < n; i++)
    if (got[i].kind == MOLT_TRACE_EXIT) cr_assert(got[i].pid == c && got[i].reason == MOLT_EXIT_NORMAL);
}

Test(trace, refuses_a_bad_target_a_bad_rate_and_a_fifth_session) {
  molt_pid_t a = probe_start("a", "");
  char err[256] = "";
  uint64_t id;
  unsigned busy;
  molt_trace_spec_t none = {MOLT_PID_NONE, "nosuchmodule", 10, 0};
  cr_assert_eq(molt__trace_start(&none, &id, &busy, err, sizeof(err)), MOLT_ENOMODULE);
  cr_assert(strstr(err, "nosuchmodule"), "%s", err);
  molt_trace_spec_t fast = {a, NULL, MOLT_TRACE_RATE_MAX + 1, 0};
  cr_assert_eq(molt__trace_start(&fast, &id, &busy, err, sizeof(err)), MOLT_EINVAL);
  molt_trace_spec_t gone = {MOLT__PID(a & 0xffffffffu, 77), NULL, 10, 0};
  cr_assert_eq(molt__trace_start(&gone, &id, &busy, err, sizeof(err)), MOLT_ESRCH, "%s", err);
  for (int i = 0; i < MOLT_TRACE_SESSIONS; i++) start_pid(a, 10, 0);
  molt_trace_spec_t one = {a, NULL, 10, 0};
  cr_assert_eq(molt__trace_start(&one, &id, &busy, err, sizeof(err)), MOLT_EBUSY);
}

/* A client killed mid-trace never reads again: its session ends by itself
 * after MOLT_TRACE_IDLE_MS, and its actor unmarks itself at its next
 * event. The one test here that waits that long. */
Test(trace, a_session_nobody_reads_expires_by_itself) {
  molt_pid_t a = probe_start("a", "");
  uint64_t id = start_pid(a, MOLT_TRACE_RATE_MAX, 0);
  usleep((MOLT_TRACE_IDLE_MS + 300) * 1000u);
  probe_cmd(a, PROBE_ECHO, 1, 0);
  probe_barrier(a);
  cr_assert_eq(molt__actor_slot(a)->trace, 0);
  uint32_t n;
  uint64_t d;
  bool done;
  cr_assert_eq(molt__trace_read(id, got, 1, &n, &d, &done), MOLT_ESRCH);
}
