/* registry_test.c: registered names (runtime/registry.c): register,
 * whereis and unregister, one actor per name and one name per actor, names
 * released when their actor exits, molt_send_named, and names refused. */
#include <criterion/criterion.h>
#include <string.h>

#include "actor.h"
#include "probe.h"
#include "rt.h"
#include "runtime.h"


TestSuite(registry, .init = probe_setup2, .fini = rt_teardown, .timeout = 20);

/* p tries cmd (PROBE_REGISTER or PROBE_UNREGISTER) with name; returns rc. */
static long long attempt(molt_pid_t p, const char* id, uint32_t cmd, const char* name) {
  return probe_call_str(p, id, cmd == PROBE_REGISTER ? "register" : "unregister", cmd, name);
}

Test(registry, register_whereis_unregister) {
  molt_pid_t p = rt_spawn("probe", "{\"id\":\"p\"}");
  cr_assert_eq(molt_whereis("svc"), MOLT_PID_NONE);
  cr_assert_eq(attempt(p, "p", PROBE_REGISTER, "svc"), 0);
  cr_assert_eq(molt_whereis("svc"), p);
  cr_assert_eq(attempt(p, "p", PROBE_UNREGISTER, "svc"), 0);
  cr_assert_eq(molt_whereis("svc"), MOLT_PID_NONE);
  cr_assert_eq(attempt(p, "p", PROBE_UNREGISTER, "svc"), MOLT_ESRCH);
  /* Without a name, it may take another. */
  cr_assert_eq(attempt(p, "p", PROBE_REGISTER, "svc2"), 0);
  cr_assert_eq(molt_whereis("svc2"), p);
}

Test(registry, whereis_agrees_inside_and_outside_actors) {
  molt_pid_t p = probe_start("p", "");
  molt_pid_t q = probe_start("q", "");
  probe_cmd_str(q, PROBE_WHEREIS, "p");
  probe_expect("q whereis", 1);
  cr_assert_eq(probe_value("q whereis", "pid"), (long long)p);
  cr_assert_eq(molt_whereis("q"), q);
  cr_assert_eq(molt_whereis("nobody"), MOLT_PID_NONE);
}

Test(registry, a_taken_name_is_eexist) {
  molt_pid_t a = probe_start("a", "");
  molt_pid_t b = probe_start("b", "");
  cr_assert_eq(attempt(b, "b", PROBE_UNREGISTER, "b"), 0);
  cr_assert_eq(attempt(b, "b", PROBE_REGISTER, "a"), MOLT_EEXIST);
  cr_assert_eq(molt_whereis("a"), a);
}

Test(registry, a_second_name_is_ebusy) {
  molt_pid_t a = probe_start("a", "");
  cr_assert_eq(attempt(a, "a", PROBE_REGISTER, "other"), MOLT_EBUSY);
  cr_assert_eq(attempt(a, "a", PROBE_REGISTER, "a"), MOLT_EBUSY);
  cr_assert_eq(molt_whereis("other"), MOLT_PID_NONE);
  cr_assert_eq(molt_whereis("a"), a);
}

Test(registry, names_are_released_when_their_actor_exits) {
  molt_pid_t a = probe_start("a", "");
  probe_cmd(a, PROBE_STOP, 0, 0);
  cr_assert(rt_wait_dead(a, PROBE_WAIT_MS));
  cr_assert_eq(molt_whereis("a"), MOLT_PID_NONE);
  molt_pid_t b = probe_start("b", "");
  probe_cmd(b, PROBE_CRASH, MOLT_EIO, 0);
  cr_assert(rt_wait_dead(b, PROBE_WAIT_MS));
  cr_assert_eq(molt_whereis("b"), MOLT_PID_NONE);
  molt_pid_t c = probe_start("c", "");
  cr_assert_eq(molt__runtime_exit(c, MOLT_EXIT_KILL), 0);
  cr_assert(rt_wait_dead(c, PROBE_WAIT_MS));
  cr_assert_eq(molt_whereis("c"), MOLT_PID_NONE);
  /* ...and can be taken again. */
  molt_pid_t a2 = probe_start("a", "");
  cr_assert_neq(a2, a);
}

Test(registry, exit_leaves_a_name_another_actor_now_holds) {
  molt_pid_t a = probe_start("a", "");
  molt_pid_t b = probe_start("b", "");
  molt_pid_t c = rt_spawn("probe", "{\"id\":\"c\"}");
  cr_assert_eq(attempt(b, "b", PROBE_UNREGISTER, "a"), 0, "any actor may unregister a name");
  cr_assert_eq(attempt(c, "c", PROBE_REGISTER, "a"), 0);
  probe_cmd(a, PROBE_STOP, 0, 0);
  cr_assert(rt_wait_dead(a, PROBE_WAIT_MS));
  cr_assert_eq(molt_whereis("a"), c);
  cr_assert(rt_alive(b));
}

/* Erlang: after unregister(Name) by anyone, the former owner has no name
 * and may register one. */
Test(registry, an_owner_whose_name_was_unregistered_may_register_again) {
  molt_pid_t a = probe_start("a", "");
  molt_pid_t b = probe_start("b", "");
  cr_assert_eq(attempt(b, "b", PROBE_UNREGISTER, "a"), 0);
  cr_assert_eq(molt_whereis("a"), MOLT_PID_NONE);
  cr_assert_eq(attempt(a, "a", PROBE_REGISTER, "a2"), 0, "the owner still counts as named");
  cr_assert_eq(molt_whereis("a2"), a);
}

Test(registry, send_named_reaches_the_holder) {
  molt_pid_t a = probe_start("a", "");
  probe_cmd_t c = {1, 0};
  cr_assert_eq(molt_send_named("a", PROBE_ECHO, &c, sizeof(c)), 0);
  probe_expect("a got seq=1\n", 1);
  cr_assert_eq(molt_send_named("nobody", PROBE_ECHO, &c, sizeof(c)), MOLT_ESRCH);
  probe_cmd(a, PROBE_STOP, 0, 0);
  cr_assert(rt_wait_dead(a, PROBE_WAIT_MS));
  cr_assert_eq(molt_send_named("a", PROBE_ECHO, &c, sizeof(c)), MOLT_ESRCH);
}

Test(registry, invalid_names_are_einval) {
  molt_pid_t p = rt_spawn("probe", "{\"id\":\"p\"}");
  char longest[MOLT_NAME_MAX + 2];
  memset(longest, 'n', sizeof(longest));
  longest[MOLT_NAME_MAX + 1] = '\0'; /* one too long */
  cr_assert_eq(attempt(p, "p", PROBE_REGISTER, longest), MOLT_EINVAL);
  cr_assert_eq(attempt(p, "p", PROBE_REGISTER, ""), MOLT_EINVAL);
  cr_assert_eq(attempt(p, "p", PROBE_REGISTER, NULL), MOLT_EINVAL);
  cr_assert_eq(attempt(p, "p", PROBE_UNREGISTER, longest), MOLT_EINVAL);
  cr_assert_eq(molt_whereis(longest), MOLT_PID_NONE);
  cr_assert_eq(molt_whereis(""), MOLT_PID_NONE);
  cr_assert_eq(molt_whereis(NULL), MOLT_PID_NONE);
  longest[MOLT_NAME_MAX] = '\0'; /* exactly MOLT_NAME_MAX */
  cr_assert_eq(attempt(p, "p", PROBE_REGISTER, longest), 0);
  cr_assert_eq(molt_whereis(longest), p);
}

Test(registry, register_outside_an_actor_is_eperm) {
  cr_assert_eq(molt_register("x"), MOLT_EPERM);
  cr_assert_eq(molt_whereis("x"), MOLT_PID_NONE);
}

/* "crowd": monitors its target CROWD times in init, and on the first DOWN
 * notes whether the target's name is still registered. Its many monitors
 * keep the dying target busy sending DOWNs long after the first one. */
#define CROWD 20000

typedef struct {
  char name[MOLT_NAME_MAX + 1];
  int downs;
} crowd_t;

static int crowd_init(const molt_args_t* args, void** state) {
  crowd_t* c = molt_calloc(1, sizeof(*c));
  if (!c) return MOLT_ENOMEM;
  snprintf(c->name, sizeof(c->name), "%s", molt_args_str(args, "name", ""));
  molt_pid_t target = molt_whereis(c->name);
  for (int i = 0; i < CROWD; i++) {
    int rc = molt_monitor(target, NULL);
    if (rc) {
      molt_free(c);
      return rc;
    }
  }
  *state = c;
  return 0;
}

static int crowd_handle(void* state, const molt_msg_t* msg) {
  crowd_t* c = state;
  if (msg->kind != MOLT_MSG_DOWN) return MOLT_OK;
  if (c->downs++ == 0) rt_note("crowd first DOWN whereis=%llu", (unsigned long long)molt_whereis(c->name));
  if (c->downs == CROWD) rt_note("crowd all DOWN");
  return MOLT_OK;
}

static const molt_module_t crowd_module = PROBE_TEST_MODULE("crowd", crowd_init, crowd_handle);

/* Erlang frees a dying process's name before its exit signals go out, so
 * whoever gets the DOWN (a supervisor about to restart it) can register
 * the name again. */
Test(registry, a_name_is_free_by_the_time_a_down_arrives) {
  rt_install(&crowd_module);
  molt_pid_t x = probe_start("x", "");
  molt_pid_t crowd = rt_spawn("crowd", "{\"name\":\"x\"}");
  cr_assert_neq(molt__actor_slot(crowd)->sched, molt__actor_slot(x)->sched);
  probe_barrier(x); /* every monitor request is in */
  probe_cmd(x, PROBE_CRASH, MOLT_EIO, 0);
  probe_expect("crowd all DOWN", 1);
  cr_assert_eq(probe_value("crowd first DOWN", "whereis"), 0, "x was still registered when its DOWN arrived");
}
