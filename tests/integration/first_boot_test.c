/* first_boot_test.c: a failed first boot does not poison the home (issue
 * 14, point 7), through the real molt command: `molt run --release BAD`
 * that cannot start leaves BAD unpacked and nothing permanent; `molt
 * releases` and `molt remove` work with no container, reading and locking
 * the home's store themselves, in the same shapes as a container's
 * answers; remove refuses the permanent and the running release. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "release_store.h"
#include "testutil.h"

#define REL(v) MOLT_RELEASE_DIR "/demo-" v

TestSuite(first_boot, .init = ct_setup, .fini = ct_teardown, .timeout = 90);

/* Release "twice" <vsn>: two tally children registering the names a and
 * b, which are the same name in a bad release: the second child's init
 * fails and the root supervisor refuses to start. With unresolved, the
 * release also lists a module that fails to load (an undefined symbol).
 * Returns the bundle's path (malloc'd). */
static char* bundle_twice(const char* vsn, const char* a, const char* b, bool unresolved) {
  char text[2048], name[64], *out = NULL, *path = NULL;
  snprintf(text, sizeof(text),
           "{\"name\": \"twice\", \"version\": \"%s\", \"modules\": ["
           "{\"name\": \"tally\", \"vsn\": \"1.0.0\", \"file\": \"tally-a-1.0.0.so\"}%s],"
           "\"supervisor\": {\"name\": \"twice_sup\", \"strategy\": \"one_for_one\", \"intensity\": 1,"
           " \"period_ms\": 1000, \"children\": ["
           "{\"id\": \"one\", \"module\": \"tally\", \"args\": {\"name\": \"%s\"}},"
           "{\"id\": \"two\", \"module\": \"tally\", \"args\": {\"name\": \"%s\"}}]}}",
           vsn,
           unresolved ? ", {\"name\": \"unresolved\", \"vsn\": \"1.0.0\", \"file\": \"unresolved-1.0.0.so\"}" : "",
           a, b);
  snprintf(name, sizeof(name), "twice-%s", vsn);
  cr_assert_eq(ct_bundle(name, text, MOLT_FIXTURE_DIR, &out), 0, "%s", out);
  free(out);
  cr_assert_geq(asprintf(&path, "%s/%s", ct_home, name), 0);
  return path;
}

/* `molt <args>`: its exit status must be want; its output (malloc'd). */
static char* molt_expect(const char* args, int want) {
  char* out = NULL;
  int rc = ct_molt(args, &out);
  cr_assert_eq(rc, want, "molt %s: exit %d: %s", args, rc, out);
  return out;
}

static void expect_output(const char* args, int want_rc, const char* want) {
  char* out = molt_expect(args, want_rc);
  cr_expect_str_eq(out, want, "molt %s", args);
  free(out);
}


static bool home_has(const char* rel) {
  char path[4096];
  struct stat st;
  snprintf(path, sizeof(path), "%s/%s", ct_home, rel);
  return stat(path, &st) == 0;
}

/* molt run --release bundle fails within 20 s with status 1, its one line
 * naming reason and saying the release stays unpacked. */
static void expect_first_boot_fails(const char* bundle, const char* vsn, const char* reason) {
  char want[256];
  ct_launch(bundle);
  int status = ct_wait_exit(20000);
  char* log = tu_read_file(ct_log, NULL);
  cr_assert_eq(status, 1, "exit status %d:\n%s", status, log);
  cr_expect(strstr(log, reason), "%s", log);
  snprintf(want, sizeof(want), "(release %s stays unpacked, not permanent; molt remove %s deletes it)\n", vsn, vsn);
  cr_expect(strstr(log, want), "%s", log);
  free(log);
}

Test(first_boot, a_root_child_failing_init_leaves_the_release_unpacked_and_remove_deletes_it) {
  char b[64];
  char *bad = bundle_twice("1.0.0", "same", "same", false), *good = bundle_twice("1.1.0", "a", "b", false);
  expect_first_boot_fails(bad, "1.0.0", "molt run: release twice 1.0.0: child two (tally): already exists");

  /* No container: releases reads the home, which has nothing permanent. */
  expect_output("releases", 0, "twice      1.0.0      unpacked  \n");
  cr_expect_str_eq(ct_release_state("1.0.0", b, sizeof(b)), "unpacked");
  char* out = molt_expect("run", 1);
  cr_expect(strstr(out, "molt run: no release to run in"), "%s", out);
  free(out);

  expect_output("remove 1.0.0", 0, "twice 1.0.0: removed (was unpacked)\n");
  cr_expect_not(home_has("releases/twice-1.0.0"));
  out = molt_expect("releases", 0);
  cr_expect(strncmp(out, "no releases in /", 16) == 0, "%s", out);
  free(out);

  /* The good release then boots, and only it is permanent. */
  ct_start(good);
  cr_expect_str_eq(ct_release_state("1.1.0", b, sizeof(b)), "permanent");
  cr_expect(ct_wait_log("release 1.1.0 started; it is now this home's permanent release", 1000));
  free(bad);
  free(good);
}

/* A module that fails to load is a failed boot too; the good release is
 * booted next to it, and the bad one is removed with a container serving. */
Test(first_boot, a_module_failing_to_load_leaves_no_permanent_release_and_a_good_one_boots_after) {
  char b[64];
  char *bad = bundle_twice("0.9.0", "a", "b", true), *good = bundle_twice("1.1.0", "a", "b", false);
  expect_first_boot_fails(bad, "0.9.0", "undefined symbol");
  cr_expect_str_eq(ct_release_state("0.9.0", b, sizeof(b)), "unpacked");

  ct_start(good);
  cr_expect_str_eq(ct_release_state("1.1.0", b, sizeof(b)), "permanent");
  cr_expect_str_eq(ct_release_state("0.9.0", b, sizeof(b)), "unpacked");
  cJSON* r = ct_json("remove 0.9.0");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "version")->valuestring, "0.9.0");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "state")->valuestring, "unpacked");
  cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(r, "removed")));
  cJSON_Delete(r);
  cr_expect_str_eq(ct_release_state("0.9.0", b, sizeof(b)), "-");
  cr_expect_not(home_has("releases/twice-0.9.0"));

  /* A restart boots the permanent release, not the one given. */
  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_assert_eq(ct_wait_exit(15000), 0);
  ct_start(NULL);
  cJSON* j = ct_json("status");
  cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "release"), "version")->valuestring, "1.1.0");
  cJSON_Delete(j);
  free(bad);
  free(good);
}

Test(first_boot, remove_refuses_the_permanent_and_the_running_release_online_and_offline) {
  ct_start(REL("1.0.0"));
  cJSON_Delete(ct_json("unpack " REL("1.1.0")));
  cJSON_Delete(ct_json("upgrade 1.1.0"));
  const char* permanent = "molt remove: release 1.0.0 is permanent (what the container boots): not removed\n";
  expect_output("remove 1.0.0", 1, permanent);
  expect_output("remove 1.1.0", 1, "molt remove: release 1.1.0 is running (current, not committed): not removed\n");
  expect_output("remove 9.9.9", 1, "molt remove: no release 9.9.9 in this home\n");
  char* out = molt_expect("remove 1.0.0 --json", 1);
  cJSON* e = cJSON_Parse(out);
  cr_assert(e, "%s", out);
  cr_expect_str_eq(cJSON_GetObjectItem(e, "error")->valuestring, "EBUSY");
  cJSON_Delete(e);
  free(out);

  /* Offline: the container is gone, 1.1.0 was never committed and is
   * unpacked again; 1.0.0 stays what boots. */
  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_assert_eq(ct_wait_exit(15000), 0);
  expect_output("remove 1.0.0", 1, permanent);
  expect_output("remove 9.9.9", 1, "molt remove: no release 9.9.9 in this home\n");
  expect_output("remove 1.1.0", 0, "demo 1.1.0: removed (was unpacked)\n");
  cr_expect(home_has("releases/demo-1.0.0"));
  expect_output("releases", 0, "demo       1.0.0      permanent   #1\n");
}

/* 1.0.0 -> 1.1.0 -> 2.0.0, each committed; 1.1.0, where rollback would
 * go, removed while serving: rollback goes back to 1.0.0. */
Test(first_boot, remove_of_an_old_release_while_serving_takes_it_off_the_way_back) {
  char b[64];
  ct_start(REL("1.0.0"));
  cJSON_Delete(ct_json("unpack " REL("1.1.0")));
  cJSON_Delete(ct_json("unpack " REL("2.0.0")));
  cJSON_Delete(ct_json("upgrade 1.1.0"));
  cJSON_Delete(ct_json("commit"));
  cJSON_Delete(ct_json("upgrade 2.0.0"));
  cJSON_Delete(ct_json("commit"));
  expect_output("remove 1.1.0", 0, "demo 1.1.0: removed (was old)\n");
  cr_expect_not(home_has("releases/demo-1.1.0"));
  expect_output("releases", 0,
                "demo       1.0.0      old         #1  (rollback goes here)\n"
                "demo       2.0.0      permanent   #2  (running)\n");
  cJSON* r = ct_json("rollback");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "to")->valuestring, "1.0.0");
  cJSON_Delete(r);
  cr_expect_str_eq(ct_release_state("1.0.0", b, sizeof(b)), "permanent");
}

/* Every entry offline has the keys and values it has online, but for
 * what only a running container has: "running" (false offline) and the
 * running release's "drift". */
Test(first_boot, releases_json_offline_has_the_shape_of_the_containers_answer) {
  ct_start(REL("1.0.0"));
  cJSON_Delete(ct_json("unpack " REL("1.1.0")));
  cJSON* online = ct_json("releases");
  cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(online, 0), "running")));
  cr_assert(cJSON_IsArray(cJSON_GetObjectItem(cJSON_GetArrayItem(online, 0), "drift")));
  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_assert_eq(ct_wait_exit(15000), 0);
  cJSON* offline = ct_json("releases");
  cr_assert_eq(cJSON_GetArraySize(offline), 2);
  cr_assert_eq(cJSON_GetArraySize(online), 2);
  for (int i = 0; i < 2; i++) {
    cJSON *on = cJSON_GetArrayItem(online, i), *off = cJSON_GetArrayItem(offline, i);
    cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(off, "running")));
    cr_expect_null(cJSON_GetObjectItem(off, "drift"));
    cJSON_DeleteItemFromObject(on, "drift");
    cJSON_ReplaceItemInObject(on, "running", cJSON_CreateFalse());
    cr_expect(cJSON_Compare(on, off, true), "entry %d differs", i);
  }
  cJSON_Delete(online);
  cJSON_Delete(offline);
}

/* The store's lock is the one way in: while this test process holds it
 * (as `molt releases` does for its moment), `molt run` is refused, and so
 * is `molt releases` with no container to ask. */
Test(first_boot, the_store_lock_keeps_an_offline_reader_and_a_container_apart) {
  ct_start(REL("1.0.0"));
  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_assert_eq(ct_wait_exit(15000), 0);
  molt_store_t* s = NULL;
  char err[512] = "";
  cr_assert_eq(molt__store_open(ct_home, &s, err, sizeof(err)), 0, "%s", err);
  char* out = molt_expect("releases", 1);
  cr_expect(strstr(out, "molt releases: ") && strstr(out, "another process has this home's releases open"), "%s",
            out);
  free(out);
  ct_launch(NULL);
  cr_expect_eq(ct_wait_exit(20000), 1);
  cr_expect(ct_wait_log("another process has this home's releases open", 1000));
  molt__store_close(s);
  expect_output("releases", 0, "demo       1.0.0      permanent   #1\n");
}

/* No container and no home: one line, and no home made; an empty home
 * lists no release and is left as it was. */
Test(first_boot, releases_without_a_home_says_so_and_creates_nothing) {
  char args[4096], *out = NULL;
  snprintf(args, sizeof(args), "%s releases --home '%s/none' 2>&1", MOLT_BIN, ct_home);
  cr_expect_eq(tu_run(args, &out), 1, "%s", out);
  cr_expect(strstr(out, "molt releases: no container is running in ") && strstr(out, ", and there is no home there\n"),
            "%s", out);
  free(out);
  cr_expect_not(home_has("none"));
  snprintf(args, sizeof(args), "%s remove 1.0.0 --home '%s/none' 2>&1", MOLT_BIN, ct_home);
  cr_expect_eq(tu_run(args, &out), 1, "%s", out);
  free(out);
  cr_expect_not(home_has("none"));

  out = molt_expect("releases", 0);
  cr_expect(strncmp(out, "no releases in /", 16) == 0, "%s", out);
  free(out);
  out = molt_expect("releases --json", 0);
  cr_expect_str_eq(out, "[]\n");
  free(out);
  cr_expect_not(home_has("releases"));
}
