/* load_test.c: `molt load`, `purge`, `ps` and `inspect` on a real
 * container serving the demo release under its drivers' steady load. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

#define DEMO MOLT_RELEASE_DIR "/demo-1.0.0"

TestSuite(load, .init = ct_setup, .fini = ct_teardown, .timeout = 60);

static int module_revision(const char* name) {
  cJSON* j = ct_json("status");
  cJSON* m;
  int rev = -1;
  cJSON_ArrayForEach(m, cJSON_GetObjectItem(j, "modules")) {
    if (strcmp(cJSON_GetObjectItem(m, "name")->valuestring, name) == 0)
      rev = cJSON_GetObjectItem(m, "current_revision")->valueint;
  }
  cJSON_Delete(j);
  return rev;
}

static double counter_total(void) {
  cJSON* j = ct_json("inspect counter");
  cJSON* total = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "state"), "total");
  cr_assert(cJSON_IsNumber(total));
  double t = total->valuedouble;
  cJSON_Delete(j);
  return t;
}

Test(load, a_rebuilt_module_loads_as_a_new_revision_keeping_state_under_load) {
  ct_start(DEMO);
  usleep(200000);
  double before = counter_total();
  cr_assert_gt(before, 0);
  for (int i = 0; i < 5; i++) {
    cJSON* r = ct_json("load " MOLT_MODULE_DIR "/counter-1.0.0.so");
    cr_expect_str_eq(cJSON_GetObjectItem(r, "mode")->valuestring, "soft");
    cr_expect_eq(cJSON_GetObjectItem(r, "actors")->valueint, 1);
    cr_expect_eq(cJSON_GetObjectItem(r, "revision")->valueint, i + 2);
    cJSON_Delete(r);
  }
  cr_expect_eq(module_revision("counter"), 6);
  cr_expect_geq(counter_total(), before, "the counts must carry over");
  char* out = NULL;
  cr_assert_eq(ct_molt("stop", &out), 0, "%s", out);
  free(out);
  cr_assert_eq(ct_wait_exit(15000), 0);
  char* log = tu_read_file(ct_log, NULL);
  cr_expect_null(strstr(log, "mismatch on"), "a driver saw a lost message: %s", log);
  free(log);
}

Test(load, a_bad_file_is_refused_in_one_line_and_the_old_code_serves_on) {
  ct_start(DEMO);
  const char* bad[] = {"/etc/hostname", MOLT_FIXTURE_DIR "/other_abi-1.0.0.so", "/nonexistent.so"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char args[4096], *out = NULL;
    snprintf(args, sizeof(args), "load %s", bad[i]);
    cr_expect_eq(ct_molt(args, &out), 1, "%s", out);
    cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "not one line: %s", out);
    free(out);
  }
  cr_expect_eq(module_revision("counter"), 1);
  cJSON* j = ct_json("status");
  cr_expect_eq(cJSON_GetObjectItem(j, "actors")->valueint, 8);
  cJSON_Delete(j);
}

Test(load, ps_lists_actors_and_inspect_shows_state) {
  ct_start(DEMO);
  cJSON* j = ct_json("ps");
  cr_expect_eq(cJSON_GetObjectItem(j, "total")->valueint, 8);
  cJSON_Delete(j);
  j = ct_json("ps --module driver");
  cr_expect_eq(cJSON_GetObjectItem(j, "total")->valueint, 4);
  cJSON* a = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "actors"), 0);
  char args[128];
  snprintf(args, sizeof(args), "inspect '%s'", cJSON_GetObjectItem(a, "pid")->valuestring);
  cJSON_Delete(j);
  j = ct_json(args);
  cr_expect_str_eq(cJSON_GetObjectItem(j, "module")->valuestring, "driver");
  cr_expect(cJSON_IsObject(cJSON_GetObjectItem(j, "state")));
  cJSON_Delete(j);
  char* out = NULL;
  cr_expect_eq(ct_molt("inspect '<99999.1>'", &out), 1);
  cr_expect(strstr(out, "no actor"), "%s", out);
  free(out);
  cr_expect_eq(ct_molt("purge counter", &out), 0);
  cr_expect(strstr(out, "no old version"), "%s", out);
  free(out);
  cr_expect_eq(ct_molt("purge nosuch", &out), 1);
  free(out);
}


Test(load, upgrade_migrate_and_roll_back_the_counter_under_load_without_losing_a_message) {
  ct_start(DEMO);
  const char* steps[] = {"load " MOLT_MODULE_DIR "/counter-1.1.0.so", "load " MOLT_MODULE_DIR "/counter-2.0.0.so",
                         "load --down " MOLT_MODULE_DIR "/counter-1.1.0.so"};
  const char* modes[] = {"soft", "code_change", "code_change"};
  const char* vsns[] = {"1.1.0", "2.0.0", "1.1.0"};
  for (int i = 0; i < 3; i++) {
    usleep(150000);
    cJSON* r = ct_json(steps[i]);
    cr_expect_str_eq(cJSON_GetObjectItem(r, "mode")->valuestring, modes[i]);
    cr_expect_str_eq(cJSON_GetObjectItem(r, "to")->valuestring, vsns[i]);
    cJSON_Delete(r);
    r = ct_json("inspect counter");
    cr_expect_str_eq(cJSON_GetObjectItem(r, "vsn")->valuestring, vsns[i]);
    cJSON_Delete(r);
  }
  /* Loading an older layout without --down is refused, changing nothing. */
  char* out = NULL;
  cr_assert_eq(ct_json_ok("load " MOLT_MODULE_DIR "/counter-2.0.0.so"), 0);
  cr_expect_eq(ct_molt("load " MOLT_MODULE_DIR "/counter-1.1.0.so", &out), 1);
  cr_expect(strstr(out, "older than the running 2.0.0's 2: loading it would take the state down; use --down"), "%s", out);
  free(out);
  ct_stop_expect_no_loss();
}
