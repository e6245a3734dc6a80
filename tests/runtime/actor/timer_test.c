/* timer_test.c: molt_send_after and molt_cancel_timer (runtime/timer.c):
 * a timer delivers its message no sooner than asked, cancel stops it, it
 * dies with the actor that set it, and one set in an init that ran on
 * another scheduler's thread still fires.
 *
 * Timers on one loop fire in deadline order, so a later timer on the same
 * scheduler is the barrier that proves an earlier one did not fire: most
 * tests run on one scheduler for that reason. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "actor.h"
#include "runtime.h"
#include "probe.h"
#include "rt.h"


enum { TAG_A = PROBE_TIMER_FIRED + 1, TAG_B, TAG_C };

TestSuite(timer, .fini = rt_teardown, .timeout = 20);

/* p sets a timer to itself; returns its ref. */
static long long set_timer(molt_pid_t p, const char* id, int64_t ms, int64_t tag) {
  cr_assert_eq(probe_call(p, id, "timer", PROBE_TIMER, ms, tag), 0);
  char needle[64];
  snprintf(needle, sizeof(needle), "%s timer ", id);
  return probe_value(needle, "ref");
}

Test(timer, fires_no_sooner_than_its_delay, .init = probe_setup1) {
  molt_pid_t p = probe_start("p", "");
  set_timer(p, "p", 200, TAG_A);
  probe_expect("p fired tag=101 ", 1);
  long long set_at = probe_value("p timer ", "at"), fired_at = probe_value("p fired tag=101 ", "at");
  /* Two milliseconds of slack: libuv arms timers from its loop clock,
   * which is whole milliseconds and may be the coarse clock. */
  cr_assert_geq(fired_at - set_at, 200 - 2, "fired %lld ms after being set", fired_at - set_at);
}

/* "slow": on SLOW_SET it keeps its scheduler busy for 60 ms, then sets a
 * 30 ms timer to itself; both moments are noted. */
enum { SLOW_SET = 1, SLOW_FIRE = 2 };

static int slow_handle(void* state, const molt_msg_t* msg) {
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  if (msg->tag == SLOW_FIRE) {
    rt_note("slow fired at=%llu", (unsigned long long)molt__now_ns());
    return MOLT_OK;
  }
  uint64_t until = molt__now_ns() + 60000000ull;
  while (molt__now_ns() < until) {
  }
  rt_note("slow set at=%llu", (unsigned long long)molt__now_ns());
  return molt_send_after(30, molt_self(), SLOW_FIRE, NULL, 0, NULL);
}

static int slow_init(const molt_args_t* args, void** state) {
  *state = molt_alloc(1);
  return *state ? 0 : MOLT_ENOMEM;
}

static const molt_module_t slow_module = PROBE_TEST_MODULE("slow", slow_init, slow_handle);

/* The loop's clock is cached when its iteration begins; a timer set after
 * a long turn must still count its delay from when it was set. */
Test(timer, set_after_a_slow_turn_fires_no_sooner_than_its_delay, .init = probe_setup1) {
  rt_install(&slow_module);
  molt_pid_t s = rt_spawn("slow", NULL);
  cr_assert_eq(rt_send(s, SLOW_SET, NULL, 0), 0);
  cr_assert(rt_wait_count("slow fired", 1, 5000), "%s", rt_notes());
  long long set_at = probe_value("slow set", "at"), fired_at = probe_value("slow fired", "at");
  cr_assert_geq(fired_at - set_at, 30000000ll, "fired %lld us after being set", (fired_at - set_at) / 1000);
}

Test(timer, timers_fire_in_deadline_order, .init = probe_setup1) {
  molt_pid_t p = probe_start("p", "");
  probe_cmd(p, PROBE_TIMER, 90, TAG_C); /* sent together: set within a turn */
  probe_cmd(p, PROBE_TIMER, 30, TAG_A);
  probe_cmd(p, PROBE_TIMER, 60, TAG_B);
  probe_expect("p fired", 3);
  cr_assert_lt(probe_pos("fired tag=101 ", 1), probe_pos("fired tag=102 ", 1));
  cr_assert_lt(probe_pos("fired tag=102 ", 1), probe_pos("fired tag=103 ", 1));
}

Test(timer, cancel_prevents_delivery, .init = probe_setup1) {
  molt_pid_t p = probe_start("p", "");
  long long ref = set_timer(p, "p", 300, TAG_A);
  cr_assert_eq(probe_call(p, "p", "cancel", PROBE_CANCEL, ref, 0), 0);
  set_timer(p, "p", 400, TAG_B); /* deadline after the cancelled one's */
  probe_expect("p fired tag=102 ", 1);
  cr_assert_eq(rt_count("fired tag=101 "), 0, "%s", rt_notes());
}

Test(timer, cancel_after_firing_is_esrch, .init = probe_setup1) {
  molt_pid_t p = probe_start("p", "");
  long long ref = set_timer(p, "p", 1, TAG_A);
  probe_expect("p fired tag=101 ", 1);
  cr_assert_eq(probe_call(p, "p", "cancel", PROBE_CANCEL, ref, 0), MOLT_ESRCH);
  cr_assert_eq(probe_call(p, "p", "cancel", PROBE_CANCEL, 424242, 0), MOLT_ESRCH);
}

Test(timer, only_its_setter_can_cancel_it, .init = probe_setup1) {
  molt_pid_t p = probe_start("p", "");
  molt_pid_t q = probe_start("q", "");
  long long ref = set_timer(p, "p", 50, TAG_A);
  cr_assert_eq(probe_call(q, "q", "cancel", PROBE_CANCEL, ref, 0), MOLT_ESRCH);
  probe_expect("p fired tag=101 ", 1);
}

Test(timer, dies_with_the_actor_that_set_it, .init = probe_setup1) {
  molt_pid_t a = probe_start("a", "");
  molt_pid_t b = probe_start("b", "");
  cr_assert_eq(probe_call(a, "a", "timer", PROBE_TIMER_TO, (int64_t)b, 100), 0);
  probe_cmd(a, PROBE_STOP, 0, 0);
  cr_assert(rt_wait_dead(a, PROBE_WAIT_MS));
  set_timer(b, "b", 300, TAG_B);
  probe_expect("b fired tag=102 ", 1);
  cr_assert_eq(rt_count("b fired tag=100 "), 0, "a dead actor's timer fired:\n%s", rt_notes());
}

Test(timer, delivers_to_another_actor, .init = probe_setup1) {
  molt_pid_t a = probe_start("a", "");
  molt_pid_t b = probe_start("b", "");
  probe_cmd(a, PROBE_TIMER_TO, (int64_t)b, 10);
  probe_expect("b fired tag=100 ", 1);
  cr_assert_eq(rt_count("a fired"), 0);
}

Test(timer, set_in_init_fires, .init = probe_setup1) {
  probe_start("p", ",\"timer_ms\":10");
  probe_expect("p fired tag=100 ", 1);
}

Test(timer, set_in_init_on_another_schedulers_thread_fires, .init = probe_setup2) {
  molt_pid_t p = probe_start("p", "");
  /* MOLT_SPAWN_ANY goes round robin over both schedulers, and each child's
   * init runs on p's thread: at least one child's timer was set off its
   * own scheduler. */
  int elsewhere = 0;
  for (int i = 0; i < 4; i++) {
    molt_pid_t c = probe_spawn_child(p, "p", PROBE_SPAWN_ANY, "{\"id\":\"c\",\"timer_ms\":20}");
    elsewhere += molt__actor_slot(c)->sched != molt__actor_slot(p)->sched;
  }
  cr_assert_gt(elsewhere, 0);
  probe_expect("c fired tag=100 ", 4);
}

Test(timer, set_in_init_elsewhere_dies_with_a_failed_init, .init = probe_setup2) {
  molt_pid_t p = probe_start("p", "");
  for (int i = 0; i < 4; i++)
    cr_assert_eq(probe_call_str(p, "p", "spawned", PROBE_SPAWN_ANY, "{\"id\":\"c\",\"timer_ms\":1,\"fail\":1}"),
                 MOLT_EINVAL);
  cr_assert_eq(molt__actor_count(), 1);
}

Test(timer, api_outside_an_actor_is_eperm, .init = probe_setup1) {
  uint64_t ref = 0;
  cr_assert_eq(molt_send_after(1, MOLT_PID_NONE, 1, NULL, 0, &ref), MOLT_EPERM);
  cr_assert_eq(molt_cancel_timer(1), MOLT_EPERM);
}
