/* hooks_test.c: the hooks a room above attaches to the actor core
 * (runtime/actor/hooks.c): what registration refuses, a room's message
 * kinds reaching its redirect and done hooks around the handler, the exit
 * hook with the room's per-actor slot, and the scheduler and runtime stop
 * hooks. TCP uses all of them; these tests use none of TCP. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "actor.h"
#include "hooks.h"
#include "message.h"
#include "probe.h"
#include "rt.h"
#include "runtime.h"

/* MOLT_MSG_TIMEOUT is a kind no room claims (timers send USER messages). */
#define KIND MOLT_MSG_TIMEOUT
#define TAKEN_TAG 1u

static bool redirect(molt_actor_t* a, molt__msg_t* m) {
  rt_note("redirect tag=%u alive=%d", m->pub.tag, a != NULL);
  if (m->pub.tag != TAKEN_TAG) return false;
  molt__msg_free(m);
  return true;
}

static void done(const molt__msg_t* m) { rt_note("done tag=%u", m->pub.tag); }

static molt__hooks_t kinds_room = {.name = "test", .kind_first = KIND, .kind_last = KIND,
                                   .redirect = redirect, .done = done};

static int hooked_init(const molt_args_t* args, void** state) {
  if (!(*state = molt_alloc(1))) return MOLT_ENOMEM;
  /* A name gives the actor its extension record, where rooms keep what
   * they track per actor: the exit hook runs for such actors. */
  int rc = molt_register(molt_args_str(args, "name", "hooked"));
  if (rc) molt_free(*state);
  return rc;
}

static int hooked_handle(void* state, const molt_msg_t* msg) {
  rt_note("handled kind=%u tag=%u", msg->kind, msg->tag);
  return MOLT_OK;
}

static const molt_module_t hooked_module = PROBE_TEST_MODULE("hooked", hooked_init, hooked_handle);

static void deliver(molt_pid_t to, uint32_t kind, uint32_t tag) {
  molt__msg_t* m = molt__msg_new(kind, tag, NULL, 0);
  cr_assert(m);
  cr_assert_eq(molt__deliver(to, m), 0);
}

Test(hooks, registration_refuses_bad_kinds_claimed_kinds_and_a_running_runtime, .timeout = 20) {
  static molt__hooks_t user = {.name = "user", .kind_first = MOLT_MSG_USER, .kind_last = MOLT_MSG_USER,
                               .done = done};
  static molt__hooks_t wide = {.name = "wide", .kind_first = KIND, .kind_last = MOLT__HOOK_KINDS,
                               .done = done};
  static molt__hooks_t overlap = {.name = "overlap", .kind_first = KIND - 1, .kind_last = KIND,
                                  .done = done};
  static molt__hooks_t late = {.name = "late"};
  cr_assert_eq(molt__hooks_register(&user), MOLT_EINVAL, "USER messages belong to modules");
  cr_assert_eq(molt__hooks_register(&wide), MOLT_EINVAL);
  cr_assert_eq(molt__hooks_register(&kinds_room), 0);
  cr_assert_eq(molt__hooks_register(&kinds_room), 0, "registering again is a no-op");
  cr_assert_eq(molt__hooks_register(&overlap), MOLT_EEXIST);
  rt_setup(1);
  cr_assert_eq(molt__hooks_register(&late), MOLT_EBUSY, "hooks change only while stopped");
  rt_teardown();
  cr_assert_eq(molt__hooks_register(&late), 0);
}

Test(hooks, a_rooms_kinds_pass_its_redirect_and_done_around_the_handler, .timeout = 20) {
  cr_assert_eq(molt__hooks_register(&kinds_room), 0);
  rt_setup(1);
  rt_install(&hooked_module);
  molt_pid_t p = rt_spawn("hooked", NULL);
  deliver(p, KIND, TAKEN_TAG);
  deliver(p, KIND, 2);
  deliver(p, MOLT_MSG_USER, 3);
  probe_barrier(p);
  cr_assert_eq(rt_count("redirect tag=1 alive=1"), 1, "%s", rt_notes());
  cr_assert_eq(rt_count("handled kind=3 tag=1"), 0, "taken by its room: %s", rt_notes());
  cr_assert_eq(rt_count("done tag=1"), 0, "%s", rt_notes());
  /* Not taken: redirect, then the handler, then done. */
  cr_assert_eq(rt_count("redirect tag=2"), 1, "%s", rt_notes());
  cr_assert_eq(rt_count("handled kind=3 tag=2"), 1, "%s", rt_notes());
  cr_assert_eq(rt_count("done tag=2"), 1, "%s", rt_notes());
  const char* log = rt_notes();
  cr_assert(strstr(log, "redirect tag=2") < strstr(log, "handled kind=3 tag=2") &&
                strstr(log, "handled kind=3 tag=2") < strstr(log, "done tag=2"),
            "%s", log);
  /* A USER message is no room's. */
  cr_assert_eq(rt_count("handled kind=0 tag=3"), 1, "%s", rt_notes());
  cr_assert_eq(rt_count("tag=3 alive"), 0, "%s", rt_notes());
  cr_assert_eq(rt_count("done tag=3"), 0, "%s", rt_notes());
  rt_teardown();
}

static molt__hooks_t exit_room;
static atomic_int sched_stops, runtime_stops;

static void on_exit_hook(molt_actor_t* a, molt_pid_t pid) {
  /* The room's slot is its own: what it put there comes back here. */
  void* mine = a->ext->hooked[exit_room.slot];
  rt_note("exit pid=%llu slot=%s", (unsigned long long)pid, mine == &exit_room ? "mine" : "empty");
  a->ext->hooked[exit_room.slot] = NULL;
}

static void on_sched_stop(struct molt_sched* s) { atomic_fetch_add(&sched_stops, 1); }
static void on_runtime_stop(void) { atomic_fetch_add(&runtime_stops, 1); }

static void keep_in_slot(molt_actor_t* a, void* arg) {
  if (a) molt__actor_ext(a)->hooked[exit_room.slot] = &exit_room;
  rt_note("kept");
}

static molt__hooks_t exit_room = {.name = "exits", .actor_exit = on_exit_hook,
                                  .sched_stop = on_sched_stop, .runtime_stop = on_runtime_stop};

Test(hooks, exit_and_stop_hooks_run_with_the_rooms_own_slot, .timeout = 20) {
  cr_assert_eq(molt__hooks_register(&exit_room), 0);
  rt_setup(2);
  rt_install(&hooked_module);
  molt_pid_t p = rt_spawn("hooked", "{\"name\":\"p\"}");
  molt_pid_t q = rt_spawn("hooked", "{\"name\":\"q\"}");
  molt__msg_t* m = molt__msg_call(keep_in_slot, NULL);
  cr_assert(m);
  cr_assert_eq(molt__deliver(p, m), 0);
  cr_assert(rt_wait_count("kept", 1, PROBE_WAIT_MS));
  cr_assert_eq(molt__runtime_exit(p, MOLT_EXIT_SHUTDOWN), 0);
  cr_assert_eq(molt__runtime_exit(q, MOLT_EXIT_SHUTDOWN), 0);
  cr_assert(rt_wait_dead(p, PROBE_WAIT_MS) && rt_wait_dead(q, PROBE_WAIT_MS));
  char want[64];
  snprintf(want, sizeof(want), "exit pid=%llu slot=mine", (unsigned long long)p);
  cr_assert_eq(rt_count(want), 1, "%s", rt_notes());
  snprintf(want, sizeof(want), "exit pid=%llu slot=empty", (unsigned long long)q);
  cr_assert_eq(rt_count(want), 1, "%s", rt_notes());
  cr_assert_eq(atomic_load(&sched_stops), 0);
  rt_teardown();
  cr_assert_eq(atomic_load(&sched_stops), 2, "once per scheduler");
  cr_assert_eq(atomic_load(&runtime_stops), 1);
}
