/* supervisor_test.c: supervisors (runtime/supervisor.c): which children
 * each strategy restarts and in what order, restart types, restart
 * intensity, orderly shutdown, failed starts, nesting and counted
 * children. Workers are registered probes, so a restart shows as a new pid
 * under the same name and its notes show the order. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "actor.h"
#include "code_server.h"
#include "probe.h"
#include "rt.h"
#include "runtime.h"
#include "supervisor.h"


#define MAX_KIDS 6

/* A supervisor spec with room for its children and their args. */
typedef struct {
  molt_sup_spec_t spec;
  molt_child_spec_t kids[MAX_KIDS];
  char ids[MAX_KIDS][16];
  char args[MAX_KIDS][160];
} sup_t;

static sup_t top, sub;

TestSuite(supervisor, .init = probe_setup2, .fini = rt_teardown, .timeout = 30);

static void sup_spec(sup_t* s, molt_strategy_t strategy, uint32_t intensity, uint32_t period_ms) {
  memset(s, 0, sizeof(*s));
  s->spec.strategy = strategy;
  s->spec.intensity = intensity;
  s->spec.period_ms = period_ms;
  s->spec.children = s->kids;
}

static molt_child_spec_t* add(sup_t* s, const char* id) {
  cr_assert_lt(s->spec.nchildren, MAX_KIDS);
  size_t i = s->spec.nchildren++;
  molt_child_spec_t* c = &s->kids[i];
  snprintf(s->ids[i], sizeof(s->ids[i]), "%s", id);
  c->id = s->ids[i];
  c->restart = MOLT_PERMANENT;
  c->shutdown_ms = 5000;
  c->count = 1;
  return c;
}

/* A probe worker registered under id; extra as for probe_start. */
static molt_child_spec_t* worker(sup_t* s, const char* id, molt_restart_t restart, const char* extra) {
  molt_child_spec_t* c = add(s, id);
  char* args = s->args[c - s->kids];
  snprintf(args, sizeof(s->args[0]), "{\"id\":\"%s\",\"register\":1%s}", id, extra);
  c->module = "probe";
  c->args_json = args;
  c->restart = restart;
  return c;
}

/* Permanent workers, one per space-separated id. */
static void permanent_workers(sup_t* s, const char* ids) {
  char copy[64], *save = NULL;
  snprintf(copy, sizeof(copy), "%s", ids);
  for (char* id = strtok_r(copy, " ", &save); id; id = strtok_r(NULL, " ", &save))
    worker(s, id, MOLT_PERMANENT, "");
}

static molt_pid_t start(sup_t* s) {
  char err[512] = "";
  molt_pid_t pid = MOLT_PID_NONE;
  int rc = molt__supervisor_start(&s->spec, &pid, err, sizeof(err));
  cr_assert_eq(rc, 0, "%s: %s", molt_err_name(rc), err);
  return pid;
}

static molt_pid_t pid_of(const char* id) {
  molt_pid_t pid = molt_whereis(id);
  cr_assert_neq(pid, MOLT_PID_NONE, "%s is not running; notes:\n%s", id, rt_notes());
  return pid;
}

/* Crash a registered worker and wait for its nth start. */
static molt_pid_t crash_and_await_restart(const char* id, int nth_start) {
  molt_pid_t old = pid_of(id);
  probe_cmd(old, PROBE_CRASH, MOLT_EIO, 0);
  char needle[64];
  snprintf(needle, sizeof(needle), "%s init pid=", id);
  probe_expect(needle, nth_start);
  molt_pid_t now = pid_of(id);
  cr_assert_neq(now, old);
  cr_assert_eq(probe_value(needle, "pid"), (long long)now);
  return now;
}

/* The notes come in this order: pairs of (needle, which occurrence),
 * ended by NULL. */
static void assert_order(const char* needle, int nth, ...) {
  va_list ap;
  va_start(ap, nth);
  long prev = probe_pos(needle, nth);
  cr_assert_geq(prev, 0, "no \"%s\" #%d:\n%s", needle, nth, rt_notes());
  const char* next;
  while ((next = va_arg(ap, const char*)) != NULL) {
    int n = va_arg(ap, int);
    long pos = probe_pos(next, n);
    cr_assert_gt(pos, prev, "expected \"%s\" #%d after \"%s\" #%d:\n%s", next, n, needle, nth, rt_notes());
    needle = next;
    nth = n;
    prev = pos;
  }
  va_end(ap);
}

Test(supervisor, one_for_one_restarts_only_the_crashed_child) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 3, 5000);
  permanent_workers(&top, "a b c");
  molt_pid_t sup = start(&top);
  assert_order("a init", 1, "b init", 1, "c init", 1, NULL);
  molt_pid_t a = pid_of("a"), c = pid_of("c");
  crash_and_await_restart("b", 2);
  cr_assert_eq(pid_of("a"), a);
  cr_assert_eq(pid_of("c"), c);
  cr_assert_eq(rt_count("a terminate") + rt_count("c terminate"), 0, "%s", rt_notes());
  cr_assert_eq(probe_value("b terminate", "reason"), MOLT_EIO);
  cr_assert(rt_alive(sup));
}

Test(supervisor, one_for_all_restarts_every_child_in_order) {
  sup_spec(&top, MOLT_ONE_FOR_ALL, 3, 5000);
  permanent_workers(&top, "a b c");
  start(&top);
  molt_pid_t a = pid_of("a"), c = pid_of("c");
  crash_and_await_restart("b", 2);
  probe_expect("c init", 2);
  cr_assert_neq(pid_of("a"), a);
  cr_assert_neq(pid_of("c"), c);
  /* The others stop last-started first, with shutdown; then all start in order. */
  cr_assert_eq(probe_value("c terminate", "reason"), MOLT_EXIT_SHUTDOWN);
  cr_assert_eq(probe_value("a terminate", "reason"), MOLT_EXIT_SHUTDOWN);
  assert_order("c terminate", 1, "a terminate", 1, "a init", 2, "b init", 2, "c init", 2, NULL);
}

Test(supervisor, rest_for_one_restarts_the_crashed_child_and_those_after_it) {
  sup_spec(&top, MOLT_REST_FOR_ONE, 3, 5000);
  permanent_workers(&top, "a b c d");
  start(&top);
  molt_pid_t a = pid_of("a"), c = pid_of("c"), d = pid_of("d");
  crash_and_await_restart("b", 2);
  probe_expect("d init", 2);
  cr_assert_eq(pid_of("a"), a);
  cr_assert_neq(pid_of("c"), c);
  cr_assert_neq(pid_of("d"), d);
  cr_assert_eq(rt_count("a terminate"), 0);
  assert_order("d terminate reason=1", 1, "c terminate reason=1", 1, "b init", 2, "c init", 2, "d init", 2,
               NULL);
}

Test(supervisor, permanent_child_restarts_after_a_normal_exit) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 3, 5000);
  worker(&top, "p", MOLT_PERMANENT, "");
  start(&top);
  probe_cmd(pid_of("p"), PROBE_STOP, 0, 0);
  probe_expect("p init", 2);
}

Test(supervisor, transient_child_restarts_only_after_an_abnormal_exit) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 5, 5000);
  worker(&top, "tn", MOLT_TRANSIENT, "");
  worker(&top, "ts", MOLT_TRANSIENT, "");
  worker(&top, "tc", MOLT_TRANSIENT, "");
  molt_pid_t sup = start(&top);
  molt_pid_t tn = pid_of("tn"), ts = pid_of("ts");
  probe_cmd(tn, PROBE_STOP, 0, 0);
  cr_assert_eq(molt__runtime_exit(ts, MOLT_EXIT_SHUTDOWN), 0);
  cr_assert(rt_wait_dead(tn, PROBE_WAIT_MS) && rt_wait_dead(ts, PROBE_WAIT_MS));
  crash_and_await_restart("tc", 2);
  probe_barrier(sup);
  cr_assert_eq(rt_count("tn init"), 1, "%s", rt_notes());
  cr_assert_eq(rt_count("ts init"), 1, "%s", rt_notes());
}

/* one_for_one restarts the child that exited and nothing else, whatever
 * state its siblings are in. */
Test(supervisor, one_for_one_leaves_a_transient_sibling_that_ended_normally) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 5, 5000);
  worker(&top, "p", MOLT_PERMANENT, "");
  worker(&top, "t", MOLT_TRANSIENT, "");
  start(&top);
  molt_pid_t t = pid_of("t");
  probe_cmd(t, PROBE_STOP, 0, 0);
  cr_assert(rt_wait_dead(t, PROBE_WAIT_MS));
  crash_and_await_restart("p", 2);
  cr_assert_eq(rt_count("t init"), 1, "restarting p restarted t:\n%s", rt_notes());
}

Test(supervisor, temporary_child_is_never_restarted) {
  sup_spec(&top, MOLT_ONE_FOR_ALL, 3, 5000);
  worker(&top, "p", MOLT_PERMANENT, "");
  worker(&top, "t", MOLT_TEMPORARY, "");
  molt_pid_t sup = start(&top);
  molt_pid_t t = pid_of("t");
  probe_cmd(t, PROBE_CRASH, MOLT_EIO, 0);
  cr_assert(rt_wait_dead(t, PROBE_WAIT_MS));
  probe_barrier(sup);
  /* Its exit restarts nobody, even under one_for_all... */
  cr_assert_eq(rt_count("p terminate"), 0, "%s", rt_notes());
  /* ...and a restart of everything leaves it out. */
  crash_and_await_restart("p", 2);
  probe_barrier(sup);
  cr_assert_eq(rt_count("t init"), 1, "%s", rt_notes());
}

Test(supervisor, exceeding_the_intensity_stops_every_child_and_the_supervisor) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 2, 60000);
  permanent_workers(&top, "a b");
  molt_pid_t sup = start(&top);
  crash_and_await_restart("a", 2);
  crash_and_await_restart("a", 3);
  probe_cmd(pid_of("a"), PROBE_CRASH, MOLT_EIO, 0); /* the third restart in the period */
  cr_assert(rt_wait_dead(sup, PROBE_WAIT_MS), "the supervisor kept going:\n%s", rt_notes());
  cr_assert_eq(rt_count("a init"), 3, "%s", rt_notes());
  cr_assert_eq(probe_value("b terminate", "reason"), MOLT_EXIT_SHUTDOWN);
  cr_assert_eq(molt__actor_count(), 0);
  cr_assert_eq(molt_whereis("a"), MOLT_PID_NONE);
  cr_assert_eq(molt_whereis("b"), MOLT_PID_NONE);
}

Test(supervisor, restarts_older_than_the_period_do_not_count) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 1, 100);
  worker(&top, "a", MOLT_PERMANENT, "");
  molt_pid_t sup = start(&top);
  crash_and_await_restart("a", 2);
  usleep(150 * 1000); /* the first restart leaves the period */
  crash_and_await_restart("a", 3);
  cr_assert(rt_alive(sup));
}

Test(supervisor, the_supervisor_exit_reason_reaches_a_monitor) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 0, 60000);
  worker(&top, "a", MOLT_PERMANENT, "");
  molt_pid_t sup = start(&top);
  molt_pid_t w = probe_start("w", "");
  probe_cmd(w, PROBE_MONITOR, (int64_t)sup, 0);
  probe_expect("w monitor", 1);
  probe_cmd(pid_of("a"), PROBE_CRASH, MOLT_EIO, 0); /* intensity 0: gives up at once */
  probe_expect_value("w DOWN", "reason", MOLT_EXIT_SHUTDOWN);
}

/* What a watched supervisor said when it exited, copied on its scheduler
 * thread; calls counts the calls. */
static struct {
  char name[32], child[32];
  int reason, child_reason;
  bool gave_up, restart_failed;
  uint32_t restarts, period_ms;
  atomic_int calls;
} heard;

static void heard_exit(const molt_sup_exit_t* why, void* data) {
  snprintf(heard.name, sizeof(heard.name), "%s", why->name);
  snprintf(heard.child, sizeof(heard.child), "%s", why->child ? why->child : "(none)");
  heard.reason = why->reason;
  heard.child_reason = why->child_reason;
  heard.gave_up = why->gave_up;
  heard.restart_failed = why->restart_failed;
  heard.restarts = why->restarts;
  heard.period_ms = why->period_ms;
  atomic_fetch_add(&heard.calls, 1);
  cr_assert_eq(data, &heard);
}

static molt_pid_t start_watched(sup_t* s) {
  char err[512] = "";
  molt_pid_t pid = MOLT_PID_NONE;
  int rc = molt__supervisor_start_watched(&s->spec, heard_exit, &heard, &pid, err, sizeof(err));
  cr_assert_eq(rc, 0, "%s: %s", molt_err_name(rc), err);
  return pid;
}

Test(supervisor, a_watched_supervisor_that_gives_up_says_which_child_and_why) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 2, 60000);
  top.spec.name = "top";
  permanent_workers(&top, "a b");
  molt_pid_t sup = start_watched(&top);
  crash_and_await_restart("a", 2);
  crash_and_await_restart("a", 3);
  cr_assert_eq(atomic_load(&heard.calls), 0, "told before it exited");
  probe_cmd(pid_of("a"), PROBE_CRASH, MOLT_EIO, 0);
  cr_assert(rt_wait_dead(sup, PROBE_WAIT_MS), "the supervisor kept going:\n%s", rt_notes());
  cr_assert_eq(atomic_load(&heard.calls), 1);
  cr_assert_str_eq(heard.name, "top");
  cr_assert(heard.gave_up);
  cr_assert_not(heard.restart_failed);
  cr_assert_str_eq(heard.child, "a");
  cr_assert_eq(heard.child_reason, MOLT_EIO);
  cr_assert_eq(heard.reason, MOLT_EXIT_SHUTDOWN);
  cr_assert_eq(heard.restarts, 2);
  cr_assert_eq(heard.period_ms, 60000);
  /* Told after its children stopped. */
  cr_assert_eq(probe_value("b terminate", "reason"), MOLT_EXIT_SHUTDOWN);
}

/* Its module gone, the child cannot restart: the failed restart is the one
 * too many, and its error the reason given. */
Test(supervisor, a_watched_supervisor_whose_restart_fails_gives_the_start_error) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 1, 60000);
  worker(&top, "a", MOLT_PERMANENT, "");
  molt_pid_t sup = start_watched(&top);
  cr_assert_eq(molt__code_delete("probe", NULL, 0), 0);
  probe_cmd(pid_of("a"), PROBE_CRASH, MOLT_EIO, 0);
  cr_assert(rt_wait_dead(sup, PROBE_WAIT_MS), "the supervisor kept going:\n%s", rt_notes());
  cr_assert_eq(atomic_load(&heard.calls), 1);
  cr_assert_str_eq(heard.name, "supervisor");
  cr_assert(heard.gave_up);
  cr_assert(heard.restart_failed);
  cr_assert_str_eq(heard.child, "a");
  cr_assert_eq(heard.child_reason, MOLT_ENOMODULE);
  cr_assert_eq(heard.restarts, 1);
}

Test(supervisor, a_watched_supervisor_stopped_has_not_given_up) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 3, 5000);
  permanent_workers(&top, "a");
  molt_pid_t sup = start_watched(&top);
  cr_assert_eq(molt__supervisor_stop(sup, 5000), 0);
  cr_assert_eq(atomic_load(&heard.calls), 1);
  cr_assert_not(heard.gave_up);
  cr_assert_eq(heard.reason, MOLT_EXIT_SHUTDOWN);
  cr_assert_str_eq(heard.child, "(none)");
}

Test(supervisor, exit_reasons_in_words) {
  char b[64];
  cr_assert_str_eq(molt__sup_exit_reason_str(MOLT_EXIT_NORMAL, b, sizeof(b)), "normal");
  cr_assert_str_eq(molt__sup_exit_reason_str(MOLT_EXIT_SHUTDOWN, b, sizeof(b)), "shutdown");
  cr_assert_str_eq(molt__sup_exit_reason_str(MOLT_EXIT_KILLED, b, sizeof(b)), "killed");
  cr_assert_str_eq(molt__sup_exit_reason_str(MOLT_EXIT_PURGED, b, sizeof(b)), "purged");
  cr_assert_str_eq(molt__sup_exit_reason_str(MOLT_EIO, b, sizeof(b)), "EIO (i/o error)");
  cr_assert_str_eq(molt__sup_exit_reason_str(77, b, sizeof(b)), "reason 77");
}

Test(supervisor, stop_terminates_children_in_reverse_start_order) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 3, 5000);
  permanent_workers(&top, "a b c");
  molt_pid_t sup = start(&top);
  cr_assert_eq(molt__supervisor_stop(sup, 5000), 0);
  cr_assert_eq(rt_count("terminate reason=1\n"), 3, "%s", rt_notes());
  assert_order("c terminate", 1, "b terminate", 1, "a terminate", 1, NULL);
  cr_assert_eq(molt__actor_count(), 0);
}

Test(supervisor, stop_kills_a_child_that_ignores_shutdown_after_its_grace) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 3, 5000);
  worker(&top, "a", MOLT_PERMANENT, "");
  worker(&top, "stubborn", MOLT_PERMANENT, ",\"trap\":1")->shutdown_ms = 100;
  molt_pid_t sup = start(&top);
  cr_assert_eq(molt__supervisor_stop(sup, 5000), 0);
  cr_assert_eq(probe_value("stubborn EXIT", "reason"), MOLT_EXIT_SHUTDOWN);
  cr_assert_eq(rt_count("stubborn terminate"), 0, "killed: no terminate");
  cr_assert_eq(probe_value("a terminate", "reason"), MOLT_EXIT_SHUTDOWN);
  cr_assert_eq(molt__actor_count(), 0);
}

Test(supervisor, brutal_kill_child_stops_without_terminate) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 3, 5000);
  worker(&top, "brutal", MOLT_PERMANENT, "")->shutdown_ms = 0;
  molt_pid_t sup = start(&top);
  cr_assert_eq(molt__supervisor_stop(sup, 5000), 0);
  cr_assert_eq(rt_count("brutal terminate"), 0);
  cr_assert_eq(molt__actor_count(), 0);
}

static bool no_actors(void* unused) { return molt__actor_count() == 0; }

Test(supervisor, a_failing_child_init_fails_the_start_and_names_the_child) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 3, 5000);
  permanent_workers(&top, "a b");
  worker(&top, "bad", MOLT_PERMANENT, ",\"fail\":1");
  worker(&top, "c", MOLT_PERMANENT, "");
  char err[512] = "";
  molt_pid_t pid = MOLT_PID_NONE;
  int rc = molt__supervisor_start(&top.spec, &pid, err, sizeof(err));
  cr_assert_eq(rc, MOLT_EINVAL, "%s: %s", molt_err_name(rc), err);
  cr_assert_eq(pid, MOLT_PID_NONE);
  cr_assert(strstr(err, "child bad (probe)") && strstr(err, molt_strerror(MOLT_EINVAL)), "%s", err);
  /* The siblings already started go with the supervisor; later ones never start. */
  probe_expect("a terminate", 1);
  probe_expect("b terminate", 1);
  cr_assert_eq(rt_count("c init"), 0);
  cr_assert(rt_wait(no_actors, NULL, PROBE_WAIT_MS), "%lu actors left", molt__actor_count());
}

Test(supervisor, a_child_of_an_unknown_module_fails_the_start) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 3, 5000);
  add(&top, "ghost")->module = "nosuchmodule";
  char err[512] = "";
  molt_pid_t pid = MOLT_PID_NONE;
  cr_assert_eq(molt__supervisor_start(&top.spec, &pid, err, sizeof(err)), MOLT_ENOMODULE);
  cr_assert(strstr(err, "child ghost (nosuchmodule)"), "%s", err);
  cr_assert(rt_wait(no_actors, NULL, PROBE_WAIT_MS));
}

/* A sibling that traps exits must not outlive the supervisor that failed
 * to start: nobody would ever stop it. */
Test(supervisor, a_failed_start_also_stops_siblings_that_trap_exits) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 3, 5000);
  worker(&top, "trapper", MOLT_PERMANENT, ",\"trap\":1");
  worker(&top, "bad", MOLT_PERMANENT, ",\"fail\":1");
  molt_pid_t pid = MOLT_PID_NONE;
  cr_assert_eq(molt__supervisor_start(&top.spec, &pid, NULL, 0), MOLT_EINVAL);
  molt_pid_t trapper = (molt_pid_t)probe_value("trapper init", "pid");
  cr_assert(rt_wait_dead(trapper, 2000), "the trapping sibling survived its supervisor:\n%s", rt_notes());
}

Test(supervisor, registers_its_name_once) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 3, 5000);
  top.spec.name = "top";
  worker(&top, "a", MOLT_PERMANENT, "");
  molt_pid_t sup = start(&top);
  cr_assert_eq(molt_whereis("top"), sup);
  sup_spec(&sub, MOLT_ONE_FOR_ONE, 3, 5000);
  sub.spec.name = "top";
  char err[512] = "";
  molt_pid_t pid = MOLT_PID_NONE;
  cr_assert_eq(molt__supervisor_start(&sub.spec, &pid, err, sizeof(err)), MOLT_EEXIST);
  cr_assert(strstr(err, "supervisor name top"), "%s", err);
  cr_assert_eq(molt_whereis("top"), sup);
}

static void nest(void) {
  sup_spec(&sub, MOLT_ONE_FOR_ONE, 0, 60000); /* gives up at the first crash */
  sub.spec.name = "sub";
  worker(&sub, "b", MOLT_PERMANENT, "");
  sup_spec(&top, MOLT_ONE_FOR_ONE, 3, 5000);
  worker(&top, "a", MOLT_PERMANENT, "");
  add(&top, "sub")->sup = &sub.spec;
}

Test(supervisor, nested_supervisor_stops_depth_first_in_reverse_order) {
  nest();
  molt_pid_t sup = start(&top);
  assert_order("a init", 1, "b init", 1, NULL);
  cr_assert_eq(molt__actor_count(), 4);
  cr_assert_eq(molt__supervisor_stop(sup, 5000), 0);
  assert_order("b terminate reason=1", 1, "a terminate reason=1", 1, NULL);
  cr_assert_eq(molt__actor_count(), 0);
}

Test(supervisor, nested_supervisor_that_gives_up_is_restarted_by_its_parent) {
  nest();
  start(&top);
  molt_pid_t a = pid_of("a"), s = pid_of("sub");
  crash_and_await_restart("b", 2);
  cr_assert_neq(pid_of("sub"), s, "the nested supervisor was not restarted");
  cr_assert_eq(pid_of("a"), a, "one_for_one: a is not touched");
}

Test(supervisor, nested_failing_start_names_the_path) {
  sup_spec(&sub, MOLT_ONE_FOR_ONE, 3, 5000);
  worker(&sub, "bad", MOLT_PERMANENT, ",\"fail\":1");
  sup_spec(&top, MOLT_ONE_FOR_ONE, 3, 5000);
  worker(&top, "a", MOLT_PERMANENT, "");
  add(&top, "inner")->sup = &sub.spec;
  char err[512] = "";
  molt_pid_t pid = MOLT_PID_NONE;
  cr_assert_neq(molt__supervisor_start(&top.spec, &pid, err, sizeof(err)), 0);
  cr_assert(strstr(err, "inner") && strstr(err, "bad"), "%s", err);
  probe_expect("a terminate", 1);
}

Test(supervisor, counted_children_start_and_restart_one_by_one) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 3, 5000);
  molt_child_spec_t* c = add(&top, "w");
  c->module = "probe";
  c->args_json = "{\"id\":\"w\"}"; /* the same args for all three: no name */
  c->count = 3;
  molt_pid_t sup = start(&top);
  probe_expect("w init", 3);
  molt_pid_t w[3];
  for (int i = 0; i < 3; i++) w[i] = (molt_pid_t)probe_nth_value("w init", i + 1, "pid");
  probe_cmd(w[1], PROBE_CRASH, MOLT_EIO, 0);
  probe_expect("w init", 4);
  cr_assert(rt_alive(w[0]) && rt_alive(w[2]));
  cr_assert_not(rt_alive(w[1]));
  cr_assert_eq(molt__supervisor_stop(sup, 5000), 0);
  cr_assert_eq(rt_count("w terminate reason=1\n"), 3, "%s", rt_notes());
}

/* ---- changing a running supervisor's children (a release upgrade) */

static sup_t next;

Test(supervisor, update_keeps_matching_children_starts_new_ones_and_stops_dropped_ones) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 3, 5000);
  permanent_workers(&top, "a b c");
  molt_pid_t sup = start(&top);
  molt_pid_t a = pid_of("a"), c = pid_of("c");
  sup_spec(&next, MOLT_ONE_FOR_ONE, 3, 5000);
  permanent_workers(&next, "a c d");
  char err[512] = "";
  cr_assert_eq(molt__supervisor_update(sup, &next.spec, err, sizeof(err)), 0, "%s", err);
  probe_expect("d init pid=", 1);
  probe_expect("b terminate reason=1", 1);
  cr_expect_eq(pid_of("a"), a);
  cr_expect_eq(pid_of("c"), c);
  cr_expect(rt_alive(sup));
  /* The new spec governs restarts: d restarts, b is gone for good. */
  crash_and_await_restart("d", 2);
  cr_expect_eq(molt_whereis("b"), MOLT_PID_NONE);
  /* And an orderly stop takes the new children down in their new order. */
  cr_assert_eq(molt__supervisor_stop(sup, 5000), 0);
  assert_order("d terminate", 1, "c terminate", 1, "a terminate", 1, NULL);
}

Test(supervisor, an_update_whose_new_child_fails_changes_nothing) {
  sup_spec(&top, MOLT_ONE_FOR_ONE, 3, 5000);
  permanent_workers(&top, "a b");
  molt_pid_t sup = start(&top);
  molt_pid_t a = pid_of("a"), b = pid_of("b");
  sup_spec(&next, MOLT_ONE_FOR_ONE, 3, 5000);
  permanent_workers(&next, "a x");
  worker(&next, "y", MOLT_PERMANENT, ",\"fail\":1");
  char err[512] = "";
  int rc = molt__supervisor_update(sup, &next.spec, err, sizeof(err));
  cr_expect_eq(rc, MOLT_EINVAL, "%s", molt_strerror(rc));
  cr_expect(strstr(err, "child y"), "%s", err);
  probe_expect("x terminate", 1); /* started by the update, stopped again */
  cr_expect_eq(pid_of("a"), a);
  cr_expect_eq(pid_of("b"), b);
  cr_expect_eq(rt_count("b terminate"), 0);
  cr_expect(rt_alive(sup));
  crash_and_await_restart("b", 2); /* still under the old spec */
}

Test(supervisor, update_of_a_dead_pid_fails_cleanly) {
  sup_spec(&next, MOLT_ONE_FOR_ONE, 3, 5000);
  char err[512] = "";
  cr_expect_eq(molt__supervisor_update(MOLT__PID(1u << 20, 1), &next.spec, err, sizeof(err)), MOLT_ESRCH);
}
