/* heartbeat_test.c: the heartbeat module as built, in a running runtime:
 * it ticks at its interval (500 ms by default), answers HEARTBEAT_GET with
 * its count, ignores ticks it did not send itself, and refuses bad args. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../modules/heartbeat/heartbeat_proto.h"
#include "modules_util.h"

TestSuite(heartbeat, .init = mu_setup, .fini = mu_teardown, .timeout = 30);

static heartbeat_count_t count(molt_pid_t probe, molt_pid_t hb) {
  heartbeat_count_t c;
  probe_call(probe, hb, HEARTBEAT_GET, NULL, 0, HEARTBEAT_COUNT, &c, sizeof(c));
  return c;
}

/* Wait for ticks; returns the milliseconds it took since t0. */
static uint64_t wait_ticks(molt_pid_t probe, molt_pid_t hb, uint64_t ticks, uint64_t t0) {
  for (int i = 0; i < 1000; i++) {
    if (count(probe, hb).ticks >= ticks) return molt_now_ms() - t0;
    usleep(10000);
  }
  cr_assert_fail("fewer than %llu ticks after 10 s", (unsigned long long)ticks);
  return 0;
}

Test(heartbeat, ticks_every_500_ms_by_default_and_answers_its_count) {
  mu_load("heartbeat", "1.0.0");
  molt_pid_t probe = probe_start();
  uint64_t t0 = molt_now_ms();
  molt_pid_t hb = rt_spawn("heartbeat", "{\"name\":\"heartbeat\"}");
  cr_expect_eq(molt_whereis("heartbeat"), hb);
  heartbeat_count_t c = count(probe, hb);
  cr_expect_eq(c.interval_ms, 500);
  cr_expect_eq(c.ticks, 0, "ticked before its first interval");
  uint64_t took = wait_ticks(probe, hb, 2, t0);
  /* Not early: two intervals (less a little: libuv times from its loop's
   * cached clock); not stalled: well under four. */
  cr_expect_geq(took, 950, "2 ticks after %llu ms", (unsigned long long)took);
  cr_expect_lt(took, 2000, "2 ticks after %llu ms", (unsigned long long)took);
}

Test(heartbeat, interval_comes_from_args) {
  mu_load("heartbeat", "1.0.0");
  molt_pid_t probe = probe_start();
  uint64_t t0 = molt_now_ms();
  molt_pid_t hb = rt_spawn("heartbeat", "{\"interval_ms\":20}");
  uint64_t took = wait_ticks(probe, hb, 10, t0);
  cr_expect_geq(took, 180, "10 ticks after %llu ms", (unsigned long long)took);
  cr_expect_eq(count(probe, hb).interval_ms, 20);
}

Test(heartbeat, a_tick_from_anyone_else_is_ignored) {
  mu_load("heartbeat", "1.0.0");
  molt_pid_t probe = probe_start();
  molt_pid_t hb = rt_spawn("heartbeat", "{\"interval_ms\":60000}");
  for (int i = 0; i < 50; i++) cr_assert_eq(rt_send(hb, 100, NULL, 0), 0);
  cr_expect_eq(count(probe, hb).ticks, 0);
  cr_expect(rt_alive(hb));
}

Test(heartbeat, bad_args_refuse_init) {
  mu_load("heartbeat", "1.0.0");
  molt_pid_t pid = MOLT_PID_NONE;
  cr_expect_eq(rt_try_spawn("heartbeat", "{\"interval_ms\":0}", &pid), MOLT_EINVAL);
  cr_expect_eq(rt_try_spawn("heartbeat", "{\"interval_ms\":-5}", &pid), MOLT_EINVAL);
  rt_spawn("heartbeat", "{\"name\":\"hb\"}");
  cr_expect_eq(rt_try_spawn("heartbeat", "{\"name\":\"hb\"}", &pid), MOLT_EEXIST);
}

/* format_state on a state init built inside an actor (init sets a timer,
 * which needs one). */
Test(heartbeat, format_state_is_json_with_its_count) {
  molt_version_t* v = mu_load("heartbeat", "1.0.0");
  molt_pid_t probe = probe_start();
  void* state = mu_init_in_probe(probe, v, "{\"interval_ms\":250}");
  char* text = v->format_state(state);
  cr_assert_not_null(text);
  cr_expect(strstr(text, "\"ticks\":0,\"interval_ms\":250,"), "%s", text);
  molt_free(text);
  v->free_state(state);
}
