/* manifest_test.c: parsing release manifests (runtime/manifest.c): what a
 * good one turns into, and that every bad one is refused with the JSON path
 * of the offending field. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "molt/errno.h"

/* Written with ' for " so the JSON stays readable; sq() swaps them back. */
static const char VALID[] =
    "{\n"
    "  'name': 'demo',\n"
    "  'version': '1.0.0',\n"
    "  'modules': [\n"
    "    {'name': 'counter', 'vsn': '1.0.0', 'file': 'modules/counter-1.0.0.so',\n"
    "     'sha256': 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'},\n"
    "    {'name': 'driver', 'vsn': '1.0.0', 'file': 'modules/driver-1.0.0.so',\n"
    "     'sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'}\n"
    "  ],\n"
    "  'supervisor': {\n"
    "    'name': 'demo_sup', 'strategy': 'one_for_all', 'intensity': 7, 'period_ms': 1000,\n"
    "    'children': [\n"
    "      {'id': 'counter', 'module': 'counter', 'restart': 'transient', 'shutdown_ms': 250,\n"
    "       'args': {'name': 'counter'}},\n"
    "      {'id': 'drivers', 'module': 'driver', 'count': 4,\n"
    "       'args': {'target': 'counter', 'interval_ms': 10}},\n"
    "      {'id': 'sub', 'restart': 'temporary', 'supervisor': {'strategy': 'rest_for_one',\n"
    "       'children': [{'id': 'lone', 'module': 'counter'}]}}\n"
    "    ]\n"
    "  }\n"
    "}\n";

static char* sq(const char* s) {
  char* t = strdup(s);
  char* c;

  cr_assert_not_null(t);
  for (c = t; *c; c++)
    if (*c == '\'') *c = '"';
  return t;
}

/* VALID with the one occurrence of from replaced by to. */
static char* edit(const char* from, const char* to) {
  char *text = sq(VALID), *f = sq(from), *t = sq(to), *at, *out;
  size_t n;

  at = strstr(text, f);
  cr_assert_not_null(at, "edit: %s not in the manifest", from);
  cr_assert_null(strstr(at + 1, f), "edit: %s is not unique", from);
  n = strlen(text) - strlen(f) + strlen(t);
  out = malloc(n + 1);
  cr_assert_not_null(out);
  memcpy(out, text, (size_t)(at - text));
  strcpy(out + (at - text), t);
  strcat(out, at + strlen(f));
  free(text);
  free(f);
  free(t);
  return out;
}

/* text (freed here) must be refused with MOLT_EMANIFEST, a one-line
 * message that starts with needle, and *out untouched. */
static void refuse_as(char* text, bool require_sha256, const char* needle) {
  molt_manifest_t* sentinel = (molt_manifest_t*)&sentinel;
  molt_manifest_t* m = sentinel;
  char err[512] = "";
  char* want = sq(needle);
  int rc;

  rc = molt__manifest_parse(text, strlen(text), require_sha256, &m, err, sizeof err);
  cr_assert_eq(rc, MOLT_EMANIFEST, "rc %d (%s) for: %s", rc, err, text);
  cr_assert_eq(strncmp(err, want, strlen(want)), 0, "message \"%s\" does not start \"%s\"", err,
               want);
  cr_assert_null(strchr(err, '\n'), "message is not one line: %s", err);
  cr_assert_eq(m, sentinel, "*out was touched on failure");
  free(want);
  free(text);
}

static void refuse(char* text, const char* needle) { refuse_as(text, true, needle); }

static molt_manifest_t* parse_ok(const char* text, bool require_sha256) {
  molt_manifest_t* m = NULL;
  char err[512] = "";
  int rc = molt__manifest_parse(text, strlen(text), require_sha256, &m, err, sizeof err);

  cr_assert_eq(rc, 0, "parse failed: %s", err);
  cr_assert_not_null(m);
  return m;
}

Test(manifest, valid_parses_into_structs) {
  char* text = sq(VALID);
  molt_manifest_t* m = parse_ok(text, true);
  molt_sup_spec_t *s, *sub;

  cr_assert_str_eq(m->name, "demo");
  cr_assert_str_eq(m->version, "1.0.0");
  cr_assert_eq(m->nmodules, 2);
  cr_assert_str_eq(m->modules[0].name, "counter");
  cr_assert_str_eq(m->modules[0].vsn, "1.0.0");
  cr_assert_str_eq(m->modules[0].file, "modules/counter-1.0.0.so");
  cr_assert(m->modules[0].has_sha256);
  cr_assert_eq(m->modules[0].sha256[0], 0xba);
  cr_assert_eq(m->modules[0].sha256[31], 0xad);
  cr_assert_str_eq(m->modules[1].name, "driver");
  cr_assert_eq(m->modules[1].sha256[0], 0xe3);

  s = m->sup;
  cr_assert_not_null(s);
  cr_assert_str_eq(s->name, "demo_sup");
  cr_assert_eq(s->strategy, MOLT_ONE_FOR_ALL);
  cr_assert_eq(s->intensity, 7);
  cr_assert_eq(s->period_ms, 1000);
  cr_assert_eq(s->nchildren, 3);

  cr_assert_str_eq(s->children[0].id, "counter");
  cr_assert_str_eq(s->children[0].module, "counter");
  cr_assert_eq(s->children[0].restart, MOLT_TRANSIENT);
  cr_assert_eq(s->children[0].shutdown_ms, 250);
  cr_assert_eq(s->children[0].count, 1);
  cr_assert_str_eq(s->children[0].args_json, "{\"name\":\"counter\"}");
  cr_assert_null(s->children[0].sup);

  /* Defaults: restart permanent, shutdown 5000. */
  cr_assert_str_eq(s->children[1].module, "driver");
  cr_assert_eq(s->children[1].restart, MOLT_PERMANENT);
  cr_assert_eq(s->children[1].shutdown_ms, 5000);
  cr_assert_eq(s->children[1].count, 4);
  cr_assert_str_eq(s->children[1].args_json, "{\"target\":\"counter\",\"interval_ms\":10}");

  cr_assert_str_eq(s->children[2].id, "sub");
  cr_assert_null(s->children[2].module);
  cr_assert_eq(s->children[2].restart, MOLT_TEMPORARY);
  sub = s->children[2].sup;
  cr_assert_not_null(sub);
  cr_assert_null(sub->name);
  cr_assert_eq(sub->strategy, MOLT_REST_FOR_ONE);
  cr_assert_eq(sub->intensity, 3);
  cr_assert_eq(sub->period_ms, 5000);
  cr_assert_eq(sub->nchildren, 1);
  cr_assert_str_eq(sub->children[0].id, "lone");
  cr_assert_str_eq(sub->children[0].args_json, "{}");
  cr_assert_eq(sub->children[0].count, 1);

  cr_assert_eq(molt__manifest_module(m, "driver"), &m->modules[1]);
  cr_assert_null(molt__manifest_module(m, "nope"));
  molt__manifest_free(m);
  free(text);
}

Test(manifest, minimal_has_no_supervisor) {
  char* text = sq("{'name': 'x', 'version': '1', 'modules': []}");
  molt_manifest_t* m = parse_ok(text, true);

  cr_assert_eq(m->nmodules, 0);
  cr_assert_null(m->modules);
  cr_assert_null(m->sup);
  molt__manifest_free(m);
  free(text);
}

Test(manifest, source_form_needs_no_sha256) {
  char* text = edit(
      ",\n     'sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'", "");
  molt_manifest_t* m = parse_ok(text, false);

  cr_assert(m->modules[0].has_sha256);
  cr_assert_not(m->modules[1].has_sha256);
  molt__manifest_free(m);
  refuse(text, "modules[1].sha256: required field missing");
}

Test(manifest, sha256_in_upper_case_is_accepted) {
  char* text = edit("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                    "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
  molt_manifest_t* m = parse_ok(text, true);

  cr_assert_eq(m->modules[0].sha256[0], 0xba);
  molt__manifest_free(m);
  free(text);
}

/* The length is the contract, not a terminating NUL: a buffer with none
 * must be read exactly to its end (ASan catches a byte more). */
Test(manifest, text_need_not_be_nul_terminated) {
  char* text = sq(VALID);
  size_t n = strlen(text);
  char* exact = malloc(n);
  molt_manifest_t* m = NULL;
  char err[256] = "";

  memcpy(exact, text, n);
  cr_assert_eq(molt__manifest_parse(exact, n, true, &m, err, sizeof err), 0, "%s", err);
  molt__manifest_free(m);
  /* Cut short inside the buffer: malformed, not a read past it. */
  cr_assert_eq(molt__manifest_parse(exact, n / 2, true, &m, err, sizeof err), MOLT_EMANIFEST);
  free(exact);
  free(text);
}

Test(manifest, malformed_json_names_line_and_column) {
  refuse(sq("{\n  'name': 'demo',\n  'version': x\n}"), "malformed JSON at line 3, column 14");
}

Test(manifest, truncated_json) {
  char* text = sq(VALID);

  text[strlen(text) / 2] = '\0';
  refuse(text, "malformed JSON at line");
}

Test(manifest, empty_text) { refuse(strdup(""), "malformed JSON at line 1, column 1"); }

Test(manifest, text_after_the_document) {
  char* text = sq(VALID);
  char* more = malloc(strlen(text) + 4);

  strcpy(more, text);
  strcat(more, " {}");
  free(text);
  refuse(more, "malformed JSON at line 22, column 2: unexpected text after the end");
}

Test(manifest, top_level_must_be_an_object) {
  refuse(strdup("[1, 2]"), "top level: expected an object, found an array");
}

Test(manifest, missing_required_fields) {
  refuse(edit("'name': 'demo',\n", ""), "name: required field missing");
  refuse(edit("'version': '1.0.0',\n", ""), "version: required field missing");
  refuse(sq("{'name': 'x', 'version': '1'}"), "modules: required field missing");
  refuse(edit("{'name': 'driver', ", "{"), "modules[1].name: required field missing");
  refuse(edit("'vsn': '1.0.0', 'file': 'modules/counter", "'file': 'modules/counter"),
         "modules[0].vsn: required field missing");
  refuse(edit("'file': 'modules/driver-1.0.0.so',", ""), "modules[1].file: required field missing");
  refuse(edit("{'id': 'drivers', ", "{"), "supervisor.children[1].id: required field missing");
  refuse(edit(",\n       'children': [{'id': 'lone', 'module': 'counter'}]", ""),
         "supervisor.children[2].supervisor.children: required field missing");
}

Test(manifest, wrong_types) {
  refuse(edit("'name': 'demo'", "'name': 7"), "name: expected a string, found 7");
  refuse(edit("'version': '1.0.0'", "'version': 1.5"), "version: expected a string, found 1.5");
  refuse(sq("{'name': 'x', 'version': '1', 'modules': {}}"),
         "modules: expected an array, found an object");
  refuse(sq("{'name': 'x', 'version': '1', 'modules': ['counter']}"),
         "modules[0]: expected an object, found \"counter\"");
  refuse(edit("'vsn': '1.0.0', 'file': 'modules/driver", "'vsn': null, 'file': 'modules/driver"),
         "modules[1].vsn: expected a string, found null");
  refuse(edit("'file': 'modules/counter-1.0.0.so'", "'file': ['modules']"),
         "modules[0].file: expected a string, found an array");
  refuse(edit("'sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'",
              "'sha256': true"),
         "modules[1].sha256: expected a string, found true");
  refuse(sq("{'name': 'x', 'version': '1', 'modules': [], 'supervisor': []}"),
         "supervisor: expected an object, found an array");
  refuse(edit("'strategy': 'one_for_all'", "'strategy': 1"),
         "supervisor.strategy: expected a string, found 1");
  refuse(edit("'intensity': 7", "'intensity': '7'"),
         "supervisor.intensity: expected a number, found \"7\"");
  refuse(sq("{'name': 'x', 'version': '1', 'modules': [], 'supervisor': {'children': {}}}"),
         "supervisor.children: expected an array, found an object");
  refuse(edit("'id': 'counter'", "'id': false"), "supervisor.children[0].id: expected a string");
  refuse(edit("'module': 'driver'", "'module': {}"),
         "supervisor.children[1].module: expected a string");
  refuse(edit("'args': {'name': 'counter'}", "'args': ['counter']"),
         "supervisor.children[0].args: expected an object, found an array");
  refuse(edit("'restart': 'transient'", "'restart': true"),
         "supervisor.children[0].restart: expected a string, found true");
  refuse(edit("'count': 4", "'count': '4'"), "supervisor.children[1].count: expected a number");
  refuse(edit("'children': [{'id': 'lone', 'module': 'counter'}]", "'children': ['lone']"),
         "supervisor.children[2].supervisor.children[0]: expected an object, found \"lone\"");
}

Test(manifest, bad_enum_values) {
  refuse(edit("'one_for_all'", "'one_for_none'"),
         "supervisor.strategy: expected one of one_for_one, one_for_all, rest_for_one, found "
         "\"one_for_none\"");
  refuse(edit("'transient'", "'sometimes'"),
         "supervisor.children[0].restart: expected one of permanent, transient, temporary");
}

Test(manifest, unknown_keys) {
  refuse(edit("'modules':", "'modlues':"),
         "top level: unknown key \"modlues\" (expected name, version");
  refuse(edit("'sha256': 'ba78", "'sha': 'ba78"), "modules[0]: unknown key \"sha\"");
  refuse(edit("'period_ms': 1000", "'period': 1000"), "supervisor: unknown key \"period\"");
  refuse(edit("'restart': 'transient'", "'restrat': 'transient'"),
         "supervisor.children[0]: unknown key \"restrat\"");
  refuse(edit("'strategy': 'rest_for_one'", "'stratgy': 'rest_for_one'"),
         "supervisor.children[2].supervisor: unknown key \"stratgy\"");
}

/* A key with a newline in it must not break the one-line message. */
Test(manifest, odd_keys_are_escaped_in_messages) {
  refuse(edit("'modules':", "'mod\\nules':"), "top level: unknown key \"mod\\x0aules\"");
  refuse(edit("'args': {'name': 'counter'}", "'args': {'a b': {'x': 1, 'x': 2}}"),
         "supervisor.children[0].args[\"a b\"]: duplicate key \"x\"");
}

Test(manifest, duplicate_keys_at_any_depth) {
  refuse(edit("'version': '1.0.0',", "'version': '1.0.0', 'name': 'other',"),
         "top level: duplicate key \"name\"");
  refuse(edit("'vsn': '1.0.0', 'file': 'modules/counter",
              "'vsn': '1.0.0', 'vsn': '2.0.0', 'file': 'modules/counter"),
         "modules[0]: duplicate key \"vsn\"");
  refuse(edit("'intensity': 7,", "'intensity': 7, 'intensity': 1,"),
         "supervisor: duplicate key \"intensity\"");
  refuse(
      edit("{'id': 'lone', 'module': 'counter'}", "{'id': 'lone', 'module': 'counter', 'id': 'x'}"),
      "supervisor.children[2].supervisor.children[0]: duplicate key \"id\"");
  refuse(edit("'interval_ms': 10", "'interval_ms': 10, 'interval_ms': 20"),
         "supervisor.children[1].args: duplicate key \"interval_ms\"");
}

Test(manifest, duplicate_module) {
  refuse(edit("{'name': 'driver'", "{'name': 'counter'"),
         "modules[1].name: duplicate module \"counter\" (also modules[0])");
}

Test(manifest, two_modules_one_file) {
  refuse(edit("'modules/driver-1.0.0.so'", "'modules/counter-1.0.0.so'"),
         "modules[1].file: duplicate file \"modules/counter-1.0.0.so\" (also modules[0])");
}

Test(manifest, duplicate_child_id) {
  refuse(edit("{'id': 'drivers'", "{'id': 'counter'"),
         "supervisor.children[1].id: duplicate child id \"counter\" (also children[0])");
}

Test(manifest, unknown_module) {
  refuse(edit("'module': 'driver'", "'module': 'countr'"),
         "supervisor.children[1].module: unknown module \"countr\"");
  refuse(edit("{'id': 'lone', 'module': 'counter'}", "{'id': 'lone', 'module': 'nope'}"),
         "supervisor.children[2].supervisor.children[0].module: unknown module \"nope\"");
  refuse(sq("{'name': 'x', 'version': '1', 'modules': [],"
            " 'supervisor': {'children': [{'id': 'a', 'module': 'a'}]}}"),
         "supervisor.children[0].module: unknown module \"a\"");
}

Test(manifest, bad_sha256) {
  refuse(edit("'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'", "'xyz'"),
         "modules[0].sha256: expected 64 hex digits, found \"xyz\"");
  refuse(edit("'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'",
              "'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a'"),
         "modules[0].sha256: expected 64 hex digits");
  refuse(edit("'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'",
              "'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0'"),
         "modules[0].sha256: expected 64 hex digits");
  refuse(edit("'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'",
              "'ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'"),
         "modules[0].sha256: expected 64 hex digits");
  refuse(edit("'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'", "''"),
         "modules[0].sha256: expected 64 hex digits, found \"\"");
}

static void refuse_file(const char* file, const char* why) {
  char from[] = "'modules/driver-1.0.0.so'";
  char to[128], needle[256];

  snprintf(to, sizeof to, "'%s'", file);
  snprintf(needle, sizeof needle, "modules[1].file: path '%s' %s", file, why);
  refuse(edit(from, to), needle);
}

Test(manifest, file_paths_that_escape_or_are_ambiguous) {
  refuse_file("/etc/passwd", "is absolute");
  refuse_file("", "is empty");
  refuse_file("../driver.so", "has a \"..\" component");
  refuse_file("modules/../../driver.so", "has a \"..\" component");
  refuse_file("modules/..", "has a \"..\" component");
  refuse_file("modules//driver.so", "has an empty component");
  refuse_file("modules/", "has an empty component");
  refuse_file("./driver.so", "has a \".\" component");
  refuse(edit("'modules/driver-1.0.0.so'", "'modules\\\\driver.so'"),
         "modules[1].file: path \"modules\\\\driver.so\" contains a backslash");
  refuse(edit("'modules/driver-1.0.0.so'", "'modules/\\tdriver.so'"),
         "modules[1].file: path \"modules/\\x09driver.so\" contains a control character");
}

/* cJSON decodes "\u0000" into a C string that ends there: "a.so\u0000b"
 * would name a.so, and a name or version would be cut as silently. Every
 * string is refused with its path, keys and child args included. */
Test(manifest, nul_in_any_string_is_refused_with_its_path) {
  refuse(edit("'modules/counter-1.0.0.so'", "'modules/counter-1.0.0.so\\u0000../../evil.so'"),
         "modules[0].file: string contains a NUL character (at byte offset ");
  refuse(edit("{'name': 'driver'", "{'name': 'driver\\u0000x'"),
         "modules[1].name: string contains a NUL character");
  refuse(edit("'version': '1.0.0'", "'version': '1.0.0\\u0000'"),
         "version: string contains a NUL character");
  refuse(edit("'target': 'counter'", "'target': 'coun\\u0000ter'"),
         "supervisor.children[1].args.target: string contains a NUL character");
  /* Two keys equal up to a NUL are not reported as duplicates. */
  refuse(edit("'interval_ms': 10", "'interval_ms': 10, 'interval_ms\\u0000x': 1"),
         "supervisor.children[1].args: key contains a NUL character");
  /* An escaped backslash before u0000 is text, not a NUL: the path is
   * refused for its backslash instead. */
  refuse(edit("'modules/driver-1.0.0.so'", "'modules/driver\\\\u0000.so'"),
         "modules[1].file: path \"modules/driver\\\\u0000.so\" contains a backslash");
}

/* VALID (n bytes, unterminated copy) with byte delta of the one
 * occurrence of near made a raw NUL: refused starting with want. */
static void refuse_raw_nul(const char* near, size_t delta, const char* want) {
  char* text = sq(VALID);
  char* f = sq(near);
  size_t n = strlen(text);
  char* p = strstr(text, f);
  char* exact = malloc(n);
  molt_manifest_t* m = NULL;
  char err[512] = "";

  cr_assert_not_null(p, "%s", near);
  p[delta] = '\0';
  memcpy(exact, text, n);
  cr_assert_eq(molt__manifest_parse(exact, n, true, &m, err, sizeof err), MOLT_EMANIFEST, "%s",
               err);
  cr_expect_eq(strncmp(err, want, strlen(want)), 0, "message \"%s\" does not start \"%s\"", err,
               want);
  cr_expect_null(m);
  free(exact);
  free(f);
  free(text);
}

/* A raw NUL byte: inside a string cJSON copies it (and the C string ends
 * there); between tokens it skips it as blank. Both refused. */
Test(manifest, raw_nul_bytes_are_refused) {
  refuse_raw_nul("counter-1.0.0.so", 7,
                 "modules[0].file: string contains a NUL character (at byte offset ");
  refuse_raw_nul("'version': '1.0.0'", 10, "version: NUL byte in the JSON text (at byte offset ");
}

Test(manifest, bad_names_and_versions) {
  refuse(edit("'name': 'demo'", "'name': 'Demo!'"), "name: expected a release name of [a-z0-9_-]");
  refuse(edit("'name': 'demo'", "'name': ''"), "name: expected a release name");
  refuse(edit("'version': '1.0.0'", "'version': '1.0/2'"), "version: expected a version");
  refuse(edit("'version': '1.0.0'", "'version': '1.0 0'"), "version: expected a version");
  refuse(edit("{'name': 'driver'", "{'name': 'Driver'"),
         "modules[1].name: expected a module name of [a-z0-9_]");
  refuse(edit("{'name': 'driver'", "{'name': 'dri-ver'"),
         "modules[1].name: expected a module name");
  refuse(edit("{'name': 'driver'",
              "{'name': 'a234567890123456789012345678901234567890123456789012345678901234'"),
         "modules[1].name: expected a module name");
  refuse(edit("'id': 'drivers'", "'id': 'drivers.0'"), "supervisor.children[1].id: expected an id");
  refuse(edit("'name': 'demo_sup'", "'name': ''"), "supervisor.name: expected a name");
}

Test(manifest, numbers_out_of_range) {
  refuse(edit("'intensity': 7", "'intensity': -1"),
         "supervisor.intensity: expected an integer from 0 to 4294967295, found -1");
  refuse(edit("'intensity': 7", "'intensity': 4294967296"),
         "supervisor.intensity: expected an integer from 0 to 4294967295, found 4294967296");
  refuse(edit("'period_ms': 1000", "'period_ms': 0"),
         "supervisor.period_ms: expected an integer from 1 to 4294967295, found 0");
  refuse(edit("'shutdown_ms': 250", "'shutdown_ms': 1.5"),
         "supervisor.children[0].shutdown_ms: expected an integer from 0 to 4294967295, found 1.5");
  refuse(edit("'count': 4", "'count': 0"),
         "supervisor.children[1].count: expected an integer from 1 to 1000000, found 0");
  refuse(edit("'count': 4", "'count': 1000001"),
         "supervisor.children[1].count: expected an integer from 1 to 1000000, found 1000001");
  refuse(edit("'count': 4", "'count': 1e300"), "supervisor.children[1].count: expected an integer");
}

Test(manifest, child_is_a_worker_or_a_supervisor) {
  refuse(edit("{'id': 'lone', 'module': 'counter'}",
              "{'id': 'lone', 'module': 'counter', 'supervisor': {'children': []}}"),
         "supervisor.children[2].supervisor.children[0]: has both \"module\" and \"supervisor\"");
  refuse(edit("{'id': 'lone', 'module': 'counter'}", "{'id': 'lone'}"),
         "supervisor.children[2].supervisor.children[0]: needs \"module\" (a worker) or "
         "\"supervisor\"");
  refuse(edit("{'id': 'sub', 'restart'", "{'id': 'sub', 'count': 2, 'restart'"),
         "supervisor.children[2].count: only a worker");
  refuse(edit("{'id': 'sub', 'restart'", "{'id': 'sub', 'args': {}, 'restart'"),
         "supervisor.children[2].args: only a worker");
}

Test(manifest, nesting_beyond_the_limit_is_malformed) {
  size_t depth = 5000, i;
  char* text = malloc(depth * 2 + 1);

  for (i = 0; i < depth; i++) {
    text[i] = '[';
    text[depth + i] = ']';
  }
  text[2 * depth] = '\0';
  refuse(text, "malformed JSON at line 1");
}

Test(manifest, error_buffer_is_optional_and_bounded) {
  char* text = edit("'count': 4", "'count': 0");
  molt_manifest_t* m = NULL;
  char small[12];

  cr_assert_eq(molt__manifest_parse(text, strlen(text), true, &m, NULL, 0), MOLT_EMANIFEST);
  memset(small, 'x', sizeof small);
  cr_assert_eq(molt__manifest_parse(text, strlen(text), true, &m, small, sizeof small),
               MOLT_EMANIFEST);
  cr_assert_eq(strlen(small), sizeof small - 1);
  cr_assert_str_eq(small, "supervisor.");
  cr_assert_null(m);
  free(text);
}

Test(manifest, read_names_the_file) {
  molt_manifest_t* m = NULL;
  char err[512] = "";

  cr_assert_eq(molt__manifest_read("/nonexistent/release.json", true, &m, err, sizeof err),
               MOLT_ENOENT);
  cr_assert_str_eq(err, "/nonexistent/release.json: no such file or directory");
  cr_assert_eq(molt__manifest_read(MOLT_SOURCE_DIR "/CMakeLists.txt", true, &m, err, sizeof err),
               MOLT_EMANIFEST);
  cr_assert_eq(strncmp(err, MOLT_SOURCE_DIR "/CMakeLists.txt: malformed JSON at line 1",
                       strlen(MOLT_SOURCE_DIR "/CMakeLists.txt: malformed JSON at line 1")),
               0, "%s", err);
  cr_assert_eq(molt__manifest_read(MOLT_SOURCE_DIR, true, &m, err, sizeof err), MOLT_EINVAL);
  cr_assert_null(m);
}

Test(manifest, refuses_an_unknown_alarm_and_a_threshold_out_of_range) {
  refuse(strdup("{\"name\": \"r\", \"version\": \"1\", \"modules\": [], \"alarms\": {\"mailbx\": 5}}"),
         "alarms: unknown key 'mailbx'");
  refuse(strdup("{\"name\": \"r\", \"version\": \"1\", \"modules\": [], "
                "\"alarms\": {\"scheduler_busy_percent\": 101}}"),
         "alarms.scheduler_busy_percent");
}
