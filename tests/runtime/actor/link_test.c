/* link_test.c: links and exit signals (runtime/link.c) with Erlang's rules:
 * bidirectional, abnormal exits propagate unless trapped, normal ones do
 * not, kill cannot be trapped, linking to a dead actor gives noproc. The
 * two probes of a test live on different schedulers. */
#include <criterion/criterion.h>

#include "actor.h"
#include "probe.h"
#include "rt.h"
#include "runtime.h"


static molt_pid_t a, b;

/* "a" and "b", on the two schedulers; a traps exits if trap_a. */
static void start(bool trap_a) {
  a = probe_start("a", trap_a ? ",\"trap\":1" : "");
  b = probe_start("b", "");
  cr_assert_neq(molt__actor_slot(a)->sched, molt__actor_slot(b)->sched);
}

TestSuite(link, .init = probe_setup2, .fini = rt_teardown, .timeout = 20);

static void link_probes(molt_pid_t from, const char* from_id, molt_pid_t to) {
  cr_assert_eq(probe_call(from, from_id, "link", PROBE_LINK, (int64_t)to, 0), 0);
}

static void link_a_to(molt_pid_t pid) { link_probes(a, "a", pid); }

static void unlink_probes(molt_pid_t from, const char* from_id, molt_pid_t to) {
  cr_assert_eq(probe_call(from, from_id, "unlink", PROBE_UNLINK, (int64_t)to, 0), 0);
}

/* crasher crashes with reason; the note "<dies> terminate" says the same. */
static void crash_kills(molt_pid_t crasher, int reason, const char* dies) {
  char needle[32];
  snprintf(needle, sizeof(needle), "%s terminate", dies);
  probe_cmd(crasher, PROBE_CRASH, reason, 0);
  probe_expect_value(needle, "reason", reason);
}

/* b is gone, and a has handled everything b's exit sent it. */
static void settle_after_b(void) {
  cr_assert(rt_wait_dead(b, PROBE_WAIT_MS));
  probe_barrier(a);
}

Test(link, abnormal_exit_kills_the_linked_actor_with_the_same_reason) {
  start(false);
  link_a_to(b);
  crash_kills(b, MOLT_EIO, "a");
  cr_assert(rt_wait_dead(a, PROBE_WAIT_MS));
}

Test(link, links_are_bidirectional) {
  start(false);
  link_a_to(b);
  crash_kills(a, MOLT_EIO, "b");
  cr_assert(rt_wait_dead(b, PROBE_WAIT_MS));
}

Test(link, exits_propagate_along_a_chain) {
  start(false);
  molt_pid_t c = probe_start("c", "");
  link_a_to(b);
  link_probes(b, "b", c);
  crash_kills(c, MOLT_EPROTO, "a");
  cr_assert_eq(probe_value("b terminate", "reason"), MOLT_EPROTO);
}

Test(link, trapping_actor_gets_an_exit_message_instead) {
  start(true);
  link_a_to(b);
  probe_cmd(b, PROBE_CRASH, MOLT_EIO, 0);
  probe_expect_signal("a EXIT", b, MOLT_EIO);
  settle_after_b();
  cr_assert(rt_alive(a));
  cr_assert_eq(rt_count("a terminate"), 0);
}

Test(link, normal_exit_does_not_kill_the_linked_actor) {
  start(false);
  link_a_to(b);
  probe_cmd(b, PROBE_STOP, 0, 0);
  settle_after_b();
  cr_assert(rt_alive(a));
  cr_assert_eq(rt_count("a terminate"), 0);
}

Test(link, trapping_actor_sees_a_normal_exit) {
  start(true);
  link_a_to(b);
  probe_cmd(b, PROBE_STOP, 0, 0);
  probe_expect_signal("a EXIT", b, MOLT_EXIT_NORMAL);
}

Test(link, trap_can_be_turned_off) {
  start(true);
  probe_cmd(a, PROBE_TRAP, 0, 0);
  link_a_to(b);
  crash_kills(b, MOLT_EIO, "a");
  cr_assert_eq(rt_count("a EXIT"), 0);
}

Test(link, kill_cannot_be_trapped_and_skips_terminate) {
  start(true);
  molt_pid_t w = probe_start("w", "");
  cr_assert_eq(probe_call(w, "w", "monitor", PROBE_MONITOR, (int64_t)a, 0), 0);
  probe_cmd(b, PROBE_EXIT, (int64_t)a, MOLT_EXIT_KILL);
  probe_expect_value("w DOWN", "reason", MOLT_EXIT_KILLED);
  cr_assert_eq(rt_count("a EXIT"), 0);
  cr_assert_eq(rt_count("a terminate"), 0, "terminate ran for KILLED");
}

Test(link, killed_travels_links_as_an_ordinary_reason) {
  start(false);
  molt_pid_t t = probe_start("t", ",\"trap\":1");
  link_a_to(b);
  link_probes(t, "t", a);
  cr_assert_eq(molt__runtime_exit(a, MOLT_EXIT_KILL), 0);
  /* The trapping neighbour hears "killed" and lives; the other dies of it. */
  probe_expect_signal("t EXIT", a, MOLT_EXIT_KILLED);
  cr_assert(rt_wait_dead(b, PROBE_WAIT_MS));
  cr_assert(rt_alive(t));
}

Test(link, exit_signal_with_a_reason_kills_a_non_trapping_actor) {
  start(false);
  probe_cmd(b, PROBE_EXIT, (int64_t)a, MOLT_EIO);
  probe_expect_value("a terminate", "reason", MOLT_EIO);
  cr_assert(rt_alive(b), "exit/2 is not a link: the sender lives");
}

Test(link, exit_signal_normal_is_ignored_unless_trapping) {
  start(false);
  cr_assert_eq(probe_call(b, "b", "exit", PROBE_EXIT, (int64_t)a, MOLT_EXIT_NORMAL), 0);
  probe_barrier(a);
  cr_assert(rt_alive(a));
  probe_cmd(a, PROBE_TRAP, 1, 0);
  probe_cmd(b, PROBE_EXIT, (int64_t)a, MOLT_EXIT_NORMAL);
  probe_expect_signal("a EXIT", b, MOLT_EXIT_NORMAL);
}

Test(link, exit_signal_becomes_a_message_when_trapping) {
  start(true);
  probe_cmd(b, PROBE_EXIT, (int64_t)a, MOLT_EIO);
  probe_expect_signal("a EXIT", b, MOLT_EIO);
  cr_assert(rt_alive(a));
}

Test(link, exit_to_self_exits_after_the_callback) {
  start(true); /* trapping does not matter for one's own exit */
  cr_assert_eq(probe_call(a, "a", "exit", PROBE_EXIT, (int64_t)a, MOLT_EIO), 0);
  probe_expect_value("a terminate", "reason", MOLT_EIO);
}

Test(link, linking_to_a_dead_actor_gives_noproc) {
  start(true);
  probe_cmd(b, PROBE_STOP, 0, 0);
  cr_assert(rt_wait_dead(b, PROBE_WAIT_MS));
  link_a_to(b);
  probe_expect_signal("a EXIT", b, MOLT_EXIT_NOPROC);
}

Test(link, linking_to_a_dead_actor_kills_a_non_trapping_one_with_noproc) {
  start(false);
  probe_cmd(b, PROBE_STOP, 0, 0);
  cr_assert(rt_wait_dead(b, PROBE_WAIT_MS));
  link_a_to(b);
  probe_expect_value("a terminate", "reason", MOLT_EXIT_NOPROC);
}

Test(link, unlink_stops_propagation) {
  start(true);
  link_a_to(b);
  unlink_probes(a, "a", b);
  probe_cmd(b, PROBE_CRASH, MOLT_EIO, 0);
  settle_after_b();
  cr_assert_eq(rt_count("a EXIT"), 0, "%s", rt_notes());
}

/* a linked, b unlinks: a's side goes too, so a's crash spares b. */
Test(link, unlink_by_the_other_side_removes_both_sides) {
  start(false);
  link_a_to(b);
  unlink_probes(b, "b", a);
  probe_cmd(a, PROBE_CRASH, MOLT_EIO, 0);
  cr_assert(rt_wait_dead(a, PROBE_WAIT_MS));
  probe_barrier(b);
  cr_assert(rt_alive(b));
}

Test(link, linking_twice_makes_one_link) {
  start(false);
  link_a_to(b);
  link_a_to(b);
  unlink_probes(a, "a", b);
  probe_cmd(b, PROBE_CRASH, MOLT_EIO, 0);
  settle_after_b();
  cr_assert(rt_alive(a), "one unlink undoes any number of links");
}

Test(link, linking_to_oneself_does_nothing) {
  start(false);
  link_a_to(a);
  probe_barrier(a);
  cr_assert(rt_alive(a));
}

Test(link, api_outside_an_actor_is_eperm) {
  start(false);
  cr_assert_eq(molt_link(a), MOLT_EPERM);
  cr_assert_eq(molt_unlink(a), MOLT_EPERM);
}
