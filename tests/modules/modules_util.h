/* modules_util.h: what the module suites share: loading the real built
 * modules (build/modules/<name>-<vsn>.so) through the code server, and
 * calling a version's callbacks straight from the test thread. */
#ifndef MOLT_TEST_MODULES_UTIL_H
#define MOLT_TEST_MODULES_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>

#include "args.h"
#include "code_server.h"
#include "molt/module.h"
#include "probe.h"
#include "rt.h"

/* Versions this test holds a reference to, dropped by mu_teardown. */
static molt_version_t* mu_held[8];
static int mu_nheld;

static void mu_setup(void) { rt_setup(2); }

static void mu_teardown(void) {
  while (mu_nheld > 0) molt__version_unref(mu_held[--mu_nheld]);
  rt_teardown();
}

/* Load build/modules/<name>-<vsn>.so as the current version of name and
 * keep a reference to it. A test may load a third version of a name: the
 * old slot is purged first (soft: no actor may run it), and the reference
 * held here keeps the purged version open for the test to use. */
static inline molt_version_t* mu_load(const char* name, const char* vsn) {
  char path[1024], err[512] = "";
  snprintf(path, sizeof(path), "%s/%s-%s.so", MOLT_MODULE_DIR, name, vsn);
  int rc = molt__code_purge(name, false, err, sizeof(err));
  cr_assert(rc == 0 || rc == MOLT_ENOMODULE, "purge %s: %s (%s)", name, molt_err_name(rc), err);
  molt_version_t* v = NULL;
  rc = molt__code_load(path, name, &v, err, sizeof(err));
  cr_assert_eq(rc, 0, "load %s: %s (%s)", path, molt_err_name(rc), err);
  cr_assert_str_eq(v->name, name);
  cr_assert_str_eq(v->vsn, vsn);
  cr_assert_lt(mu_nheld, (int)(sizeof(mu_held) / sizeof(mu_held[0])));
  molt__version_ref(v);
  mu_held[mu_nheld++] = v;
  return v;
}

typedef struct {
  const molt_version_t* v;
  const char* args_json;
  void* state;
  int rc;
} mu_init_arg;

/* Any thread; no Criterion asserts. */
static void mu_init_call(void* arg) {
  mu_init_arg* a = arg;
  molt_args_t args;
  molt__args_init(&args, a->args_json ? a->args_json : "{}", NULL);
  a->rc = a->v->init(&args, &a->state);
  molt__args_close(&args);
}

static inline void* mu_init_checked(mu_init_arg* a) {
  cr_assert_eq(a->rc, 0, "%s %s init: %s", a->v->name, a->v->vsn, molt_err_name(a->rc));
  cr_assert_not_null(a->state);
  return a->state;
}

/* v's init on the test thread, outside any actor (so no "name" argument:
 * registering needs an actor). Returns the state, which the test owns. */
static inline void* mu_init(const molt_version_t* v, const char* args_json) {
  mu_init_arg a = {v, args_json, NULL, 0};
  mu_init_call(&a);
  return mu_init_checked(&a);
}

/* The same inside the probe actor, for an init that needs the actor API
 * (a timer: it is the probe's, and its message harmlessly lands there). */
static inline void* mu_init_in_probe(molt_pid_t probe, const molt_version_t* v, const char* args_json) {
  mu_init_arg a = {v, args_json, NULL, 0};
  probe_run(probe, mu_init_call, &a);
  return mu_init_checked(&a);
}

/* One USER message handed to v's handle, as the runtime would: from and
 * ref say where a molt_reply goes (MOLT_PID_NONE: nowhere). Returns what
 * handle returned. */
static inline int mu_handle(const molt_version_t* v, void* state, uint32_t tag, const void* data, size_t size,
                            molt_pid_t from, uint64_t ref) {
  molt_msg_t msg = {.kind = MOLT_MSG_USER, .tag = tag, .from = from, .ref = ref, .size = (uint32_t)size,
                    .data = data};
  return v->handle(state, &msg);
}

#endif
