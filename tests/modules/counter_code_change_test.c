/* counter_code_change_test.c: counter 2.0.0's code_change on states the
 * real 1.x modules built: up from state_vsn 1 keeps every count, down
 * gives 1.1.0 a state it serves with the same counts, the old state is
 * never touched and shares nothing with the new one, and every refusal
 * (poison key, extra "fail", a direction or layout it does not know, an
 * allocation failure at any point) returns an error and leaks nothing.
 * Callbacks are called straight from the test thread, as the upgrade
 * machinery calls them from a scheduler. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <string.h>

#include "../../modules/counter/counter_proto.h"
#include "alloc.h"
#include "modules_util.h"

TestSuite(counter_code_change, .init = mu_setup, .fini = mu_teardown, .timeout = 60);

/* What a state should hold, kept by the test as it sends. */
#define MAX_KEYS 600
typedef struct {
  char key[MAX_KEYS][COUNTER_KEY_MAX];
  int64_t count[MAX_KEYS];
  size_t n;
  int64_t total;
  uint64_t messages;
} model_t;

static size_t model_key(model_t* m, const char* key) {
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->key[i], key) == 0) return i;
  cr_assert_lt(m->n, MAX_KEYS);
  snprintf(m->key[m->n], COUNTER_KEY_MAX, "%s", key);
  m->count[m->n] = 0;
  return m->n++;
}

static void incr(const molt_version_t* v, void* s, model_t* m, const char* key, int64_t by) {
  counter_incr_t in = {.by = by};
  snprintf(in.key, sizeof(in.key), "%s", key);
  cr_assert_eq(mu_handle(v, s, COUNTER_INCR, &in, sizeof(in), MOLT_PID_NONE, 0), MOLT_OK);
  m->count[model_key(m, key)] += by;
  m->total += by;
  m->messages++;
}

/* A state of v with nkeys keys and assorted traffic: several increments
 * per key, some negative, plus messages that count but change no key. */
static void* build(const molt_version_t* v, model_t* m, size_t nkeys) {
  memset(m, 0, sizeof(*m));
  void* s = mu_init(v, NULL);
  char key[COUNTER_KEY_MAX];
  for (size_t i = 0; i < nkeys; i++) {
    snprintf(key, sizeof(key), "key-%zu.x", i);
    for (size_t k = 0; k <= i % 4; k++) incr(v, s, m, key, (int64_t)(i % 3) + 1);
    if (i % 7 == 0) incr(v, s, m, key, -2);
  }
  counter_incr_t bad = {.by = 5, .key = "no spaces"};
  cr_assert_eq(mu_handle(v, s, COUNTER_INCR, &bad, sizeof(bad), MOLT_PID_NONE, 0), MOLT_OK);
  cr_assert_eq(mu_handle(v, s, 999, "x", 1, MOLT_PID_NONE, 0), MOLT_OK);
  cr_assert_eq(mu_handle(v, s, COUNTER_STATS, NULL, 0, MOLT_PID_NONE, 0), MOLT_OK);
  m->messages += 3;
  return s;
}

static char* format(const molt_version_t* v, const void* s) {
  char* text = v->format_state(s);
  cr_assert_not_null(text, "%s format_state", v->vsn);
  return text;
}

/* s, as v's format_state shows it, holds exactly m's counts, total and
 * message count. Returns the parsed text for further checks (the caller
 * deletes it). */
static cJSON* assert_holds(const molt_version_t* v, const void* s, const model_t* m) {
  char* text = format(v, s);
  cJSON* j = cJSON_Parse(text);
  cr_assert_not_null(j, "%s: not JSON: %s", v->vsn, text);
  cr_assert_eq(cJSON_GetObjectItem(j, "total")->valuedouble, (double)m->total, "%s total: %s", v->vsn, text);
  cr_assert_eq(cJSON_GetObjectItem(j, "messages")->valuedouble, (double)m->messages, "%s messages: %s", v->vsn,
               text);
  cJSON* counts = cJSON_GetObjectItem(j, "counts");
  cr_assert_eq((size_t)cJSON_GetArraySize(counts), m->n, "%s keys", v->vsn);
  for (size_t i = 0; i < m->n; i++) {
    cJSON* c = cJSON_GetObjectItemCaseSensitive(counts, m->key[i]);
    cr_assert_not_null(c, "%s lost %s", v->vsn, m->key[i]);
    cr_assert_eq(c->valuedouble, (double)m->count[i], "%s %s", v->vsn, m->key[i]);
  }
  molt_free(text);
  return j;
}

/* Every key through v's own lookup (COUNTER_GET answered to the probe),
 * which finds a key only where v's table places it, and STATS. */
static void assert_serves(const molt_version_t* v, void* s, model_t* m, molt_pid_t probe) {
  static uint64_t refs[MAX_KEYS];
  for (size_t i = 0; i < m->n; i++) {
    counter_key_t q = {{0}};
    memcpy(q.key, m->key[i], COUNTER_KEY_MAX);
    refs[i] = molt_make_ref();
    cr_assert_eq(mu_handle(v, s, COUNTER_GET, &q, sizeof(q), probe, refs[i]), MOLT_OK);
  }
  m->messages += m->n;
  for (size_t i = 0; i < m->n; i++) {
    counter_value_t val;
    probe_wait(refs[i], COUNTER_VALUE, &val, sizeof(val), 5000);
    cr_assert_str_eq(val.key, m->key[i]);
    cr_assert_eq(val.value, m->count[i], "%s GET %s", v->vsn, m->key[i]);
  }
  uint64_t ref = molt_make_ref();
  cr_assert_eq(mu_handle(v, s, COUNTER_STATS, NULL, 0, probe, ref), MOLT_OK);
  m->messages++;
  counter_stats_t st;
  probe_wait(ref, COUNTER_STATS_REPLY, &st, sizeof(st), 5000);
  cr_assert_eq(st.total, m->total);
  cr_assert_eq(st.keys, m->n);
  cr_assert_eq(st.messages, m->messages);
}

static int change(const molt_version_t* v2, molt_direction_t dir, const char* vsn, uint32_t state_vsn,
                  const void* old, const char* extra, void** out) {
  return v2->code_change(dir, vsn, state_vsn, old, extra, out);
}

static model_t m, m2; /* big: not on the stack */

Test(counter_code_change, up_from_1_0_0_keeps_every_count_and_leaves_the_old_state_alone) {
  molt_version_t* v1 = mu_load("counter", "1.0.0");
  molt_version_t* v2 = mu_load("counter", "2.0.0");
  molt_pid_t probe = probe_start();
  void* old = build(v1, &m, 300);
  char* before = format(v1, old);

  void* up = NULL;
  cr_assert_eq(change(v2, MOLT_UP, "1.0.0", 1, old, NULL, &up), 0);
  cr_assert_not_null(up);
  char* after = format(v1, old);
  cr_expect_str_eq(after, before, "code_change touched the old state");
  molt_free(before);
  molt_free(after);

  /* Free the old state first: a new state that shared memory with it
   * would be a use after free below, which ASan reports. */
  v1->free_state(old);
  cJSON* j = assert_holds(v2, up, &m);
  /* What 1.x never recorded starts at zero. */
  cJSON* rec;
  cJSON_ArrayForEach(rec, cJSON_GetObjectItem(j, "records")) {
    cr_expect_eq(cJSON_GetObjectItem(rec, "increments")->valuedouble, 0);
    cr_expect_eq(cJSON_GetObjectItem(rec, "updated_ms")->valuedouble, 0);
  }
  cJSON_Delete(j);
  assert_serves(v2, up, &m, probe);

  /* And it goes on counting in its new layout. */
  uint64_t t0 = molt_now_ms();
  incr(v2, up, &m, "key-0.x", 10);
  incr(v2, up, &m, "fresh", 1);
  j = assert_holds(v2, up, &m);
  cJSON_ArrayForEach(rec, cJSON_GetObjectItem(j, "records")) {
    const char* key = cJSON_GetObjectItem(rec, "key")->valuestring;
    if (strcmp(key, "key-0.x") != 0 && strcmp(key, "fresh") != 0) continue;
    cr_expect_eq(cJSON_GetObjectItem(rec, "increments")->valuedouble, 1, "%s", key);
    cr_expect_geq(cJSON_GetObjectItem(rec, "updated_ms")->valuedouble, (double)t0, "%s", key);
  }
  cJSON_Delete(j);
  assert_serves(v2, up, &m, probe);
  v2->free_state(up);
}

Test(counter_code_change, down_gives_1_1_0_a_state_it_serves_with_the_same_counts) {
  molt_version_t* v11 = mu_load("counter", "1.1.0");
  molt_version_t* v2 = mu_load("counter", "2.0.0");
  molt_pid_t probe = probe_start();
  /* Built by 2.0.0 itself, growing its tables: keys only it ever saw. */
  void* s2 = build(v2, &m, 250);
  char* before = format(v2, s2);

  void* down = NULL;
  cr_assert_eq(change(v2, MOLT_DOWN, "1.1.0", 1, s2, NULL, &down), 0);
  char* after = format(v2, s2);
  cr_expect_str_eq(after, before, "code_change touched the old state");
  molt_free(before);
  molt_free(after);
  v2->free_state(s2);

  cJSON_Delete(assert_holds(v11, down, &m));
  assert_serves(v11, down, &m, probe);
  /* 1.1.0 keeps counting on it, growing the table it was handed. */
  char key[COUNTER_KEY_MAX];
  for (int i = 0; i < 200; i++) {
    snprintf(key, sizeof(key), "after.%d", i);
    incr(v11, down, &m, key, i);
  }
  incr(v11, down, &m, "key-1.x", 5);
  cJSON_Delete(assert_holds(v11, down, &m));
  assert_serves(v11, down, &m, probe);
  v11->free_state(down);
}

Test(counter_code_change, down_of_an_empty_state) {
  molt_version_t* v11 = mu_load("counter", "1.1.0");
  molt_version_t* v2 = mu_load("counter", "2.0.0");
  memset(&m, 0, sizeof(m));
  void* s2 = mu_init(v2, NULL);
  void* down = NULL;
  cr_assert_eq(change(v2, MOLT_DOWN, "1.1.0", 1, s2, NULL, &down), 0);
  v2->free_state(s2);
  cJSON_Delete(assert_holds(v11, down, &m));
  incr(v11, down, &m, "one", 1);
  cJSON_Delete(assert_holds(v11, down, &m));
  v11->free_state(down);
}

/* The releases' own path: 1.0.0 under load, up to 2.0.0, more traffic,
 * rollback down to 1.1.0, and both 1.x versions read the result. */
Test(counter_code_change, round_trip_1_0_0_up_to_2_0_0_and_down_to_1_1_0) {
  molt_version_t* v10 = mu_load("counter", "1.0.0");
  molt_version_t* v2 = mu_load("counter", "2.0.0");
  molt_pid_t probe = probe_start();
  void* s1 = build(v10, &m, 120);
  void* s2 = NULL;
  cr_assert_eq(change(v2, MOLT_UP, "1.0.0", 1, s1, NULL, &s2), 0);
  v10->free_state(s1);
  for (int i = 0; i < 60; i++) incr(v2, s2, &m, i % 2 ? "key-3.x" : "late", 2);

  molt_version_t* v11 = mu_load("counter", "1.1.0"); /* now current; 2.0.0 old */
  void* back = NULL;
  cr_assert_eq(change(v2, MOLT_DOWN, "1.1.0", 1, s2, NULL, &back), 0);
  v2->free_state(s2);
  cJSON_Delete(assert_holds(v11, back, &m));
  cJSON_Delete(assert_holds(v10, back, &m));
  assert_serves(v11, back, &m, probe);
  assert_serves(v10, back, &m, probe);
  v11->free_state(back);
}

/* 1.1.0 is a soft load over 1.0.0: each runs on a state the other built. */
Test(counter_code_change, v1_0_0_and_v1_1_0_share_one_layout) {
  molt_version_t* v10 = mu_load("counter", "1.0.0");
  molt_version_t* v11 = mu_load("counter", "1.1.0");
  molt_pid_t probe = probe_start();
  void* a = build(v10, &m, 100);
  void* b = build(v11, &m2, 100);
  cJSON_Delete(assert_holds(v11, a, &m));
  cJSON_Delete(assert_holds(v10, b, &m2));
  /* Even the text is the same, so tools see a soft load only in INFO. */
  char* t10 = format(v10, a);
  char* t11 = format(v11, a);
  cr_expect_str_eq(t10, t11);
  molt_free(t10);
  molt_free(t11);
  assert_serves(v11, a, &m, probe);
  assert_serves(v10, b, &m2, probe);
  incr(v11, a, &m, "grown", 1);
  incr(v10, b, &m2, "grown", 1);
  cJSON_Delete(assert_holds(v10, a, &m));
  cJSON_Delete(assert_holds(v11, b, &m2));
  v11->free_state(a);
  v10->free_state(b);
}

/* A refusal: the code, *out untouched, the old state as it was. */
static void assert_refused(const molt_version_t* v2, const molt_version_t* vold, molt_direction_t dir,
                           uint32_t state_vsn, const void* old, const char* extra, int want) {
  char* before = format(vold, old);
  void* sentinel = (void*)&sentinel;
  void* out = sentinel;
  int rc = change(v2, dir, "1.1.0", state_vsn, old, extra, &out);
  cr_expect_eq(rc, want, "dir %d state_vsn %u extra %s: got %s", dir, state_vsn, extra ? extra : "NULL",
               molt_err_name(rc));
  cr_expect_eq(out, sentinel, "a refused code_change wrote *new_state");
  char* after = format(vold, old);
  cr_expect_str_eq(after, before);
  molt_free(before);
  molt_free(after);
}

Test(counter_code_change, poison_key_refuses_both_directions) {
  molt_version_t* v11 = mu_load("counter", "1.1.0");
  molt_version_t* v2 = mu_load("counter", "2.0.0");
  void* s1 = build(v11, &m, 40);
  incr(v11, s1, &m, "poison", 1);
  assert_refused(v2, v11, MOLT_UP, 1, s1, NULL, MOLT_EINVAL);
  void* s2 = build(v2, &m2, 40);
  incr(v2, s2, &m2, "poison", 1);
  assert_refused(v2, v2, MOLT_DOWN, 1, s2, NULL, MOLT_EINVAL);
  v11->free_state(s1);
  v2->free_state(s2);
}

/* What an all-or-nothing upgrade of 1,000 actors relies on: the poisoned
 * one fails, every other one converts. */
Test(counter_code_change, poison_fails_only_the_state_that_holds_it) {
  molt_version_t* v11 = mu_load("counter", "1.1.0");
  molt_version_t* v2 = mu_load("counter", "2.0.0");
  enum { N = 1000, BAD = 617 };
  static void* states[N];
  for (int i = 0; i < N; i++) {
    states[i] = mu_init(v11, NULL);
    counter_incr_t in = {.by = i, .key = "hits"};
    mu_handle(v11, states[i], COUNTER_INCR, &in, sizeof(in), MOLT_PID_NONE, 0);
    if (i == BAD) {
      counter_incr_t p = {.by = 1, .key = "poison"};
      mu_handle(v11, states[i], COUNTER_INCR, &p, sizeof(p), MOLT_PID_NONE, 0);
    }
  }
  int failed = 0, failed_at = -1;
  for (int i = 0; i < N; i++) {
    void* out = NULL;
    int rc = change(v2, MOLT_UP, "1.1.0", 1, states[i], NULL, &out);
    if (rc) {
      failed++;
      failed_at = i;
      cr_expect_eq(rc, MOLT_EINVAL);
    } else {
      v2->free_state(out);
    }
    v11->free_state(states[i]);
  }
  cr_expect_eq(failed, 1);
  cr_expect_eq(failed_at, BAD);
}

Test(counter_code_change, extra_fail_cancels_both_directions) {
  molt_version_t* v11 = mu_load("counter", "1.1.0");
  molt_version_t* v2 = mu_load("counter", "2.0.0");
  void* s1 = build(v11, &m, 10);
  void* s2 = build(v2, &m2, 10);
  assert_refused(v2, v11, MOLT_UP, 1, s1, "fail", MOLT_ECANCELED);
  assert_refused(v2, v2, MOLT_DOWN, 1, s2, "fail", MOLT_ECANCELED);
  /* Any other extra is not an instruction. */
  void* out = NULL;
  cr_expect_eq(change(v2, MOLT_UP, "1.1.0", 1, s1, "failing", &out), 0);
  v2->free_state(out);
  v11->free_state(s1);
  v2->free_state(s2);
}

Test(counter_code_change, unknown_direction_or_layout_is_einval) {
  molt_version_t* v11 = mu_load("counter", "1.1.0");
  molt_version_t* v2 = mu_load("counter", "2.0.0");
  void* s1 = build(v11, &m, 10);
  void* s2 = build(v2, &m2, 10);
  assert_refused(v2, v11, MOLT_UP, 0, s1, NULL, MOLT_EINVAL);
  assert_refused(v2, v11, MOLT_UP, 2, s1, NULL, MOLT_EINVAL);
  assert_refused(v2, v11, MOLT_UP, 3, s1, NULL, MOLT_EINVAL);
  assert_refused(v2, v2, MOLT_DOWN, 2, s2, NULL, MOLT_EINVAL);
  assert_refused(v2, v2, MOLT_DOWN, 0, s2, NULL, MOLT_EINVAL);
  assert_refused(v2, v11, (molt_direction_t)0, 1, s1, NULL, MOLT_EINVAL);
  assert_refused(v2, v11, (molt_direction_t)3, 1, s1, NULL, MOLT_EINVAL);
  v11->free_state(s1);
  v2->free_state(s2);
}

/* Fail the nth allocation, or the nth and every one after it, for each n
 * until code_change no longer allocates that many: each run either
 * succeeds whole or refuses with ENOMEM, old state untouched, nothing
 * leaked (LeakSanitizer checks at exit in the ASan build). old_v reads the
 * old state, new_v the new one. */
static void fault_each_allocation(const molt_version_t* v2, molt_direction_t dir, const molt_version_t* old_v,
                                  const void* old, const molt_version_t* new_v, const model_t* want) {
  char* before = format(old_v, old);
  int refusals = 0, successes = 0;
  for (int sticky = 0; sticky <= 1; sticky++)
    for (unsigned long nth = 1; nth <= 30; nth++) {
      void* out = NULL;
      molt__alloc_fail_at(nth, sticky);
      int rc = change(v2, dir, "1.1.0", 1, old, NULL, &out);
      molt__alloc_fail_at(0, 0);
      if (rc == 0) {
        successes++;
        cJSON_Delete(assert_holds(new_v, out, want));
        new_v->free_state(out);
        continue;
      }
      refusals++;
      cr_assert_eq(rc, MOLT_ENOMEM, "nth %lu: %s", nth, molt_err_name(rc));
      cr_assert_null(out);
      char* after = format(old_v, old);
      cr_assert_str_eq(after, before, "nth %lu touched the old state", nth);
      molt_free(after);
    }
  cr_expect_gt(refusals, 0, "no allocation was failed");
  cr_expect_gt(successes, 0, "code_change never got past the failures");
  molt_free(before);
}

Test(counter_code_change, up_refuses_cleanly_on_every_allocation_failure) {
  molt_version_t* v11 = mu_load("counter", "1.1.0");
  molt_version_t* v2 = mu_load("counter", "2.0.0");
  void* s1 = build(v11, &m, 80);
  fault_each_allocation(v2, MOLT_UP, v11, s1, v2, &m);
  v11->free_state(s1);
}

Test(counter_code_change, down_refuses_cleanly_on_every_allocation_failure) {
  molt_version_t* v11 = mu_load("counter", "1.1.0");
  molt_version_t* v2 = mu_load("counter", "2.0.0");
  void* s2 = build(v2, &m, 80);
  fault_each_allocation(v2, MOLT_DOWN, v2, s2, v11, &m);
  v2->free_state(s2);
}

/* The same for the handlers that grow 2.0.0's tables: a failed increment
 * leaves the state as it was, and the next one succeeds. */
Test(counter_code_change, v2_0_0_increment_survives_allocation_failure) {
  molt_version_t* v2 = mu_load("counter", "2.0.0");
  void* s = build(v2, &m, 15); /* 16 records, index of 32: the next key grows both */
  char key[COUNTER_KEY_MAX];
  for (int i = 0; i < 40; i++) {
    snprintf(key, sizeof(key), "grow.%d", i);
    counter_incr_t in = {.by = 1};
    memcpy(in.key, key, sizeof(key));
    molt__alloc_fail_at(1, 1);
    int rc = mu_handle(v2, s, COUNTER_INCR, &in, sizeof(in), MOLT_PID_NONE, 0);
    molt__alloc_fail_at(0, 0);
    if (rc == MOLT_ENOMEM) {
      /* Only the message count moved: the runtime would now crash the
       * actor, but the state it frees must still be whole. */
      m.messages++;
      cJSON_Delete(assert_holds(v2, s, &m));
    } else {
      cr_assert_eq(rc, MOLT_OK);
      m.messages++;
      m.count[model_key(&m, key)] += 1;
      m.total += 1;
    }
    incr(v2, s, &m, key, 1);
  }
  cJSON_Delete(assert_holds(v2, s, &m));
  v2->free_state(s);
}
