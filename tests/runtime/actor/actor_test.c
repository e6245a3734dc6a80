/* actor_test.c: an actor's life as modules see it (runtime/actor.c): message
 * order and payload copies, stop, crash and init failure, sends to dead and
 * unknown pids, slot reuse, fairness on one scheduler, a ring across two,
 * allocation failures during spawn, and spawning from inside an actor. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "actor.h"
#include "alloc.h"
#include "probe.h"
#include "rt.h"
#include "runtime.h"


TestSuite(actor, .fini = rt_teardown, .timeout = 20);

static molt_sched_t* sched_of(molt_pid_t pid) { return molt__actor_slot(pid)->sched; }

Test(actor, delivers_in_order_and_copies_payloads, .init = probe_setup2) {
  molt_pid_t p = probe_start("p", "");
  /* One buffer for every send, scribbled over after each: a receiver that
   * borrowed it would see -1 or a later seq. */
  probe_cmd_t c = {0, 0};
  for (int64_t i = 1; i <= 1000; i++) {
    c.a = i;
    cr_assert_eq(rt_send(p, PROBE_ECHO, &c, sizeof(c)), 0);
    c.a = -1;
  }
  probe_expect("p got seq=1000\n", 1);
  cr_assert_eq(rt_count("p got seq="), 1000);
  cr_assert_eq(rt_count("OUT OF ORDER"), 0, "%s", rt_notes());
}

Test(actor, stop_runs_terminate_and_frees_the_actor, .init = probe_setup2) {
  molt_pid_t p = probe_start("p", "");
  cr_assert_eq(molt__actor_count(), 1);
  probe_cmd(p, PROBE_STOP, 0, 0);
  probe_expect("p terminate reason=0\n", 1);
  cr_assert(rt_wait_dead(p, PROBE_WAIT_MS));
  cr_assert_eq(molt__actor_count(), 0);
  cr_assert_eq(molt_whereis("p"), MOLT_PID_NONE);
}

Test(actor, crash_reason_is_the_error_code, .init = probe_setup2) {
  molt_pid_t p = probe_start("p", "");
  molt_pid_t w = probe_start("w", "");
  probe_cmd(w, PROBE_MONITOR, (int64_t)p, 0);
  probe_expect("w monitor", 1);
  probe_cmd(p, PROBE_CRASH, MOLT_EIO, 0);
  probe_expect_value("w DOWN", "reason", MOLT_EIO);
  probe_expect_value("p terminate", "reason", MOLT_EIO);
  cr_assert(rt_wait_dead(p, PROBE_WAIT_MS));
}

Test(actor, undefined_handle_result_crashes_with_einval, .init = probe_setup2) {
  molt_pid_t p = probe_start("p", "");
  probe_cmd(p, PROBE_CRASH, 7, 0); /* positive, and not MOLT_STOP */
  probe_expect_value("p terminate", "reason", MOLT_EINVAL);
  cr_assert(rt_wait_dead(p, PROBE_WAIT_MS));
}

Test(actor, init_failure_returns_its_error_and_leaves_nothing, .init = probe_setup2) {
  molt_pid_t pid = MOLT_PID_NONE;
  /* It registered and set a timer before failing: both must go. */
  int rc = rt_try_spawn("probe", "{\"id\":\"f\",\"register\":1,\"timer_ms\":1,\"fail\":1}", &pid);
  cr_assert_eq(rc, MOLT_EINVAL, "got %s", molt_err_name(rc));
  cr_assert_eq(pid, MOLT_PID_NONE);
  cr_assert_eq(molt__actor_count(), 0);
  cr_assert_eq(molt_whereis("f"), MOLT_PID_NONE);
  cr_assert_eq(rt_count("f terminate"), 0, "terminate ran without a state");
  /* The name is free again. */
  probe_start("f", "");
}

/* "bare": init's result and whether it builds a state come from its args. */
static int bare_init(const molt_args_t* args, void** state) {
  if (molt_args_int(args, "state", 1)) *state = molt_alloc(1);
  return (int)molt_args_int(args, "rc", 0);
}
static int bare_handle(void* state, const molt_msg_t* msg) { return MOLT_OK; }
static const molt_module_t bare_module = PROBE_TEST_MODULE("bare", bare_init, bare_handle);

Test(actor, init_without_state_or_with_positive_result_fails_with_einit, .init = probe_setup2) {
  rt_install(&bare_module);
  molt_pid_t pid = MOLT_PID_NONE;
  cr_assert_eq(rt_try_spawn("bare", "{\"state\":0}", &pid), MOLT_EINIT);
  cr_assert_eq(molt__actor_count(), 0);
  /* A positive init result is not a defined one: EINIT. */
  cr_assert_eq(rt_try_spawn("bare", "{\"rc\":5,\"state\":0}", &pid), MOLT_EINIT);
  cr_assert_eq(molt__actor_count(), 0);
  cr_assert_eq(rt_try_spawn("bare", NULL, &pid), 0);
  cr_assert_eq(molt__actor_count(), 1);
}

Test(actor, spawn_of_unknown_module_is_enomodule, .init = probe_setup2) {
  molt_pid_t pid = MOLT_PID_NONE;
  cr_assert_eq(rt_try_spawn("nosuchmodule", NULL, &pid), MOLT_ENOMODULE);
  cr_assert_eq(molt_spawn("probe", NULL, &pid), MOLT_EPERM, "molt_spawn outside an actor");
}

Test(actor, send_to_unknown_pid_is_esrch, .init = probe_setup2) {
  probe_cmd_t c = {0, 0};
  cr_assert_eq(rt_send(MOLT__PID(1u << 29, 1), PROBE_ECHO, &c, sizeof(c)), MOLT_ESRCH);
  cr_assert_eq(rt_send(MOLT_PID_NONE, PROBE_ECHO, &c, sizeof(c)), MOLT_ESRCH);
  /* A generation the slot has not reached yet never existed either. */
  molt_pid_t p = probe_start("p", "");
  molt_pid_t future = MOLT__PID(MOLT__PID_INDEX(p), MOLT__PID_GEN(p) + 1);
  cr_assert_eq(rt_send(future, PROBE_ECHO, &c, sizeof(c)), MOLT_ESRCH);
  /* The same from inside an actor. */
  cr_assert_eq(probe_call(p, "p", "send", PROBE_SEND, (int64_t)MOLT__PID(1u << 29, 1), PROBE_ECHO), MOLT_ESRCH);
}

Test(actor, actors_send_to_each_other, .init = probe_setup2) {
  molt_pid_t p = probe_start("p", "");
  probe_start("q", "");
  cr_assert_eq(probe_call(p, "p", "send", PROBE_SEND, (int64_t)molt_whereis("q"), 77), 0);
  probe_expect("q unknown tag=77\n", 1);
}

Test(actor, send_checks_size_and_data, .init = probe_setup2) {
  molt_pid_t p = probe_start("p", "");
  cr_assert_eq(rt_send(p, PROBE_ECHO, NULL, 8), MOLT_EINVAL);
  cr_assert_eq(rt_send(p, PROBE_ECHO, "x", (size_t)MOLT_MSG_MAX + 1), MOLT_EMSGSIZE);
}

Test(actor, dead_pid_is_dropped_and_never_reaches_the_slots_next_actor, .init = probe_setup1) {
  molt_pid_t a = probe_start("a", "");
  probe_cmd(a, PROBE_STOP, 0, 0);
  cr_assert(rt_wait_dead(a, PROBE_WAIT_MS));
  /* One scheduler: its free list hands the same slot to the next spawn. */
  molt_pid_t b = probe_start("b", "");
  cr_assert_eq(MOLT__PID_INDEX(b), MOLT__PID_INDEX(a), "slot not reused");
  cr_assert_gt(MOLT__PID_GEN(b), MOLT__PID_GEN(a));
  probe_cmd_t c = {77, 0};
  cr_assert_eq(rt_send(a, PROBE_ECHO, &c, sizeof(c)), 0, "a send to a dead actor succeeds");
  cr_assert_eq(probe_call(b, "b", "send", PROBE_SEND, (int64_t)a, PROBE_STOP), 0, "from an actor too");
  probe_barrier(b);
  cr_assert_eq(rt_count("seq=77"), 0, "the old pid reached the new actor:\n%s", rt_notes());
  cr_assert(rt_alive(b), "the stop sent to the old pid stopped the new actor");
}

/* "spinner": keeps one message to itself in flight forever, so its mailbox
 * is never empty; tag 2 stops it. */
static atomic_ulong spins;

static int spinner_init(const molt_args_t* args, void** state) {
  *state = molt_alloc(1);
  if (!*state) return MOLT_ENOMEM;
  return molt_send(molt_self(), 1, NULL, 0);
}
static int spinner_handle(void* state, const molt_msg_t* msg) {
  if (msg->tag == 2) return MOLT_STOP;
  atomic_fetch_add(&spins, 1);
  return molt_send(molt_self(), 1, NULL, 0);
}
static const molt_module_t spinner_module = PROBE_TEST_MODULE("spinner", spinner_init, spinner_handle);

static bool spun_past(void* arg) { return atomic_load(&spins) > *(unsigned long*)arg; }

Test(actor, busy_actor_does_not_starve_another_on_its_scheduler, .init = probe_setup1) {
  rt_install(&spinner_module);
  molt_pid_t s = rt_spawn("spinner", NULL);
  unsigned long before = 1000;
  cr_assert(rt_wait(spun_past, &before, PROBE_WAIT_MS), "the spinner never ran");
  molt_pid_t p = probe_start("p", "");
  cr_assert_eq(sched_of(p), sched_of(s));
  probe_cmd(p, PROBE_ECHO, 1, 0);
  probe_expect("p got seq=1\n", 1);
  /* ...while the spinner still spins. */
  before = atomic_load(&spins);
  cr_assert(rt_wait(spun_past, &before, PROBE_WAIT_MS));
  cr_assert_eq(rt_send(s, 2, NULL, 0), 0);
  cr_assert(rt_wait_dead(s, PROBE_WAIT_MS));
}

/* "ring": forwards a hop count to its next actor until it reaches RING_HOPS. */
#define RING_SIZE 100
#define RING_HOPS 10000
enum { RING_NEXT = 1, RING_TOKEN = 2 };
static atomic_long ring_passes;

typedef struct {
  int64_t id;
  molt_pid_t next;
} ring_t;

static int ring_init(const molt_args_t* args, void** state) {
  ring_t* r = molt_calloc(1, sizeof(*r));
  if (!r) return MOLT_ENOMEM;
  r->id = molt_args_int(args, "id", -1);
  *state = r;
  return 0;
}
static int ring_handle(void* state, const molt_msg_t* msg) {
  ring_t* r = state;
  int64_t v;
  memcpy(&v, msg->data, sizeof(v));
  if (msg->tag == RING_NEXT) {
    r->next = (molt_pid_t)v;
    return MOLT_OK;
  }
  atomic_fetch_add(&ring_passes, 1);
  if (v == RING_HOPS) {
    rt_note("ring done id=%lld", (long long)r->id);
    return MOLT_OK;
  }
  v++;
  return molt_send(r->next, RING_TOKEN, &v, sizeof(v));
}
static const molt_module_t ring_module = PROBE_TEST_MODULE("ring", ring_init, ring_handle);

Test(actor, token_ring_crosses_two_schedulers, .init = probe_setup2) {
  rt_install(&ring_module);
  molt_pid_t ring[RING_SIZE];
  for (int i = 0; i < RING_SIZE; i++) {
    char args[64];
    snprintf(args, sizeof(args), "{\"id\":%d}", i);
    ring[i] = rt_spawn("ring", args);
  }
  int on_first = 0;
  for (int i = 0; i < RING_SIZE; i++) {
    int64_t next = (int64_t)ring[(i + 1) % RING_SIZE];
    cr_assert_eq(rt_send(ring[i], RING_NEXT, &next, sizeof(next)), 0);
    on_first += sched_of(ring[i]) == &molt__rt.scheds[0];
  }
  cr_assert(on_first > 0 && on_first < RING_SIZE, "all %d on one scheduler", RING_SIZE);
  int64_t start = 0;
  cr_assert_eq(rt_send(ring[0], RING_TOKEN, &start, sizeof(start)), 0);
  probe_expect("ring done", 1);
  /* hop k lands on actor k % RING_SIZE */
  cr_assert_eq(rt_count("ring done id=0\n"), 1, "%s", rt_notes());
  cr_assert_eq(atomic_load(&ring_passes), RING_HOPS + 1);
}

/* Spawn with the nth allocation failing; ENOMEM or success, and either way
 * nothing is left behind. Returns the spawn's result. */
static int spawn_failing_at(unsigned long nth, const char* args) {
  molt_pid_t pid = MOLT_PID_NONE;
  molt__alloc_fail_at(nth, 0);
  int rc = rt_try_spawn("probe", args, &pid);
  molt__alloc_fail_at(0, 0);
  cr_assert(rc == 0 || rc == MOLT_ENOMEM, "allocation %lu: %s", nth, molt_err_name(rc));
  if (rc == 0) {
    probe_cmd(pid, PROBE_STOP, 0, 0);
    cr_assert(rt_wait_dead(pid, PROBE_WAIT_MS));
  }
  cr_assert_eq(molt__actor_count(), 0, "allocation %lu: an actor was left", nth);
  cr_assert_eq(molt_whereis("f"), MOLT_PID_NONE, "allocation %lu: the name was left", nth);
  return rc;
}

Test(actor, spawn_survives_each_allocation_failing, .init = probe_setup2) {
  /* Registering and a timer make init allocate too. */
  const char* args = "{\"id\":\"f\",\"register\":1,\"timer_ms\":100000}";
  spawn_failing_at(100, args); /* warm up: the table's first page */
  int failures = 0;
  for (unsigned long nth = 1; nth <= 20; nth++) failures += spawn_failing_at(nth, args) != 0;
  cr_assert_geq(failures, 5, "only %d of the first 20 allocations mattered", failures);
  cr_assert_eq(spawn_failing_at(20, args), 0, "a spawn needs more than 20 allocations");
}

Test(actor, spawn_from_an_actor_survives_each_allocation_failing, .init = probe_setup2) {
  molt_pid_t parent = probe_start("parent", "");
  int failures = 0;
  for (unsigned long nth = 1; nth <= 20; nth++) {
    const char* child = "{\"id\":\"c\",\"register\":1}";
    molt__alloc_fail_at(nth + 1, 0); /* the first is the command itself */
    long long rc = probe_call_str(parent, "parent", "spawned", PROBE_SPAWN_LINK, child);
    molt__alloc_fail_at(0, 0);
    cr_assert(rc == 0 || rc == MOLT_ENOMEM, "allocation %lu: %s", nth, molt_err_name((int)rc));
    if (rc == 0) {
      molt_pid_t c = (molt_pid_t)probe_value("parent spawned", "pid");
      probe_cmd(c, PROBE_STOP, 0, 0);
      cr_assert(rt_wait_dead(c, PROBE_WAIT_MS));
    } else {
      failures++;
    }
    cr_assert_eq(molt__actor_count(), 1, "allocation %lu: a child was left", nth);
    cr_assert(rt_alive(parent), "allocation %lu killed the parent", nth);
  }
  cr_assert_geq(failures, 3);
}

Test(actor, spawn_link_from_an_actor_links_both_ways, .init = probe_setup2) {
  molt_pid_t p = probe_start("p", "");
  molt_pid_t c = probe_spawn_child(p, "p", PROBE_SPAWN_LINK, "{\"id\":\"c\",\"register\":1}");
  cr_assert_eq(molt_whereis("c"), c);
  cr_assert_eq(probe_value("c init", "pid"), (long long)c);
  probe_cmd(c, PROBE_CRASH, MOLT_EIO, 0);
  probe_expect_value("p terminate", "reason", MOLT_EIO);
}

Test(actor, spawn_monitor_from_an_actor_reports_down_with_its_ref, .init = probe_setup2) {
  molt_pid_t p = probe_start("p", "");
  molt_pid_t c = probe_spawn_child(p, "p", PROBE_SPAWN_MONITOR, "{\"id\":\"c\"}");
  long long ref = probe_value("p spawned", "ref");
  cr_assert_neq(ref, 0);
  probe_cmd(c, PROBE_CRASH, MOLT_EIO, 0);
  probe_expect_value("p DOWN", "ref", ref);
  probe_expect_signal("p DOWN", c, MOLT_EIO);
  cr_assert(rt_alive(p), "a monitor is not a link");
}

Test(actor, spawn_any_from_an_actor_spreads_over_schedulers, .init = probe_setup2) {
  molt_pid_t p = probe_start("p", "");
  int here = 0;
  for (int i = 0; i < 4; i++) here += sched_of(probe_spawn_child(p, "p", PROBE_SPAWN_ANY, "{\"id\":\"c\"}")) == sched_of(p);
  cr_assert(here > 0 && here < 4, "%d of 4 children on the parent's scheduler", here);
  cr_assert_eq(molt__actor_count(), 5);
  /* Not linked: the parent's crash leaves them running. */
  probe_cmd(p, PROBE_CRASH, MOLT_EIO, 0);
  cr_assert(rt_wait_dead(p, PROBE_WAIT_MS));
  cr_assert_eq(molt__actor_count(), 4);
  cr_assert_eq(rt_count("c terminate"), 0);
}
