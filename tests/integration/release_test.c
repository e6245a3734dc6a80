/* release_test.c: the release lifecycle on a real container under its
 * drivers' load: unpack, upgrade (soft, with code_change, adding and
 * dropping modules), commit, rollback, boot after SIGKILL, bad input. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

#define REL(v) MOLT_RELEASE_DIR "/demo-" v

TestSuite(release, .init = ct_setup, .fini = ct_teardown, .timeout = 90);

static const char* running_vsn(char* buf, size_t len) {
  cJSON* j = ct_json("status");
  snprintf(buf, len, "%s", cJSON_GetObjectItem(cJSON_GetObjectItem(j, "release"), "version")->valuestring);
  cJSON_Delete(j);
  return buf;
}

static bool has_module(const char* name) {
  cJSON* j = ct_json("status");
  cJSON* m;
  bool found = false;
  cJSON_ArrayForEach(m, cJSON_GetObjectItem(j, "modules")) {
    if (strcmp(cJSON_GetObjectItem(m, "name")->valuestring, name) == 0 &&
        cJSON_IsString(cJSON_GetObjectItem(m, "current")))
      found = true;
  }
  cJSON_Delete(j);
  return found;
}

static void unpack_all(void) {
  cJSON_Delete(ct_json("unpack " REL("1.1.0")));
  cJSON_Delete(ct_json("unpack " REL("2.0.0")));
}


Test(release, rollout_commit_and_rollback_keep_every_message) {
  char b[64];
  ct_start(REL("1.0.0"));
  unpack_all();
  cr_expect_str_eq(ct_release_state("1.0.0", b, sizeof(b)), "permanent");
  cr_expect_str_eq(ct_release_state("1.1.0", b, sizeof(b)), "unpacked");

  usleep(100000);
  cJSON* r = ct_json("upgrade 1.1.0");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "state")->valuestring, "current");
  cr_expect(strstr(cJSON_GetObjectItem(r, "plan")->valuestring, "soft counter"));
  cJSON_Delete(r);
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "1.1.0");
  cJSON_Delete(ct_json("commit"));
  cr_expect_str_eq(ct_release_state("1.1.0", b, sizeof(b)), "permanent");
  cr_expect_str_eq(ct_release_state("1.0.0", b, sizeof(b)), "old");

  usleep(100000);
  r = ct_json("upgrade 2.0.0");
  const char* plan = cJSON_GetObjectItem(r, "plan")->valuestring;
  cr_expect(strstr(plan, "update counter 1.1.0 -> 2.0.0 (code_change)"), "%s", plan);
  cr_expect(strstr(plan, "add stats"), "%s", plan);
  cr_expect(strstr(plan, "remove heartbeat"), "%s", plan);
  cJSON_Delete(r);
  cr_expect(has_module("stats"));
  cr_expect_not(has_module("heartbeat"));
  r = ct_json("inspect counter");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "vsn")->valuestring, "2.0.0");
  cJSON_Delete(r);

  usleep(100000);
  r = ct_json("rollback");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "to")->valuestring, "1.1.0");
  cr_expect(strstr(cJSON_GetObjectItem(r, "plan")->valuestring, "code_change down"));
  cJSON_Delete(r);
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "1.1.0");
  cr_expect(has_module("heartbeat"));
  cr_expect_not(has_module("stats"));
  cr_expect_str_eq(ct_release_state("2.0.0", b, sizeof(b)), "unpacked");

  ct_stop_expect_no_loss();
}

Test(release, a_chain_1_0_0_to_2_0_0_and_back_in_one_transaction_each) {
  char b[64];
  ct_start(REL("1.0.0"));
  unpack_all();
  cJSON* r = ct_json("upgrade 2.0.0");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "to")->valuestring, "2.0.0");
  cJSON_Delete(r);
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "2.0.0");
  r = ct_json("upgrade 1.0.0");
  cJSON_Delete(r);
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "1.0.0");
  cr_expect_str_eq(ct_release_state("1.0.0", b, sizeof(b)), "permanent");
}

Test(release, check_changes_nothing_and_bad_input_is_refused_while_serving) {
  char b[64];
  ct_start(REL("1.0.0"));
  unpack_all();
  cJSON* r = ct_json("upgrade 2.0.0 --check");
  cr_expect_null(cJSON_GetObjectItem(r, "state"));
  cJSON_Delete(r);
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "1.0.0");
  char* out = NULL;
  cr_expect_eq(ct_molt("upgrade 9.9.9", &out), 1);
  cr_expect(strstr(out, "9.9.9"), "%s", out);
  free(out);
  cr_expect_eq(ct_molt("upgrade 1.0.0", &out), 1);
  cr_expect(strstr(out, "already running"), "%s", out);
  free(out);
  cr_expect_eq(ct_molt("commit", &out), 1);
  cr_expect(strstr(out, "nothing to commit"), "%s", out);
  free(out);
  /* A corrupt bundle: one byte of a module flipped. */
  char cmd[16384];
  snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s/bad' && printf x | dd of='%s/bad/modules/counter-2.0.0.so' bs=1 seek=4000 conv=notrunc 2>/dev/null && sed -i 's/\"2.0.0\"/\"3.0.0\"/' '%s/bad/release.json'",
           REL("2.0.0"), ct_home, ct_home, ct_home);
  cr_assert_eq(system(cmd), 0);
  char args[8192];
  snprintf(args, sizeof(args), "unpack '%s/bad'", ct_home);
  cr_expect_eq(ct_molt(args, &out), 1);
  cr_expect(strstr(out, "sha256") || strstr(out, "vsn"), "%s", out);
  cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "not one line: %s", out);
  free(out);
  cr_expect_str_eq(ct_release_state("3.0.0", b, sizeof(b)), "-");
  cJSON* j = ct_json("status");
  cr_expect_eq(cJSON_GetObjectItem(j, "actors")->valueint, 8);
  cJSON_Delete(j);
}

Test(release, after_sigkill_an_uncommitted_upgrade_boots_the_permanent_release) {
  char b[64];
  ct_start(REL("1.0.0"));
  unpack_all();
  cJSON_Delete(ct_json("upgrade 2.0.0"));
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "2.0.0");
  ct_signal(SIGKILL);
  ct_wait_exit(5000);
  /* Boot again with no --release: the home's permanent release. */
  ct_start(NULL);
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "1.0.0");
  cr_expect_str_eq(ct_release_state("2.0.0", b, sizeof(b)), "unpacked");
  cJSON_Delete(ct_json("upgrade 2.0.0"));
  cJSON_Delete(ct_json("commit"));
  ct_signal(SIGKILL);
  ct_wait_exit(5000);
  ct_start(NULL);
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "2.0.0");
}

/* Bundles of the demo whose 2.0.0 lists explicit paths only from and to
 * 1.1.0, so 1.0.0 <-> 2.0.0 must chain through 1.1.0. */
static void write_chain_bundles(void) {
  const char* vsns[] = {"1.0.0", "1.1.0", "2.0.0"};
  for (int i = 0; i < 3; i++) {
    char src[4096], dst[4096], cmd[16384];
    snprintf(src, sizeof(src), MOLT_SOURCE_DIR "/releases/demo/%s.json", vsns[i]);
    char* text = tu_read_file(src, NULL);
    cJSON* m = cJSON_Parse(text);
    free(text);
    cr_assert(m);
    if (i == 2) {
      cJSON* up = cJSON_Parse(
          "[{\"from\":\"1.1.0\",\"steps\":[{\"op\":\"update\",\"module\":\"counter\"},"
          "{\"op\":\"update\",\"module\":\"http\"},"
          "{\"op\":\"add\",\"module\":\"stats\"},{\"op\":\"remove\",\"module\":\"heartbeat\"}]}]");
      cJSON* down = cJSON_Parse(
          "[{\"to\":\"1.1.0\",\"steps\":[{\"op\":\"update\",\"module\":\"counter\"},"
          "{\"op\":\"update\",\"module\":\"http\"},"
          "{\"op\":\"remove\",\"module\":\"stats\"},{\"op\":\"add\",\"module\":\"heartbeat\"}]}]");
      cJSON_AddItemToObject(m, "upgrade", up);
      cJSON_AddItemToObject(m, "downgrade", down);
    }
    char* out = cJSON_Print(m);
    cJSON_Delete(m);
    snprintf(dst, sizeof(dst), "%s/src-%s.json", ct_home, vsns[i]);
    cr_assert_eq(tu_write_file(dst, out, strlen(out)), 0);
    cJSON_free(out);
    snprintf(cmd, sizeof(cmd), "'%s' '%s' '%s' '%s/chain-%s' 2>&1", MOLT_BUILD_DIR "/bin/molt-bundle", dst,
             MOLT_MODULE_DIR, ct_home, vsns[i]);
    char* log = NULL;
    cr_assert_eq(tu_run(cmd, &log), 0, "%s", log);
    free(log);
  }
}

Test(release, a_jump_with_no_direct_path_chains_through_the_release_between) {
  char b[64], path[4096], args[8192];
  write_chain_bundles();
  snprintf(path, sizeof(path), "%s/chain-1.0.0", ct_home);
  ct_start(path);
  for (int i = 1; i < 3; i++) {
    snprintf(args, sizeof(args), "unpack '%s/chain-%s'", ct_home, i == 1 ? "1.1.0" : "2.0.0");
    cJSON_Delete(ct_json(args));
  }
  usleep(100000);
  cJSON* r = ct_json("upgrade 2.0.0");
  cr_expect_eq(cJSON_GetObjectItem(r, "hops")->valueint, 2);
  const char* plan = cJSON_GetObjectItem(r, "plan")->valuestring;
  cr_expect(strstr(plan, "1.0.0 -> 1.1.0: soft counter"), "%s", plan);
  cr_expect(strstr(plan, "1.1.0 -> 2.0.0: update counter 1.1.0 -> 2.0.0"), "%s", plan);
  cJSON_Delete(r);
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "2.0.0");
  r = ct_json("inspect counter");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "vsn")->valuestring, "2.0.0");
  cJSON_Delete(r);
  usleep(100000);
  r = ct_json("upgrade 1.0.0"); /* back down the same chain */
  cr_expect_eq(cJSON_GetObjectItem(r, "hops")->valueint, 2);
  cJSON_Delete(r);
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "1.0.0");
  cr_expect(has_module("heartbeat"));
  cr_expect_not(has_module("stats"));
  ct_stop_expect_no_loss();
}

/* The order of `molt releases --json`: each release's permanent_order
 * (0: off the way back), and where rollback goes. */
static void expect_order(int o100, int o110, int o200, const char* target) {
  const char* vsns[] = {"1.0.0", "1.1.0", "2.0.0"};
  int want[] = {o100, o110, o200};
  cJSON* j = ct_json("releases");
  cJSON* r;
  char got[64] = "none";
  cJSON_ArrayForEach(r, j) {
    const char* v = cJSON_GetObjectItem(r, "version")->valuestring;
    for (int i = 0; i < 3; i++)
      if (strcmp(v, vsns[i]) == 0)
        cr_expect_eq(cJSON_GetObjectItem(r, "permanent_order")->valueint, want[i], "%s", v);
    if (cJSON_IsTrue(cJSON_GetObjectItem(r, "rollback_target"))) snprintf(got, sizeof(got), "%s", v);
  }
  cJSON_Delete(j);
  cr_expect_str_eq(got, target);
}

/* 1.0.0 -> 1.1.0 (commit) -> 2.0.0 (commit); rollback -> 1.1.0; a
 * restart; rollback -> 1.0.0, never forward to 2.0.0; then nothing is
 * left to roll back to. */
Test(release, rollback_walks_back_through_the_permanent_releases_never_forward) {
  char b[64];
  ct_start(REL("1.0.0"));
  unpack_all();
  cJSON_Delete(ct_json("upgrade 1.1.0"));
  cJSON_Delete(ct_json("commit"));
  cJSON_Delete(ct_json("upgrade 2.0.0"));
  cJSON_Delete(ct_json("commit"));
  expect_order(1, 2, 3, "1.1.0");
  char* out = NULL;
  cr_assert_eq(ct_molt("releases", &out), 0, "%s", out);
  cr_expect(strstr(out, "demo       1.0.0      old         #1\n"), "%s", out);
  cr_expect(strstr(out, "demo       1.1.0      old         #2  (rollback goes here)\n"), "%s", out);
  cr_expect(strstr(out, "demo       2.0.0      permanent   #3  (running)\n"), "%s", out);
  free(out);

  cJSON* r = ct_json("rollback");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "to")->valuestring, "1.1.0");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "state")->valuestring, "permanent");
  cr_expect(strstr(cJSON_GetObjectItem(r, "plan")->valuestring, "code_change down"));
  cJSON_Delete(r);
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "1.1.0");
  cr_expect_str_eq(ct_release_state("2.0.0", b, sizeof(b)), "old");
  expect_order(1, 2, 0, "1.0.0");

  /* The way back is in the releases file: a restart keeps it. */
  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_assert_eq(ct_wait_exit(15000), 0);
  ct_start(NULL);
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "1.1.0");
  expect_order(1, 2, 0, "1.0.0");

  r = ct_json("rollback");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "from")->valuestring, "1.1.0");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "to")->valuestring, "1.0.0");
  cJSON_Delete(r);
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "1.0.0");
  cr_expect_str_eq(ct_release_state("1.0.0", b, sizeof(b)), "permanent");
  expect_order(1, 0, 0, "none");
  cr_expect_eq(ct_molt("rollback", &out), 1);
  cr_expect(strstr(out, "nothing to roll back to"), "%s", out);
  free(out);
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "1.0.0");
}
