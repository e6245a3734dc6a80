/* monitor_test.c: monitors (runtime/link.c): one DOWN with the monitor's
 * ref and the exit reason, NOPROC for an actor already gone or never
 * there, none after demonitor, and no effect on the watcher's own life.
 * Watcher "w" and target "t" live on different schedulers. */
#include <criterion/criterion.h>
#include <semaphore.h>

#include "actor.h"
#include "probe.h"
#include "rt.h"
#include "runtime.h"
#include "sched.h"


static molt_pid_t w, t;

static void setup(void) {
  probe_setup2();
  w = probe_start("w", "");
  t = probe_start("t", "");
  cr_assert_neq(molt__actor_slot(w)->sched, molt__actor_slot(t)->sched);
}

TestSuite(monitor, .init = setup, .fini = rt_teardown, .timeout = 20);

/* w monitors pid; returns the ref. */
static long long monitor(molt_pid_t pid) {
  cr_assert_eq(probe_call(w, "w", "monitor", PROBE_MONITOR, (int64_t)pid, 0), 0);
  long long ref = probe_value("w monitor ", "ref");
  cr_assert_neq(ref, 0);
  return ref;
}

static void expect_down(long long ref, molt_pid_t from, int reason) {
  probe_expect_value("w DOWN", "ref", ref);
  probe_expect_signal("w DOWN", from, reason);
}

/* t is gone and w has handled whatever t's exit sent it. */
static void settle_after_t(void) {
  cr_assert(rt_wait_dead(t, PROBE_WAIT_MS));
  probe_barrier(w);
}

Test(monitor, down_carries_the_ref_and_the_reason) {
  long long ref = monitor(t);
  probe_cmd(t, PROBE_CRASH, MOLT_EIO, 0);
  expect_down(ref, t, MOLT_EIO);
}

Test(monitor, down_on_a_normal_exit) {
  long long ref = monitor(t);
  probe_cmd(t, PROBE_STOP, 0, 0);
  expect_down(ref, t, MOLT_EXIT_NORMAL);
}

Test(monitor, down_on_kill_says_killed) {
  long long ref = monitor(t);
  cr_assert_eq(molt__runtime_exit(t, MOLT_EXIT_KILL), 0);
  expect_down(ref, t, MOLT_EXIT_KILLED);
}

Test(monitor, is_not_a_link) {
  monitor(t);
  probe_cmd(t, PROBE_CRASH, MOLT_EIO, 0);
  settle_after_t();
  cr_assert(rt_alive(w));
  cr_assert_eq(rt_count("w EXIT"), 0);
  cr_assert_eq(rt_count("w DOWN"), 1, "exactly one DOWN:\n%s", rt_notes());
}

Test(monitor, the_target_does_not_notice_its_watcher_dying) {
  monitor(t);
  probe_cmd(w, PROBE_CRASH, MOLT_EIO, 0);
  cr_assert(rt_wait_dead(w, PROBE_WAIT_MS));
  probe_barrier(t);
  cr_assert(rt_alive(t));
}

Test(monitor, an_actor_already_gone_gives_noproc) {
  probe_cmd(t, PROBE_STOP, 0, 0);
  cr_assert(rt_wait_dead(t, PROBE_WAIT_MS));
  long long ref = monitor(t);
  expect_down(ref, t, MOLT_EXIT_NOPROC);
}

Test(monitor, a_pid_that_never_existed_gives_noproc) {
  molt_pid_t never = MOLT__PID(1u << 29, 1);
  long long ref = monitor(never);
  expect_down(ref, never, MOLT_EXIT_NOPROC);
}

Test(monitor, each_monitor_gets_its_own_down) {
  long long r1 = monitor(t);
  long long r2 = monitor(t);
  cr_assert_neq(r1, r2);
  probe_cmd(t, PROBE_CRASH, MOLT_EIO, 0);
  probe_expect("w DOWN", 2);
  long long d1 = probe_nth_value("w DOWN", 1, "ref"), d2 = probe_nth_value("w DOWN", 2, "ref");
  cr_assert((d1 == r1 && d2 == r2) || (d1 == r2 && d2 == r1), "%s", rt_notes());
}

Test(monitor, demonitor_prevents_the_down) {
  long long ref = monitor(t);
  cr_assert_eq(probe_call(w, "w", "demonitor", PROBE_DEMONITOR, ref, 0), 0);
  probe_cmd(t, PROBE_CRASH, MOLT_EIO, 0);
  settle_after_t();
  cr_assert_eq(rt_count("w DOWN"), 0, "%s", rt_notes());
}

Test(monitor, demonitor_of_an_unknown_ref_is_harmless) {
  cr_assert_eq(probe_call(w, "w", "demonitor", PROBE_DEMONITOR, 12345, 0), 0);
}

/* Holding a scheduler: a task that waits on a semaphore, so that several
 * things can land in a mailbox before its actor handles any of them. */
static sem_t held, release;

static void hold_here(void* arg) {
  sem_post(&held);
  sem_wait(&release);
}

static void hold_sched_of(molt_pid_t pid) {
  sem_init(&held, 0, 0);
  sem_init(&release, 0, 0);
  cr_assert_eq(molt__sched_post(molt__actor_slot(pid)->sched, hold_here, NULL), 0);
  sem_wait(&held);
}

Test(monitor, demonitor_drops_a_down_already_queued_behind_it) {
  long long ref = monitor(t);
  hold_sched_of(w);
  probe_cmd(w, PROBE_DEMONITOR, ref, 0);
  cr_assert_eq(molt__runtime_exit(t, MOLT_EXIT_KILL), 0);
  cr_assert(rt_wait_dead(t, PROBE_WAIT_MS)); /* its DOWN is in w's mailbox now */
  sem_post(&release);
  probe_barrier(w);
  cr_assert_eq(rt_count("w DOWN"), 0, "%s", rt_notes());
}

/* The number of watchers t's slot records, read on t's scheduler. */
typedef struct {
  molt_pid_t pid;
  uint32_t n;
} watchers_arg;

static void count_watchers(void* p) {
  watchers_arg* arg = p;
  molt_actor_t* a = molt__actor_slot(arg->pid);
  arg->n = a->ext ? a->ext->watchers.n : 0;
}

static uint32_t watchers_of(molt_pid_t pid) {
  watchers_arg arg = {pid, 0};
  cr_assert_eq(molt__sched_call(molt__actor_slot(pid)->sched, count_watchers, &arg), 0);
  return arg.n;
}

Test(monitor, demonitor_and_watcher_exit_clear_the_targets_record) {
  long long r1 = monitor(t);
  monitor(t);
  probe_barrier(t); /* t has handled both monitor requests */
  cr_assert_eq(watchers_of(t), 2);
  cr_assert_eq(probe_call(w, "w", "demonitor", PROBE_DEMONITOR, r1, 0), 0);
  probe_barrier(t);
  cr_assert_eq(watchers_of(t), 1);
  probe_cmd(w, PROBE_STOP, 0, 0);
  cr_assert(rt_wait_dead(w, PROBE_WAIT_MS));
  probe_barrier(t);
  cr_assert_eq(watchers_of(t), 0, "a dead watcher is still recorded");
}

Test(monitor, api_outside_an_actor_is_eperm) {
  uint64_t ref = 0;
  cr_assert_eq(molt_monitor(t, &ref), MOLT_EPERM);
  cr_assert_eq(molt_demonitor(1), MOLT_EPERM);
}
