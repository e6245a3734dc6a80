/* manifest_steps_test.c: a manifest's explicit upgrade and downgrade steps
 * (runtime/manifest_steps.c): what they parse into, every refusal with its
 * JSON path, printing them back, and the version order they rely on. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "manifest.h"
#include "molt/errno.h"

#define SHA "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* Release 2.0.0 has counter, driver and stats; 1.1.0 (not shown) had
 * counter, driver and heartbeat. Written with ' for ". */
static const char HEAD[] =
    "{'name': 'demo', 'version': '2.0.0', 'modules': [\n"
    " {'name': 'counter', 'vsn': '2.0.0', 'file': 'c.so', 'sha256': '" SHA
    "'},\n"
    " {'name': 'driver', 'vsn': '2.0.0', 'file': 'd.so', 'sha256': '" SHA
    "'},\n"
    " {'name': 'stats', 'vsn': '1.0.0', 'file': 's.so', 'sha256': '" SHA "'}]";

static const char UP[] =
    "'upgrade': [{'from': '1.1.0', 'steps': [\n"
    "  {'op': 'update', 'module': 'counter', 'extra': 'anything'},\n"
    "  {'op': 'soft', 'module': 'driver'}, {'op': 'add', 'module': 'stats'},\n"
    "  {'op': 'remove', 'module': 'heartbeat'}]},\n"
    " {'from': '1.0.0', 'steps': []}]";

static const char DOWN[] =
    "'downgrade': [{'to': '1.1.0', 'steps': [\n"
    "  {'op': 'update', 'module': 'counter', 'extra': 'back'},\n"
    "  {'op': 'soft', 'module': 'driver'}, {'op': 'remove', 'module': 'stats'},\n"
    "  {'op': 'add', 'module': 'heartbeat'}]}]";

/* HEAD, then each of the members given (NULL-ended), closed; ' becomes ". */
static char* doc(const char* first, ...) {
  char *text = NULL, *c;
  size_t len = 0;
  FILE* f = open_memstream(&text, &len);
  va_list ap;
  const char* m;

  cr_assert_not_null(f);
  fputs(HEAD, f);
  va_start(ap, first);
  for (m = first; m; m = va_arg(ap, const char*)) fprintf(f, ",\n %s", m);
  va_end(ap);
  fputs("}\n", f);
  fclose(f);
  for (c = text; *c; c++)
    if (*c == '\'') *c = '"';
  return text;
}

static molt_manifest_t* parse_ok(const char* text) {
  molt_manifest_t* m = NULL;
  char err[512] = "";

  cr_assert_eq(molt__manifest_parse(text, strlen(text), true, &m, err, sizeof err), 0, "%s\n%s",
               err, text);
  return m;
}

/* text (freed here) must be refused with MOLT_EMANIFEST and a one-line
 * message starting with want (' for "). */
static void refuse(char* text, const char* want) {
  molt_manifest_t* m = NULL;
  char err[512] = "", w[512], *c;
  int rc = molt__manifest_parse(text, strlen(text), true, &m, err, sizeof err);

  snprintf(w, sizeof w, "%s", want);
  for (c = w; *c; c++)
    if (*c == '\'') *c = '"';
  cr_assert_eq(rc, MOLT_EMANIFEST, "rc %d (%s) for:\n%s", rc, err, text);
  cr_assert_eq(strncmp(err, w, strlen(w)), 0, "message \"%s\" does not start \"%s\"", err, w);
  cr_assert_null(strchr(err, '\n'));
  cr_assert_null(m);
  free(text);
}

Test(manifest_steps, parse_into_structs) {
  char* text = doc(UP, DOWN, NULL);
  molt_manifest_t* m = parse_ok(text);
  const molt_manifest_steps_t *u, *d;

  cr_assert_eq(m->nupgrade, 2);
  u = &m->upgrade[0];
  cr_assert_str_eq(u->vsn, "1.1.0");
  cr_assert_eq(u->nsteps, 4);
  cr_assert_eq(u->steps[0].op, MOLT_STEP_UPDATE);
  cr_assert_str_eq(u->steps[0].module, "counter");
  cr_assert_str_eq(u->steps[0].extra, "anything");
  cr_assert_eq(u->steps[1].op, MOLT_STEP_SOFT);
  cr_assert_null(u->steps[1].extra);
  cr_assert_eq(u->steps[2].op, MOLT_STEP_ADD);
  cr_assert_eq(u->steps[3].op, MOLT_STEP_REMOVE);
  cr_assert_str_eq(u->steps[3].module, "heartbeat");
  cr_assert_str_eq(m->upgrade[1].vsn, "1.0.0");
  cr_assert_eq(m->upgrade[1].nsteps, 0);
  cr_assert_null(m->upgrade[1].steps);

  cr_assert_eq(m->ndowngrade, 1);
  d = &m->downgrade[0];
  cr_assert_str_eq(d->vsn, "1.1.0");
  cr_assert_eq(d->steps[2].op, MOLT_STEP_REMOVE);
  cr_assert_str_eq(d->steps[2].module, "stats");
  cr_assert_eq(d->steps[3].op, MOLT_STEP_ADD);
  cr_assert_str_eq(d->steps[3].module, "heartbeat");
  molt__manifest_free(m);
  free(text);
}

Test(manifest_steps, absent_and_empty_lists) {
  char *text = doc(NULL), *empty = doc("'upgrade': []", "'downgrade': []", NULL);
  molt_manifest_t *m = parse_ok(text), *e = parse_ok(empty);

  cr_assert_eq(m->nupgrade + m->ndowngrade, 0);
  cr_assert_null(m->upgrade);
  cr_assert_eq(e->nupgrade + e->ndowngrade, 0);
  cr_assert_null(e->downgrade);
  molt__manifest_free(m);
  molt__manifest_free(e);
  free(text);
  free(empty);
}

Test(manifest_steps, wrong_shapes) {
  refuse(doc("'upgrade': {}", NULL), "upgrade: expected an array, found an object");
  refuse(doc("'upgrade': ['1.1.0']", NULL), "upgrade[0]: expected an object, found '1.1.0'");
  refuse(doc("'upgrade': [{'steps': []}]", NULL), "upgrade[0].from: required field missing");
  refuse(doc("'downgrade': [{'to': '1'}]", NULL), "downgrade[0].steps: required field missing");
  refuse(doc("'upgrade': [{'from': 1, 'steps': []}]", NULL),
         "upgrade[0].from: expected a string, found 1");
  refuse(doc("'upgrade': [{'from': '1', 'steps': {}}]", NULL),
         "upgrade[0].steps: expected an array, found an object");
  refuse(doc("'upgrade': [{'from': '1', 'steps': [{'module': 'stats'}]}]", NULL),
         "upgrade[0].steps[0].op: required field missing");
  refuse(doc("'upgrade': [{'from': '1', 'steps': [{'op': 'add'}]}]", NULL),
         "upgrade[0].steps[0].module: required field missing");
  refuse(doc("'upgrade': [{'from': '1', 'steps': [{'op': 'restart', 'module': 'stats'}]}]", NULL),
         "upgrade[0].steps[0].op: expected one of update, soft, add, remove, found 'restart'");
  refuse(doc("'upgrade': [{'from': '1', 'steps': [{'op': 'update', 'module': 'counter', "
             "'extra': {}}]}]",
             NULL),
         "upgrade[0].steps[0].extra: expected a string, found an object");
  refuse(doc("'upgrade': [{'from': '1', 'steps': [{'op': 'add', 'module': 'Stats'}]}]", NULL),
         "upgrade[0].steps[0].module: expected a module name of [a-z0-9_]");
  refuse(doc("'upgrade': [{'from': '1/0', 'steps': []}]", NULL),
         "upgrade[0].from: expected a version of 1 to 63 bytes");
}

Test(manifest_steps, unknown_and_duplicate_keys) {
  refuse(doc("'upgrades': []", NULL), "top level: unknown key 'upgrades'");
  refuse(doc("'upgrade': [{'to': '1', 'steps': []}]", NULL),
         "upgrade[0]: unknown key 'to' (expected from, steps)");
  refuse(doc("'downgrade': [{'from': '1', 'steps': []}]", NULL),
         "downgrade[0]: unknown key 'from' (expected to, steps)");
  refuse(
      doc("'upgrade': [{'from': '1', 'steps': [{'op': 'add', 'module': 'stats', 'x': 1}]}]", NULL),
      "upgrade[0].steps[0]: unknown key 'x' (expected op, module, extra)");
  refuse(doc("'upgrade': [{'from': '1', 'from': '1.1', 'steps': []}]", NULL),
         "upgrade[0]: duplicate key 'from'");
  refuse(doc("'upgrade': [{'from': '1', 'steps': [{'op': 'add', 'op': 'soft', 'module': 's'}]}]",
             NULL),
         "upgrade[0].steps[0]: duplicate key 'op'");
  refuse(doc("'upgrade': []", "'upgrade': []", NULL), "top level: duplicate key 'upgrade'");
}

Test(manifest_steps, extra_only_on_update) {
  refuse(doc("'upgrade': [{'from': '1', 'steps': [{'op': 'soft', 'module': 'driver', "
             "'extra': 'x'}]}]",
             NULL),
         "upgrade[0].steps[0].extra: only an update step takes extra");
  refuse(doc("'downgrade': [{'to': '1', 'steps': [{'op': 'remove', 'module': 'stats', "
             "'extra': 'x'}]}]",
             NULL),
         "downgrade[0].steps[0].extra: only an update step takes extra");
}

Test(manifest_steps, versions_listed_once_and_older) {
  refuse(doc("'upgrade': [{'from': '1.1.0', 'steps': []}, {'from': '1.0.0', 'steps': []},"
             " {'from': '1.1.0', 'steps': []}]",
             NULL),
         "upgrade[2].from: duplicate version '1.1.0' (also upgrade[0])");
  refuse(doc("'downgrade': [{'to': '1', 'steps': []}, {'to': '1', 'steps': []}]", NULL),
         "downgrade[1].to: duplicate version '1' (also downgrade[0])");
  refuse(doc("'upgrade': [{'from': '2.0.0', 'steps': []}]", NULL),
         "upgrade[0].from: '2.0.0' is not older than this release (2.0.0)");
  refuse(doc("'downgrade': [{'to': '10.0', 'steps': []}]", NULL),
         "downgrade[0].to: '10.0' is not older than this release (2.0.0)");
  /* Numeric order, not string order: "10.0.0" would be "older" as text. */
  refuse(doc("'upgrade': [{'from': '2.0.0-rc1', 'steps': []}]", NULL),
         "upgrade[0].from: '2.0.0-rc1' is not older");
}

Test(manifest_steps, module_named_twice_in_one_list) {
  refuse(doc("'upgrade': [{'from': '1', 'steps': [{'op': 'update', 'module': 'counter'},"
             " {'op': 'add', 'module': 'stats'}, {'op': 'soft', 'module': 'counter'}]}]",
             NULL),
         "upgrade[0].steps[2].module: duplicate module 'counter' (also steps[0])");
}

/* The table in manifest_steps.c, one row at a time. */
Test(manifest_steps, module_on_the_wrong_side_in_an_upgrade) {
  refuse(
      doc("'upgrade': [{'from': '1', 'steps': [{'op': 'update', 'module': 'heartbeat'}]}]", NULL),
      "upgrade[0].steps[0].module: unknown module 'heartbeat'; update names a module of this "
      "release");
  refuse(doc("'upgrade': [{'from': '1', 'steps': [{'op': 'soft', 'module': 'nope'}]}]", NULL),
         "upgrade[0].steps[0].module: unknown module 'nope'; soft names");
  refuse(doc("'upgrade': [{'from': '1', 'steps': [{'op': 'add', 'module': 'heartbeat'}]}]", NULL),
         "upgrade[0].steps[0].module: unknown module 'heartbeat'; add names");
  refuse(doc("'upgrade': [{'from': '1', 'steps': [{'op': 'remove', 'module': 'stats'}]}]", NULL),
         "upgrade[0].steps[0].module: 'stats' is a module of this release; remove in an upgrade "
         "names one only the older release has");
}

Test(manifest_steps, module_on_the_wrong_side_in_a_downgrade) {
  refuse(
      doc("'downgrade': [{'to': '1', 'steps': [{'op': 'update', 'module': 'heartbeat'}]}]", NULL),
      "downgrade[0].steps[0].module: unknown module 'heartbeat'; update names");
  refuse(
      doc("'downgrade': [{'to': '1', 'steps': [{'op': 'remove', 'module': 'heartbeat'}]}]", NULL),
      "downgrade[0].steps[0].module: unknown module 'heartbeat'; remove names");
  refuse(doc("'downgrade': [{'to': '1', 'steps': [{'op': 'add', 'module': 'stats'}]}]", NULL),
         "downgrade[0].steps[0].module: 'stats' is a module of this release; add in a downgrade "
         "names one only the older release has");
}

Test(manifest_steps, print_round_trips) {
  char *text = doc(UP, DOWN, NULL), *out = NULL;
  molt_manifest_t *a = parse_ok(text), *b;
  size_t i, j;

  molt__free(a->upgrade[0].steps[0].extra);
  a->upgrade[0].steps[0].extra = molt__strdup("quote \" and\nnewline");
  cr_assert_eq(molt__manifest_print(a, &out), 0);
  b = parse_ok(out);
  cr_assert_eq(b->nupgrade, a->nupgrade);
  cr_assert_eq(b->ndowngrade, a->ndowngrade);
  for (i = 0; i < a->nupgrade + a->ndowngrade; i++) {
    const molt_manifest_steps_t* x =
        i < a->nupgrade ? &a->upgrade[i] : &a->downgrade[i - a->nupgrade];
    const molt_manifest_steps_t* y =
        i < b->nupgrade ? &b->upgrade[i] : &b->downgrade[i - b->nupgrade];
    cr_assert_str_eq(x->vsn, y->vsn);
    cr_assert_eq(x->nsteps, y->nsteps);
    for (j = 0; j < x->nsteps; j++) {
      cr_assert_eq(x->steps[j].op, y->steps[j].op);
      cr_assert_str_eq(x->steps[j].module, y->steps[j].module);
      if (x->steps[j].extra)
        cr_assert_str_eq(x->steps[j].extra, y->steps[j].extra);
      else
        cr_assert_null(y->steps[j].extra);
    }
  }
  molt__manifest_free(a);
  molt__manifest_free(b);
  molt__free(out);
  free(text);
}

Test(manifest_steps, print_leaves_out_empty_lists) {
  char *text = doc("'upgrade': []", NULL), *out = NULL;
  molt_manifest_t* m = parse_ok(text);

  cr_assert_eq(molt__manifest_print(m, &out), 0);
  cr_assert_null(strstr(out, "grade"), "%s", out);
  molt__manifest_free(m);
  molt__free(out);
  free(text);
}

Test(manifest_steps, print_refuses_what_would_not_parse_back) {
  char *text = doc(UP, NULL), *out = NULL;
  molt_manifest_t* m = parse_ok(text);

  m->upgrade[0].steps[1].extra = molt__strdup("soft steps take no extra");
  cr_assert_eq(molt__manifest_print(m, &out), MOLT_EINVAL);
  cr_assert_null(out);
  molt__free(m->upgrade[0].steps[1].extra);
  m->upgrade[0].steps[1].extra = NULL;
  m->upgrade[0].steps[1].op = (molt_step_op_t)7;
  cr_assert_eq(molt__manifest_print(m, &out), MOLT_EINVAL);
  cr_assert_null(out);
  cr_assert_str_eq(molt__manifest_op_name((molt_step_op_t)7), "?");
  cr_assert_str_eq(molt__manifest_op_name(MOLT_STEP_SOFT), "soft");
  molt__manifest_free(m);
  free(text);
}

static int cmp(const char* a, const char* b) { return molt__manifest_version_cmp(a, b); }

Test(manifest_steps, version_order) {
  cr_assert_eq(cmp("1.0.0", "1.0.0"), 0);
  cr_assert_lt(cmp("1.9.0", "1.10.0"), 0);
  cr_assert_gt(cmp("1.10.0", "1.9.0"), 0);
  cr_assert_lt(cmp("1.0.0", "2.0.0"), 0);
  cr_assert_lt(cmp("1.1.0", "1.1.1"), 0);
  cr_assert_lt(cmp("1.0", "1.0.0"), 0);
  cr_assert_gt(cmp("1.0.0", "1.0"), 0);
  cr_assert_lt(cmp("9", "10"), 0);
  cr_assert_lt(cmp("99999999999999999999999", "100000000000000000000000"), 0);
  /* Leading zeros: equal in value, still distinct versions, ordered. */
  cr_assert_neq(cmp("1.01", "1.1"), 0);
  cr_assert_eq(cmp("1.01", "1.1"), -cmp("1.1", "1.01"));
  /* Non-numeric parts compare as strings. */
  cr_assert_lt(cmp("1.0.alpha", "1.0.beta"), 0);
  cr_assert_lt(cmp("1.0.0", "1.0.0-rc1"), 0);
  cr_assert_lt(cmp("1.a", "1.b.0"), 0);
  cr_assert_lt(cmp("1.10", "1.x"), 0);
  cr_assert_lt(cmp("1..0", "1.0.0"), 0);
}
