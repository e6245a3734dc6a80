/* release_many_modules_test.c: a release change that adds or drops 100
 * modules at once, through the real molt command. The release handler
 * once collected adds and removes into tables of 64 and left the rest
 * out without a word: module 65 on was never installed, or never purged. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "testutil.h"

#define NMANY 100

TestSuite(release_many, .init = ct_setup, .fini = ct_teardown, .timeout = 60);

/* Bundle release "many" vsn into <home>/many-<vsn>: the good fixture, and
 * with_many, also many_00 to many_99. No supervisor: what is tested is
 * which modules are loaded, not what runs. */
static void write_bundle(const char* vsn, bool with_many) {
  cJSON* m = cJSON_CreateObject();
  cJSON_AddStringToObject(m, "name", "many");
  cJSON_AddStringToObject(m, "version", vsn);
  cJSON* mods = cJSON_AddArrayToObject(m, "modules");
  for (int i = -1; i < (with_many ? NMANY : 0); i++) {
    char name[32], file[64];
    snprintf(name, sizeof(name), i < 0 ? "good" : "many_%02d", i);
    snprintf(file, sizeof(file), "%s-1.0.0.so", name);
    cJSON* mod = cJSON_CreateObject();
    cJSON_AddStringToObject(mod, "name", name);
    cJSON_AddStringToObject(mod, "vsn", "1.0.0");
    cJSON_AddStringToObject(mod, "file", file);
    cJSON_AddItemToArray(mods, mod);
  }
  char* text = cJSON_Print(m);
  cJSON_Delete(m);
  char name[64], *log = NULL;
  snprintf(name, sizeof(name), "many-%s", vsn);
  int rc = ct_bundle(name, text, MOLT_FIXTURE_DIR, &log);
  free(text);
  cr_assert_eq(rc, 0, "%s", log);
  free(log);
}

static void start_on(const char* vsn) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/many-%s", ct_home, vsn);
  ct_start(path);
}

static void unpack(const char* vsn) {
  char args[8192];
  snprintf(args, sizeof(args), "unpack '%s/many-%s'", ct_home, vsn);
  cJSON_Delete(ct_json(args));
}

/* Of the many_* modules: how many have a current version, and how many
 * still hold any version (current, or old and not yet purged). */
static void count_many(int* current, int* held) {
  cJSON* j = ct_json("status");
  cJSON* m;
  *current = *held = 0;
  cJSON_ArrayForEach(m, cJSON_GetObjectItem(j, "modules")) {
    if (strncmp(cJSON_GetObjectItem(m, "name")->valuestring, "many_", 5) != 0) continue;
    bool cur = cJSON_IsString(cJSON_GetObjectItem(m, "current"));
    *current += cur;
    *held += cur || cJSON_IsString(cJSON_GetObjectItem(m, "old"));
  }
  cJSON_Delete(j);
}

/* A clean stop, so a sanitizer build of the container reports leaks into
 * its log, which ct_teardown reads. */
static void stop(void) {
  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_assert_eq(ct_wait_exit(15000), 0);
}

/* Run a release change that must succeed; check its plan names the last
 * module as added or removed. */
static void change(const char* cmd, const char* in_plan) {
  cJSON* r = ct_json(cmd);
  const char* plan = cJSON_GetObjectItem(r, "plan")->valuestring;
  cr_expect(strstr(plan, in_plan), "%s", plan);
  cJSON_Delete(r);
}

Test(release_many, an_upgrade_adding_100_modules_installs_them_all_and_a_rollback_purges_them_all) {
  int current, held;
  write_bundle("1.0.0", false);
  write_bundle("2.0.0", true);
  start_on("1.0.0");
  unpack("2.0.0");

  change("upgrade 2.0.0", "add many_99");
  count_many(&current, &held);
  cr_expect_eq(current, NMANY, "%d of %d added modules installed", current, NMANY);

  change("rollback", "remove many_99");
  count_many(&current, &held);
  cr_expect_eq(held, 0, "%d of %d dropped modules still loaded", held, NMANY);
  stop();
}

/* Booting 2.0.0 loads its modules without the release handler, so this
 * checks the removes alone. */
Test(release_many, a_downgrade_dropping_100_modules_purges_them_all) {
  int current, held;
  write_bundle("1.0.0", false);
  write_bundle("2.0.0", true);
  start_on("2.0.0");
  unpack("1.0.0");
  count_many(&current, &held);
  cr_assert_eq(current, NMANY);

  change("upgrade 1.0.0", "remove many_99");
  count_many(&current, &held);
  cr_expect_eq(held, 0, "%d of %d dropped modules still loaded", held, NMANY);
  stop();
}
