/* rt.c: the runtime harness behind rt.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "rt.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actor.h"
#include "code_server.h"
#include "message.h"
#include "host.h"
#include "runtime.h"
#include "testutil.h"

static char* home;
static pthread_mutex_t notes_lock = PTHREAD_MUTEX_INITIALIZER;
static char notes[1 << 21]; /* room for a few rounds of 10^3 actors' notes */
static size_t notes_len;

void rt_setup(unsigned nsched) {
  home = tu_mkdtemp("molt-rt");
  cr_assert(home);
  char code[4096], err[256];
  snprintf(code, sizeof(code), "%s/code", home);
  cr_assert_eq(molt__code_init(code), 0);
  cr_assert_eq(molt__host_start(nsched, err, sizeof(err)), 0, "%s", err);
  notes_len = 0;
  notes[0] = '\0';
}

void rt_teardown(void) {
  molt__host_stop();
  molt__code_close();
  tu_rmrf(home);
  free(home);
  home = NULL;
}

const char* rt_home(void) { return home; }

void rt_install(const molt_module_t* desc) {
  molt_version_t* v = NULL;
  cr_assert_eq(molt__version_builtin(desc, &v), 0);
  cr_assert_eq(molt__code_install_builtin(v), 0);
  molt__version_unref(v); /* the slot keeps its own reference */
}

int rt_try_spawn(const char* module, const char* args_json, molt_pid_t* pid) {
  return molt__runtime_spawn(module, args_json, pid);
}

molt_pid_t rt_spawn(const char* module, const char* args_json) {
  molt_pid_t pid = MOLT_PID_NONE;
  int rc = rt_try_spawn(module, args_json, &pid);
  cr_assert_eq(rc, 0, "spawn %s: %s", module, molt_strerror(rc));
  return pid;
}

int rt_send(molt_pid_t to, uint32_t tag, const void* data, size_t size) {
  return molt_send(to, tag, data, size);
}

bool rt_alive(molt_pid_t pid) {
  molt_actor_t* a = molt__actor_slot(pid);
  return a && atomic_load(&a->gen) == MOLT__PID_GEN(pid);
}

bool rt_wait(bool (*pred)(void* arg), void* arg, unsigned timeout_ms) {
  for (unsigned waited = 0; waited <= timeout_ms; waited++) {
    if (pred(arg)) return true;
    usleep(1000);
  }
  return pred(arg);
}

static bool dead(void* arg) { return !rt_alive(*(molt_pid_t*)arg); }

bool rt_wait_dead(molt_pid_t pid, unsigned timeout_ms) { return rt_wait(dead, &pid, timeout_ms); }

void rt_note(const char* fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof(line) - 2) n = (int)sizeof(line) - 2;
  line[n++] = '\n';
  line[n] = '\0';
  pthread_mutex_lock(&notes_lock);
  if (notes_len + (size_t)n < sizeof(notes)) {
    memcpy(notes + notes_len, line, (size_t)n + 1);
    notes_len += (size_t)n;
  }
  pthread_mutex_unlock(&notes_lock);
}

int rt_count(const char* needle) {
  int count = 0;
  pthread_mutex_lock(&notes_lock);
  for (const char* p = notes; (p = strstr(p, needle)) != NULL; p += strlen(needle)) count++;
  pthread_mutex_unlock(&notes_lock);
  return count;
}

typedef struct {
  const char* needle;
  int n;
} count_arg;

static bool reached(void* arg) {
  count_arg* c = arg;
  return rt_count(c->needle) >= c->n;
}

bool rt_wait_count(const char* needle, int n, unsigned timeout_ms) {
  count_arg c = {needle, n};
  return rt_wait(reached, &c, timeout_ms);
}

const char* rt_notes(void) {
  static char copy[sizeof(notes)];
  pthread_mutex_lock(&notes_lock);
  memcpy(copy, notes, notes_len + 1);
  pthread_mutex_unlock(&notes_lock);
  return copy;
}
