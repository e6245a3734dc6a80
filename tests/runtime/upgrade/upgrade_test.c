/* upgrade_test.c: the code-change transaction on a real runtime with two
 * schedulers: soft loads, code_change up and down, chains, and every abort
 * path leaving each actor on its old code with its old state. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "actor.h"
#include "code_server.h"
#include "rt.h"
#include "runtime.h"
#include "sched.h"
#include "upgrade.h"

enum { INCR = 1, QUERY = 2, SLEEP = 3, POISON_ME = 4 };
/* A count no run of increments reaches: the load test's cells count up
 * from 0 and must never be refused by chance. */
#define POISON (-1)

/* state_vsn 1 */
typedef struct {
  int64_t id, count;
} cell1_t;
/* state_vsn 2: another layout */
typedef struct {
  char tag[8];
  int64_t count;
  int64_t id;
  int64_t doubled;
} cell2_t;

static atomic_long live_states;

static int c1_init(const molt_args_t* args, void** state) {
  cell1_t* c = molt_calloc(1, sizeof(*c));
  if (!c) return MOLT_ENOMEM;
  c->id = molt_args_int(args, "id", 0);
  atomic_fetch_add(&live_states, 1);
  *state = c;
  return 0;
}

static void note(const char* vsn, int64_t id, int64_t count) {
  rt_note("cell %lld vsn=%s count=%lld", (long long)id, vsn, (long long)count);
}

static int c1_handle(void* state, const molt_msg_t* m) {
  cell1_t* c = state;
  if (m->tag == INCR) c->count++;
  if (m->tag == QUERY) note("1", c->id, c->count);
  if (m->tag == SLEEP) usleep(400000);
  if (m->tag == POISON_ME) c->count = POISON;
  return MOLT_OK;
}

static int c1b_handle(void* state, const molt_msg_t* m) {
  cell1_t* c = state;
  if (m->tag == INCR) c->count++;
  if (m->tag == QUERY) note("1b", c->id, c->count);
  return MOLT_OK;
}

static void c1_free(void* state) {
  atomic_fetch_sub(&live_states, 1);
  molt_free(state);
}

static int c2_handle(void* state, const molt_msg_t* m) {
  cell2_t* c = state;
  if (m->tag == INCR) {
    c->count++;
    c->doubled += 2;
  }
  if (m->tag == QUERY) note("2", c->id, c->count);
  return MOLT_OK;
}

/* v2's code_change, both ways, refusing a poisoned state (a migration that
 * validates its input) and extra "fail". */
static int c2_code_change(molt_direction_t dir, const char* vsn, uint32_t state_vsn, const void* old,
                          const char* extra, void** out) {
  if (extra && strcmp(extra, "fail") == 0) return MOLT_ECANCELED;
  if (dir == MOLT_UP && state_vsn == 1) {
    const cell1_t* o = old;
    if (o->count == POISON) return MOLT_EINVAL;
    cell2_t* n = molt_calloc(1, sizeof(*n));
    if (!n) return MOLT_ENOMEM;
    memcpy(n->tag, "cell2", 6);
    n->count = o->count;
    n->id = o->id;
    n->doubled = o->count * 2;
    atomic_fetch_add(&live_states, 1);
    *out = n;
    return 0;
  }
  if (dir == MOLT_DOWN && state_vsn == 1) {
    const cell2_t* o = old;
    if (o->count == POISON) return MOLT_EINVAL;
    cell1_t* n = molt_calloc(1, sizeof(*n));
    if (!n) return MOLT_ENOMEM;
    n->count = o->count;
    n->id = o->id;
    atomic_fetch_add(&live_states, 1);
    *out = n;
    return 0;
  }
  return MOLT_EINVAL;
}

static const molt_module_t cell_v1 = {
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 1,
    .name = "cell", .vsn = "1", .init = c1_init, .handle = c1_handle, .free_state = c1_free};
static const molt_module_t cell_v1b = {
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 1,
    .name = "cell", .vsn = "1b", .init = c1_init, .handle = c1b_handle, .free_state = c1_free};
static const molt_module_t cell_v2 = {
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 2,
    .name = "cell", .vsn = "2", .init = c1_init /* unused */, .handle = c2_handle,
    .code_change = c2_code_change, .free_state = c1_free};

#define N 1000
static molt_pid_t pids[N];

static void setup(void) {
  atomic_store(&live_states, 0);
  rt_setup(2);
  rt_install(&cell_v1);
  for (int i = 0; i < N; i++) {
    char args[32];
    snprintf(args, sizeof(args), "{\"id\":%d}", i);
    pids[i] = rt_spawn("cell", args);
  }
}

static void teardown(void) {
  rt_teardown();
  cr_expect_eq(atomic_load(&live_states), 0, "states leaked or double-freed: %ld", atomic_load(&live_states));
}

TestSuite(upgrade, .init = setup, .fini = teardown, .timeout = 60);

static molt_version_t* version_of(const molt_module_t* desc) {
  molt_version_t* v = NULL;
  cr_assert_eq(molt__version_builtin(desc, &v), 0);
  return v;
}

static void incr_each(int times) {
  for (int t = 0; t < times; t++)
    for (int i = 0; i < N; i++) cr_assert_eq(rt_send(pids[i], INCR, NULL, 0), 0);
}

/* Every cell answers with vsn and its expected count. */
static void expect_all(const char* vsn, int64_t (*expected)(int i)) {
  char needle[64];
  for (int i = 0; i < N; i++) rt_send(pids[i], QUERY, NULL, 0);
  snprintf(needle, sizeof(needle), "vsn=%s ", vsn);
  cr_assert(rt_wait_count(needle, N, 10000), "%d of %d answered with vsn %s", rt_count(needle), N, vsn);
  for (int i = 0; i < N; i++) {
    snprintf(needle, sizeof(needle), "cell %d vsn=%s count=%lld\n", i, vsn, (long long)expected(i));
    cr_expect(rt_count(needle) >= 1, "missing: %s", needle);
  }
}

static int64_t three(int i) { return 3; }
static int64_t zero(int i) { return 0; }

static int apply1(molt_version_t* to, bool migrate, molt_direction_t dir, const char* extra, uint64_t timeout,
                  molt_upgrade_stats_t* st, char* err, size_t len) {
  molt_hop_t hop = {to, migrate, dir, extra};
  molt_change_t c = {"cell", &hop, 1};
  return molt__upgrade_apply(&c, 1, timeout, st, err, len);
}

static const char* current_vsn(void) {
  molt_version_t* v = molt__code_get_current("cell");
  static char vsn[16];
  snprintf(vsn, sizeof(vsn), "%s", v ? v->vsn : "none");
  if (v) molt__version_unref(v);
  return vsn;
}

Test(upgrade, soft_load_switches_every_actor_and_keeps_its_state) {
  incr_each(3);
  molt_version_t* v1b = version_of(&cell_v1b);
  char err[512] = "";
  molt_upgrade_stats_t st;
  cr_assert_eq(apply1(v1b, false, MOLT_UP, NULL, 5000, &st, err, sizeof(err)), 0, "%s", err);
  cr_expect_eq(st.actors, N);
  cr_expect_str_eq(current_vsn(), "1b");
  cr_expect_eq(atomic_load(&v1b->actors), N);
  molt__version_unref(v1b);
  expect_all("1b", three);
}

Test(upgrade, code_change_up_then_down_migrates_every_state) {
  incr_each(3);
  molt_version_t* v2 = version_of(&cell_v2);
  char err[512] = "";
  cr_assert_eq(apply1(v2, true, MOLT_UP, NULL, 5000, NULL, err, sizeof(err)), 0, "%s", err);
  cr_expect_str_eq(current_vsn(), "2");
  /* Old states were freed on commit: one state per actor remains. */
  cr_expect_eq(atomic_load(&live_states), N);
  expect_all("2", three);

  molt_version_t* v1 = version_of(&cell_v1);
  cr_assert_eq(apply1(v1, true, MOLT_DOWN, NULL, 5000, NULL, err, sizeof(err)), 0, "%s", err);
  cr_expect_str_eq(current_vsn(), "1");
  cr_expect_eq(atomic_load(&live_states), N);
  expect_all("1", three);
  molt__version_unref(v2);
  molt__version_unref(v1);
}

Test(upgrade, a_failing_code_change_on_one_of_1000_actors_changes_nothing) {
  incr_each(3);
  rt_send(pids[517], POISON_ME, NULL, 0);
  /* Migration sees the state at a message boundary: let the cell take
   * the poison first. */
  rt_send(pids[517], QUERY, NULL, 0);
  cr_assert(rt_wait_count("cell 517 vsn=1 count=-1\n", 1, 10000));
  molt_version_t* v2 = version_of(&cell_v2);
  char err[512] = "";
  int rc = apply1(v2, true, MOLT_UP, NULL, 5000, NULL, err, sizeof(err));
  cr_expect_eq(rc, MOLT_EINVAL, "%s", molt_strerror(rc));
  char pid[24];
  molt__pid_str(pids[517], pid, sizeof(pid));
  cr_expect(strstr(err, pid) && strstr(err, "code_change up failed"), "%s", err);
  cr_expect_str_eq(current_vsn(), "1");
  cr_expect_eq(atomic_load(&v2->actors), 0);
  cr_expect_eq(atomic_load(&live_states), N, "new states not freed on abort");
  molt__version_unref(v2);
  for (int i = 0; i < N; i++) rt_send(pids[i], QUERY, NULL, 0);
  cr_assert(rt_wait_count("vsn=1 ", N, 10000));
  cr_expect_eq(rt_count("cell 517 vsn=1 count=-1\n"), 2);
  cr_expect_eq(rt_count("cell 3 vsn=1 count=3\n"), 1);
}

Test(upgrade, extra_reaches_code_change_and_a_refusal_aborts) {
  molt_version_t* v2 = version_of(&cell_v2);
  char err[512] = "";
  cr_expect_eq(apply1(v2, true, MOLT_UP, "fail", 5000, NULL, err, sizeof(err)), MOLT_ECANCELED);
  cr_expect_str_eq(current_vsn(), "1");
  molt__version_unref(v2);
}

Test(upgrade, a_scheduler_stuck_in_a_handler_times_out_and_aborts) {
  rt_send(pids[0], SLEEP, NULL, 0); /* 400 ms inside one handler */
  usleep(50000);
  molt_version_t* v2 = version_of(&cell_v2);
  char err[512] = "";
  cr_expect_eq(apply1(v2, true, MOLT_UP, NULL, 100, NULL, err, sizeof(err)), MOLT_ETIMEDOUT);
  cr_expect(strstr(err, "did not reach a message boundary"), "%s", err);
  cr_expect_str_eq(current_vsn(), "1");
  usleep(500000); /* the late task finds the transaction decided and does nothing */
  cr_expect_eq(atomic_load(&v2->actors), 0);
  cr_expect_eq(apply1(v2, true, MOLT_UP, NULL, 5000, NULL, err, sizeof(err)), 0, "%s", err);
  cr_expect_str_eq(current_vsn(), "2");
  molt__version_unref(v2);
}

Test(upgrade, a_chain_of_hops_runs_each_in_turn) {
  incr_each(3);
  molt_version_t* v1b = version_of(&cell_v1b);
  molt_version_t* v2 = version_of(&cell_v2);
  molt_hop_t hops[] = {{v1b, false, MOLT_UP, NULL}, {v2, true, MOLT_UP, NULL}};
  molt_change_t c = {"cell", hops, 2};
  char err[512] = "";
  cr_assert_eq(molt__upgrade_apply(&c, 1, 5000, NULL, err, sizeof(err)), 0, "%s", err);
  cr_expect_str_eq(current_vsn(), "2");
  expect_all("2", three);
  molt__version_unref(v1b);
  molt__version_unref(v2);
}

/* A soft hop onto code of another state layout is refused by the engine
 * itself, whoever planned it: the layout is that of what the actors run
 * (or, in a chain, of the hop before), and nothing changes. */
Test(upgrade, a_soft_hop_onto_another_state_layout_is_refused_and_changes_nothing) {
  incr_each(3);
  molt_version_t* v1b = version_of(&cell_v1b);
  molt_version_t* v2 = version_of(&cell_v2);
  char err[512] = "";
  cr_expect_eq(apply1(v2, false, MOLT_UP, NULL, 5000, NULL, err, sizeof(err)), MOLT_EUPGRADE, "%s", err);
  cr_expect_str_eq(err,
                   "cell: refused to switch 1000 actors from 1 (rev 1, state_vsn 1) to 2 (state_vsn 2) without "
                   "code_change: their state would be in layout 1, the new code expects 2");
  cr_expect_str_eq(current_vsn(), "1");
  cr_expect_eq(atomic_load(&v2->actors), 0);

  molt_hop_t chain[] = {{v1b, false, MOLT_UP, NULL}, {v2, false, MOLT_UP, NULL}};
  molt_change_t c = {"cell", chain, 2};
  cr_expect_eq(molt__upgrade_apply(&c, 1, 5000, NULL, err, sizeof(err)), MOLT_EUPGRADE, "%s", err);
  cr_expect(strstr(err, "from 1b (hop 1, state_vsn 1) to 2 (state_vsn 2)"), "%s", err);
  cr_expect_str_eq(current_vsn(), "1");
  cr_expect_eq(atomic_load(&v1b->actors), 0);
  expect_all("1", three);

  /* The same hops with code_change where the layout changes go through. */
  chain[1].migrate = true;
  cr_expect_eq(molt__upgrade_apply(&c, 1, 5000, NULL, err, sizeof(err)), 0, "%s", err);
  cr_expect_str_eq(current_vsn(), "2");
  expect_all("2", three);
  molt__version_unref(v1b);
  molt__version_unref(v2);
}

Test(upgrade, checks_come_before_anything_changes) {
  molt_version_t* v2 = version_of(&cell_v2);
  molt_hop_t hop = {v2, true, MOLT_UP, NULL};
  molt_change_t c = {"nosuch", &hop, 1};
  char err[512] = "";
  cr_expect_eq(molt__upgrade_apply(&c, 1, 5000, NULL, err, sizeof(err)), MOLT_ENAME, "%s", err);
  cr_expect_str_eq(current_vsn(), "1");
  cr_expect(molt__upgrade_begin());
  cr_expect_not(molt__upgrade_begin(), "a second transaction must be refused");
  molt__upgrade_end();
  molt__version_unref(v2);
}

/* A thread keeps sending while transactions come and go: every message is
 * counted by whichever version handles it. */
static atomic_bool sending;
static atomic_long sent;

static void* sender(void* arg) {
  while (atomic_load(&sending)) {
    for (int i = 0; i < N; i += 7)
      if (rt_send(pids[i], INCR, NULL, 0) == 0) atomic_fetch_add(&sent, 1);
  }
  return NULL;
}

Test(upgrade, no_message_is_lost_across_20_upgrades_and_downgrades_under_load) {
  pthread_t t;
  atomic_store(&sending, true);
  pthread_create(&t, NULL, sender, NULL);
  molt_version_t* v1 = version_of(&cell_v1);
  molt_version_t* v2 = version_of(&cell_v2);
  char err[512] = "";
  for (int k = 0; k < 10; k++) {
    cr_assert_eq(apply1(v2, true, MOLT_UP, NULL, 5000, NULL, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(apply1(v1, true, MOLT_DOWN, NULL, 5000, NULL, err, sizeof(err)), 0, "%s", err);
  }
  atomic_store(&sending, false);
  pthread_join(t, NULL);
  /* Sum what the cells counted: each query note carries its count. */
  for (int i = 0; i < N; i += 7) rt_send(pids[i], QUERY, NULL, 0);
  int answers = (N + 6) / 7;
  cr_assert(rt_wait_count("vsn=1 ", answers, 10000));
  long counted = 0;
  const char* notes = rt_notes();
  for (const char* p = notes; (p = strstr(p, "count=")); p++) counted += atol(p + 6);
  cr_expect_eq(counted, atomic_load(&sent), "sent %ld, counted %ld", atomic_load(&sent), counted);
  molt__version_unref(v1);
  molt__version_unref(v2);
}

/* ---- idle schedulers: a change with no code_change holds them parked
 * (molt__sched_hold) instead of waking them. */

static molt_sched_t* sched_of(molt_pid_t pid) {
  molt_actor_t* a = molt__actor_slot(pid);
  cr_assert_not_null(a);
  return atomic_load(&a->sched);
}

/* Hold s once its thread parks (it spins briefly after its last work). */
static void hold_when_parked(molt_sched_t* s) {
  for (int k = 0; k < 10000; k++) {
    if (molt__sched_hold(s)) return;
    usleep(100);
  }
  cr_assert_fail("scheduler %u never parked", s->id);
}

Test(upgrade, a_held_scheduler_runs_no_turn_until_released) {
  molt_sched_t* s = sched_of(pids[5]);
  hold_when_parked(s);
  cr_expect_not(molt__sched_hold(s), "a held scheduler cannot be held twice");
  cr_assert_eq(rt_send(pids[5], QUERY, NULL, 0), 0);
  usleep(50000);
  cr_expect_eq(rt_count("cell 5 vsn=1 "), 0, "a turn ran on a held scheduler");
  molt__sched_release(s);
  cr_expect(rt_wait_count("cell 5 vsn=1 count=0\n", 1, 5000), "the held message was never handled");
}

Test(upgrade, a_soft_load_of_an_idle_runtime_wakes_no_scheduler) {
  incr_each(3);
  molt_version_t* v1 = version_of(&cell_v1);
  molt_version_t* v1b = version_of(&cell_v1b);
  char err[512] = "";
  /* A scheduler that just finished work spins for a moment before it
   * parks; an idle runtime has both parked well within 20 tries. */
  unsigned most_held = 0;
  for (int k = 0; k < 20 && most_held < 2; k++) {
    usleep(10000);
    molt_upgrade_stats_t st;
    cr_assert_eq(apply1(k % 2 ? v1 : v1b, false, MOLT_UP, NULL, 5000, &st, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(st.actors, N);
    if (st.held > most_held) most_held = st.held;
  }
  cr_expect_eq(most_held, 2, "no soft load held both idle schedulers");
  char vsn[16];
  snprintf(vsn, sizeof(vsn), "%s", current_vsn());
  cr_expect_eq(atomic_load(strcmp(vsn, "1b") == 0 ? &v1b->actors : &v1->actors), N);
  expect_all(vsn, three);
  molt__version_unref(v1);
  molt__version_unref(v1b);
}

Test(upgrade, a_code_change_wakes_every_scheduler_to_migrate_its_own_actors) {
  usleep(10000);
  molt_version_t* v2 = version_of(&cell_v2);
  char err[512] = "";
  molt_upgrade_stats_t st;
  cr_assert_eq(apply1(v2, true, MOLT_UP, NULL, 5000, &st, err, sizeof(err)), 0, "%s", err);
  cr_expect_eq(st.held, 0, "a scheduler was held for a code_change");
  cr_expect_eq(st.actors, N);
  molt__version_unref(v2);
}

Test(upgrade, a_soft_load_holds_the_idle_scheduler_and_waits_for_the_busy_one) {
  rt_send(pids[0], SLEEP, NULL, 0); /* 400 ms inside one handler */
  usleep(50000);
  molt_version_t* v1b = version_of(&cell_v1b);
  char err[512] = "";
  molt_upgrade_stats_t st;
  cr_assert_eq(apply1(v1b, false, MOLT_UP, NULL, 5000, &st, err, sizeof(err)), 0, "%s", err);
  cr_expect_eq(st.held, 1, "held %u schedulers; only the idle one can be", st.held);
  cr_expect_eq(st.actors, N);
  cr_expect_str_eq(current_vsn(), "1b");
  expect_all("1b", zero);
  molt__version_unref(v1b);
}

Test(upgrade, a_soft_load_that_times_out_releases_the_held_scheduler) {
  molt_sched_t* busy = sched_of(pids[0]);
  molt_pid_t other = MOLT_PID_NONE;
  for (int i = 1; i < N && other == MOLT_PID_NONE; i++)
    if (sched_of(pids[i]) != busy) other = pids[i];
  cr_assert_neq(other, MOLT_PID_NONE);
  rt_send(pids[0], SLEEP, NULL, 0);
  usleep(50000);
  molt_version_t* v1b = version_of(&cell_v1b);
  char err[512] = "";
  molt_upgrade_stats_t st;
  cr_expect_eq(apply1(v1b, false, MOLT_UP, NULL, 100, &st, err, sizeof(err)), MOLT_ETIMEDOUT);
  char want[64];
  snprintf(want, sizeof(want), "scheduler %u did not reach a message boundary", busy->id);
  cr_expect(strstr(err, want), "the error must name the busy scheduler: %s", err);
  cr_expect_eq(st.held, 1);
  cr_expect_str_eq(current_vsn(), "1");
  /* The held scheduler was let go: its actors answer at once. */
  rt_send(other, QUERY, NULL, 0);
  cr_expect(rt_wait_count("vsn=1 count=0\n", 1, 200), "the held scheduler was not released");
  usleep(500000);
  cr_expect_eq(atomic_load(&v1b->actors), 0);
  molt__version_unref(v1b);
}
