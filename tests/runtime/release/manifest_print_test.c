/* manifest_print_test.c: the bundle form written back from structs
 * (runtime/manifest_print.c) parses to the same manifest. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "manifest.h"
#include "molt/errno.h"

static const char SOURCE[] =
    "{\"name\": \"demo\", \"version\": \"2.0.0-rc.1\", \"modules\": [\n"
    " {\"name\": \"counter\", \"vsn\": \"2.0.0\", \"file\": \"modules/counter-2.0.0.so\",\n"
    "  \"sha256\": \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}],\n"
    " \"supervisor\": {\"name\": \"top\", \"strategy\": \"rest_for_one\", \"intensity\": 0,\n"
    "  \"period_ms\": 4294967295, \"children\": [\n"
    "  {\"id\": \"c\", \"module\": \"counter\", \"count\": 1000000, \"restart\": \"temporary\",\n"
    "   \"shutdown_ms\": 0, \"args\": {\"s\": \"t\\\"\\n\", \"n\": [1, -2.5, true, null, {}]}},\n"
    "  {\"id\": \"s\", \"supervisor\": {\"strategy\": \"one_for_all\", \"children\": [\n"
    "   {\"id\": \"d\", \"module\": \"counter\"}]}}]}}\n";

static molt_manifest_t* parse(const char* text, size_t len) {
  molt_manifest_t* m = NULL;
  char err[512] = "";

  cr_assert_eq(molt__manifest_parse(text, len, true, &m, err, sizeof err), 0, "%s\n%s", err, text);
  return m;
}

static void assert_str_eq_or_null(const char* a, const char* b) {
  if (!a || !b)
    cr_assert_eq(a, b);
  else
    cr_assert_str_eq(a, b);
}

static void assert_sup_eq(const molt_sup_spec_t* a, const molt_sup_spec_t* b) {
  size_t i;

  if (!a || !b) {
    cr_assert_eq(a, b);
    return;
  }
  assert_str_eq_or_null(a->name, b->name);
  cr_assert_eq(a->strategy, b->strategy);
  cr_assert_eq(a->intensity, b->intensity);
  cr_assert_eq(a->period_ms, b->period_ms);
  cr_assert_eq(a->nchildren, b->nchildren);
  for (i = 0; i < a->nchildren; i++) {
    cr_assert_str_eq(a->children[i].id, b->children[i].id);
    assert_str_eq_or_null(a->children[i].module, b->children[i].module);
    assert_str_eq_or_null(a->children[i].args_json, b->children[i].args_json);
    cr_assert_eq(a->children[i].restart, b->children[i].restart);
    cr_assert_eq(a->children[i].shutdown_ms, b->children[i].shutdown_ms);
    cr_assert_eq(a->children[i].count, b->children[i].count);
    assert_sup_eq(a->children[i].sup, b->children[i].sup);
  }
}

static void assert_manifest_eq(const molt_manifest_t* a, const molt_manifest_t* b) {
  size_t i;

  cr_assert_str_eq(a->name, b->name);
  cr_assert_str_eq(a->version, b->version);
  cr_assert_eq(a->nmodules, b->nmodules);
  for (i = 0; i < a->nmodules; i++) {
    cr_assert_str_eq(a->modules[i].name, b->modules[i].name);
    cr_assert_str_eq(a->modules[i].vsn, b->modules[i].vsn);
    cr_assert_str_eq(a->modules[i].file, b->modules[i].file);
    cr_assert_eq(a->modules[i].has_sha256, b->modules[i].has_sha256);
    cr_assert_arr_eq(a->modules[i].sha256, b->modules[i].sha256, 32);
  }
  assert_sup_eq(a->sup, b->sup);
}

Test(manifest_print, round_trips) {
  molt_manifest_t *a = parse(SOURCE, strlen(SOURCE)), *b;
  char* text = NULL;

  cr_assert_eq(molt__manifest_print(a, &text), 0);
  cr_assert_eq(text[strlen(text) - 1], '\n');
  b = parse(text, strlen(text));
  assert_manifest_eq(a, b);
  /* Defaults are written out, not left implicit. */
  cr_assert_not_null(strstr(text, "\"restart\":\t\"permanent\""), "%s", text);
  cr_assert_not_null(strstr(text, "\"count\":\t1,"), "%s", text);
  cr_assert_not_null(strstr(text, "\"args\":\t{}\n"), "%s", text);
  molt__manifest_free(a);
  molt__manifest_free(b);
  molt__free(text);
}

Test(manifest_print, without_supervisor) {
  const char* src = "{\"name\": \"x\", \"version\": \"1\", \"modules\": []}";
  molt_manifest_t *a = parse(src, strlen(src)), *b;
  char* text = NULL;

  cr_assert_eq(molt__manifest_print(a, &text), 0);
  cr_assert_null(strstr(text, "supervisor"), "%s", text);
  b = parse(text, strlen(text));
  assert_manifest_eq(a, b);
  molt__manifest_free(a);
  molt__manifest_free(b);
  molt__free(text);
}

Test(manifest_print, refuses_a_module_without_digest) {
  const char* src =
      "{\"name\": \"x\", \"version\": \"1\", \"modules\": ["
      "{\"name\": \"m\", \"vsn\": \"1\", \"file\": \"m.so\"}]}";
  molt_manifest_t* a = NULL;
  char* text = NULL;
  char err[256];

  cr_assert_eq(molt__manifest_parse(src, strlen(src), false, &a, err, sizeof err), 0, "%s", err);
  cr_assert_eq(molt__manifest_print(a, &text), MOLT_EINVAL);
  cr_assert_null(text);
  molt__manifest_free(a);
}

/* The alarm thresholds (runtime/container/alarms.c): the release's and a
 * module's own, printed back only when given. */
Test(manifest_print, round_trips_alarm_thresholds) {
  static const char text[] =
      "{\"name\": \"flood\", \"version\": \"1.0.0\", \"modules\": [\n"
      " {\"name\": \"sink\", \"vsn\": \"1.0.0\", \"file\": \"sink.so\", \"mailbox_alarm\": 300,\n"
      "  \"sha256\": \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}],\n"
      " \"alarms\": {\"mailbox\": 5000, \"callback_s\": 0, \"memory_mb\": 512}}\n";
  molt_manifest_t* m = parse(text, strlen(text));
  cr_assert(m->has_alarms);
  cr_assert_eq(m->modules[0].mailbox_alarm, 300);
  cr_assert_eq(m->alarms.mailbox, 5000);
  cr_assert_eq(m->alarms.callback_s, 0);
  cr_assert_eq(m->alarms.memory_mb, 512);
  cr_assert_eq(m->alarms.scheduler_busy_percent, 90, "a key not given keeps its default");
  char* out = NULL;
  cr_assert_eq(molt__manifest_print(m, &out), 0);
  molt_manifest_t* back = parse(out, strlen(out));
  cr_assert(back->has_alarms);
  cr_assert_eq(memcmp(&back->alarms, &m->alarms, sizeof(m->alarms)), 0, "%s", out);
  cr_assert_eq(back->modules[0].mailbox_alarm, 300, "%s", out);
  molt__free(out);
  molt__manifest_free(back);
  molt__manifest_free(m);
}

Test(manifest_print, a_release_without_alarms_prints_none) {
  molt_manifest_t* m = parse(SOURCE, strlen(SOURCE));
  cr_assert_not(m->has_alarms);
  cr_assert_eq(m->alarms.mailbox, 10000, "the defaults");
  char* out = NULL;
  cr_assert_eq(molt__manifest_print(m, &out), 0);
  cr_assert_null(strstr(out, "alarm"), "%s", out);
  molt__free(out);
  molt__manifest_free(m);
}
