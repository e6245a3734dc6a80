/* upgrade_stress.h: what the stress programs that switch code share (each
 * program is one file, so this is header-only): failing with a message,
 * wrapping a builtin descriptor as a version, and one soft switch. Define
 * STRESS_NAME (the program's name, for messages) before including it. */
#ifndef MOLT_TESTS_UPGRADE_STRESS_H
#define MOLT_TESTS_UPGRADE_STRESS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "code_server.h"
#include "upgrade.h"
#include "version.h"

static void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, STRESS_NAME ": ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static molt_version_t* builtin(const molt_module_t* desc) {
  molt_version_t* v = NULL;
  if (molt__version_builtin(desc, &v) != 0) fail("cannot make %s %s", desc->name, desc->vsn);
  return v;
}

/* One soft switch of desc's module to desc, within wait_ms; then nothing
 * may run the version it replaced. *st (if st) gets the switch's figures. */
static void soft_switch(const molt_module_t* desc, unsigned wait_ms, molt_upgrade_stats_t* st) {
  molt_version_t* from = molt__code_get_current(desc->name);
  if (!from) fail("%s is not loaded", desc->name);
  molt_version_t* to = builtin(desc);
  molt_hop_t hop = {to, false, MOLT_UP, NULL};
  molt_change_t ch = {desc->name, &hop, 1};
  char err[512] = "";
  if (!molt__upgrade_begin()) fail("upgrade busy");
  int rc = molt__upgrade_apply(&ch, 1, wait_ms, st, err, sizeof(err));
  molt__upgrade_end();
  if (rc) fail("switch to %s: %s", desc->vsn, err);
  long left = atomic_load(&from->actors);
  if (left) fail("after the switch to %s, %ld actors still run %s", desc->vsn, left, from->vsn);
  molt__version_unref(from);
  molt__version_unref(to);
}

#endif
