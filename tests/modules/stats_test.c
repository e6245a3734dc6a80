/* stats_test.c: the stats module as built, in a running runtime next to a
 * real counter: it polls the counter named by its args at its interval,
 * keeps the latest answer for STATS_GET and format_state, and counts a
 * missing counter as unreachable without crashing. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../modules/stats/stats_proto.h"
#include "modules_util.h"

TestSuite(stats, .init = mu_setup, .fini = mu_teardown, .timeout = 30);

static stats_latest_t latest(molt_pid_t probe, molt_pid_t st) {
  stats_latest_t l;
  probe_call(probe, st, STATS_GET, NULL, 0, STATS_LATEST, &l, sizeof(l));
  return l;
}

static void incr(molt_pid_t counter, const char* key, int64_t by) {
  counter_incr_t in = {.by = by};
  snprintf(in.key, sizeof(in.key), "%s", key);
  cr_assert_eq(rt_send(counter, COUNTER_INCR, &in, sizeof(in)), 0);
}

/* Wait until the latest answer says total; returns it. */
static stats_latest_t wait_total(molt_pid_t probe, molt_pid_t st, int64_t total) {
  stats_latest_t l;
  for (int i = 0; i < 1000; i++) {
    l = latest(probe, st);
    if (l.answers > 0 && l.latest.total == total) return l;
    usleep(10000);
  }
  cr_assert_fail("no answer with total %lld after 10 s (answers %llu, total %lld)", (long long)total,
                 (unsigned long long)l.answers, (long long)l.latest.total);
  return l;
}

Test(stats, polls_the_counter_every_250_ms_by_default) {
  mu_load("counter", "2.0.0");
  mu_load("stats", "1.0.0");
  molt_pid_t probe = probe_start();
  molt_pid_t counter = rt_spawn("counter", "{\"name\":\"counter\"}");
  uint64_t t0 = molt_now_ms();
  molt_pid_t st = rt_spawn("stats", NULL);
  stats_latest_t l = latest(probe, st);
  cr_expect_eq(l.polls, 0, "polled before its first interval");
  cr_expect_eq(l.answers, 0);

  for (int i = 0; i < 10; i++) incr(counter, i % 2 ? "odd" : "even", i);
  l = wait_total(probe, st, 45);
  uint64_t took = molt_now_ms() - t0;
  cr_expect_geq(took, 230, "an answer after %llu ms", (unsigned long long)took);
  cr_expect_eq(l.latest.keys, 2);
  /* The counter counted our increments and every poll it answered. */
  cr_expect_geq(l.latest.messages, 10 + 1);
  cr_expect_leq(l.latest.messages, 10 + l.polls);
  cr_expect_leq(l.answers, l.polls);
  cr_expect_eq(l.unreachable, 0);
  cr_expect_gt(l.at_ms, 0);
  /* Not faster than its interval. */
  usleep(600000);
  l = latest(probe, st);
  took = molt_now_ms() - t0;
  cr_expect_leq(l.polls, took / 250 + 1, "%llu polls in %llu ms", (unsigned long long)l.polls,
                (unsigned long long)took);
  cr_expect_geq(l.polls, 2);
}

Test(stats, target_and_interval_come_from_args) {
  mu_load("counter", "1.1.0");
  mu_load("stats", "1.0.0");
  molt_pid_t probe = probe_start();
  molt_pid_t counter = rt_spawn("counter", "{\"name\":\"c2\"}");
  rt_spawn("counter", "{\"name\":\"counter\"}"); /* the default target, left alone */
  molt_pid_t st = rt_spawn("stats", "{\"target\":\"c2\",\"interval_ms\":20}");
  incr(counter, "k", 7);
  stats_latest_t l = wait_total(probe, st, 7);
  cr_expect_eq(l.latest.keys, 1);
  for (int i = 0; i < 1000 && latest(probe, st).answers < 10; i++) usleep(5000);
  cr_expect_geq(latest(probe, st).answers, 10);
}

Test(stats, a_missing_counter_is_unreachable_until_it_comes) {
  mu_load("counter", "2.0.0");
  mu_load("stats", "1.0.0");
  molt_pid_t probe = probe_start();
  molt_pid_t st = rt_spawn("stats", "{\"target\":\"late\",\"interval_ms\":20}");
  stats_latest_t l;
  for (int i = 0; i < 1000 && (l = latest(probe, st)).unreachable < 3; i++) usleep(5000);
  cr_expect_geq(l.unreachable, 3);
  cr_expect_eq(l.polls, 0);
  cr_expect_eq(l.answers, 0);
  cr_expect(rt_alive(st));

  molt_pid_t counter = rt_spawn("counter", "{\"name\":\"late\"}");
  incr(counter, "k", 3);
  l = wait_total(probe, st, 3);
  cr_expect_gt(l.polls, 0);
}

Test(stats, bad_args_refuse_init) {
  mu_load("stats", "1.0.0");
  molt_pid_t pid = MOLT_PID_NONE;
  cr_expect_eq(rt_try_spawn("stats", "{\"interval_ms\":0}", &pid), MOLT_EINVAL);
  cr_expect_eq(rt_try_spawn("stats", "{\"target\":\"\"}", &pid), MOLT_EINVAL);
  cr_expect_eq(rt_try_spawn("stats", "{\"target\":\"a\\\"b\"}", &pid), MOLT_EINVAL);
  char args[256];
  snprintf(args, sizeof(args), "{\"target\":\"%064d\"}", 0); /* 64 characters: one too many */
  cr_expect_eq(rt_try_spawn("stats", args, &pid), MOLT_EINVAL);
}

/* format_state before any answer and with one, on a state init built
 * inside an actor (it sets a timer); the answer is handed to handle as
 * the runtime would. */
Test(stats, format_state_shows_the_latest_answer) {
  molt_version_t* v = mu_load("stats", "1.0.0");
  molt_pid_t probe = probe_start();
  void* state = mu_init_in_probe(probe, v, "{\"target\":\"counter\"}");
  char* text = v->format_state(state);
  cr_assert_not_null(text);
  cr_expect_str_eq(text, "{\"target\":\"counter\",\"polls\":0,\"answers\":0,\"unreachable\":0,\"latest\":null}");
  molt_free(text);

  counter_stats_t cs = {.total = -12, .keys = 3, .messages = 99};
  cr_assert_eq(mu_handle(v, state, COUNTER_STATS_REPLY, &cs, sizeof(cs), MOLT_PID_NONE, 0), MOLT_OK);
  text = v->format_state(state);
  cr_assert_not_null(text);
  cr_expect(strstr(text, "\"answers\":1,"), "%s", text);
  cr_expect(strstr(text, "\"latest\":{\"total\":-12,\"keys\":3,\"messages\":99,\"at_ms\":"), "%s", text);
  molt_free(text);
  v->free_state(state);
}
