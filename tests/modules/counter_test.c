/* counter_test.c: the counter service as its clients see it, on each of its
 * versions: a real actor of the built module, driven by messages and asked
 * by a probe actor. GET, STATS and INFO per version; 1.0.0 does not know
 * INFO. Migration between versions is counter_code_change_test.c's. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../modules/counter/counter_proto.h"
#include "modules_util.h"

TestSuite(counter, .init = mu_setup, .fini = mu_teardown, .timeout = 30);

static void incr(molt_pid_t counter, const char* key, int64_t by) {
  counter_incr_t in = {.by = by};
  snprintf(in.key, sizeof(in.key), "%s", key);
  cr_assert_eq(rt_send(counter, COUNTER_INCR, &in, sizeof(in)), 0);
}

static int64_t get(molt_pid_t probe, molt_pid_t counter, const char* key) {
  counter_key_t q = {{0}};
  snprintf(q.key, sizeof(q.key), "%s", key);
  counter_value_t v;
  probe_call(probe, counter, COUNTER_GET, &q, sizeof(q), COUNTER_VALUE, &v, sizeof(v));
  cr_assert_str_eq(v.key, key);
  return v.value;
}

static counter_stats_t stats(molt_pid_t probe, molt_pid_t counter) {
  counter_stats_t st;
  probe_call(probe, counter, COUNTER_STATS, NULL, 0, COUNTER_STATS_REPLY, &st, sizeof(st));
  return st;
}

/* Sends the same traffic to a fresh counter of vsn and checks every answer
 * but INFO's; returns the counter with its messages counted so far in
 * *messages. The test thread's sends reach the counter before the probe's
 * requests: the probe sends only after it got the test's ask, which the
 * test sent after its increments. */
static molt_pid_t serve_common(const char* vsn, molt_pid_t* probe, uint64_t* messages) {
  mu_load("counter", vsn);
  *probe = probe_start();
  molt_pid_t c = rt_spawn("counter", "{\"name\":\"counter\"}");
  cr_assert_eq(molt_whereis("counter"), c);

  incr(c, "apples", 3);
  incr(c, "apples", 4);
  incr(c, "pears", -2);
  incr(c, "bad key!", 100);            /* invalid: counted, ignored */
  rt_send(c, COUNTER_INCR, "short", 5); /* wrong size: counted, ignored */
  cr_assert_eq(get(*probe, c, "apples"), 7);
  cr_assert_eq(get(*probe, c, "pears"), -2);
  cr_assert_eq(get(*probe, c, "plums"), 0);
  cr_assert_eq(get(*probe, c, "bad key!"), 0);

  counter_stats_t st = stats(*probe, c);
  cr_expect_eq(st.total, 5);
  cr_expect_eq(st.keys, 2);
  cr_expect_eq(st.messages, 10, "5 increments, 4 gets and this stats: %llu", (unsigned long long)st.messages);
  *messages = st.messages;
  return c;
}

static void answers_info(const char* vsn, uint32_t state_vsn) {
  molt_pid_t probe;
  uint64_t messages;
  molt_pid_t c = serve_common(vsn, &probe, &messages);
  counter_info_t info;
  probe_call(probe, c, COUNTER_INFO, NULL, 0, COUNTER_INFO_REPLY, &info, sizeof(info));
  cr_expect_str_eq(info.vsn, vsn);
  cr_expect_eq(info.state_vsn, state_vsn);
  cr_expect_eq(info.messages, messages + 1);
}

Test(counter, v1_0_0_answers_get_and_stats_but_not_info) {
  molt_pid_t probe;
  uint64_t messages;
  molt_pid_t c = serve_common("1.0.0", &probe, &messages);
  /* INFO, then STATS from the same sender: they arrive in that order, so
   * once STATS is answered INFO has been handled, and left unanswered. */
  uint64_t info_ref = probe_ask(probe, c, COUNTER_INFO, NULL, 0);
  counter_stats_t st = stats(probe, c);
  cr_expect_not(probe_answer(info_ref, NULL), "1.0.0 answered COUNTER_INFO");
  cr_expect_eq(st.messages, messages + 2, "the INFO was counted as a message");
  cr_expect(rt_alive(c));
}

Test(counter, v1_1_0_answers_info_with_its_version) { answers_info("1.1.0", 1); }

Test(counter, v2_0_0_answers_info_with_its_version) { answers_info("2.0.0", 2); }

/* Enough keys to grow each version's tables several times. */
static void many_keys(const char* vsn) {
  mu_load("counter", vsn);
  molt_pid_t probe = probe_start();
  molt_pid_t c = rt_spawn("counter", NULL);
  enum { N = 300 };
  char key[COUNTER_KEY_MAX];
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < N; i++) {
      snprintf(key, sizeof(key), "key.%d", i);
      incr(c, key, i);
    }
  for (int i = 0; i < N; i += 7) {
    snprintf(key, sizeof(key), "key.%d", i);
    cr_assert_eq(get(probe, c, key), 3 * i, "%s on %s", key, vsn);
  }
  counter_stats_t st = stats(probe, c);
  cr_expect_eq(st.keys, N);
  cr_expect_eq(st.total, 3 * (N - 1) * N / 2);
}

Test(counter, v1_0_0_keeps_every_key_as_its_table_grows) { many_keys("1.0.0"); }
Test(counter, v1_1_0_keeps_every_key_as_its_table_grows) { many_keys("1.1.0"); }
Test(counter, v2_0_0_keeps_every_key_as_its_table_grows) { many_keys("2.0.0"); }

Test(counter, every_version_has_the_right_descriptor) {
  const char* vsns[] = {"1.0.0", "1.1.0", "2.0.0"};
  const uint32_t state_vsns[] = {1, 1, 2};
  for (int i = 0; i < 3; i++) {
    molt_version_t* v = mu_load("counter", vsns[i]);
    cr_expect_eq(v->state_vsn, state_vsns[i], "%s", vsns[i]);
    cr_expect_not_null(v->format_state, "%s", vsns[i]);
    /* Only the version that changed the layout migrates. */
    cr_expect_eq(v->code_change != NULL, state_vsns[i] == 2, "%s", vsns[i]);
  }
}

Test(counter, a_taken_name_refuses_init) {
  mu_load("counter", "2.0.0");
  rt_spawn("counter", "{\"name\":\"counter\"}");
  molt_pid_t pid = MOLT_PID_NONE;
  cr_expect_eq(rt_try_spawn("counter", "{\"name\":\"counter\"}", &pid), MOLT_EEXIST);
}
