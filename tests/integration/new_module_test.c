/* new_module_test.c: `molt new-module` as a new user runs it: the module
 * it writes is built by molt's own CMake (MOLT_MODULE_DIRS: the in-tree
 * route; tests/install/install_test.sh builds one against an installed
 * molt), its Criterion
 * test passes, and it runs under `molt dev`, where a rebuild is live with
 * its state kept. Builds part of molt in a scratch directory: ~10 s. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

static char* scratch;

static void setup(void) {
  ct_setup();
  scratch = tu_mkdtemp("molt-new-module");
}

static void teardown(void) {
  ct_teardown();
  tu_rmrf(scratch);
  free(scratch);
}

TestSuite(new_module, .init = setup, .fini = teardown, .timeout = 600);

static void run_ok(const char* cmd) {
  char* out = NULL;
  char full[16400];
  snprintf(full, sizeof(full), "%s 2>&1", cmd);
  int rc = tu_run(full, &out);
  cr_assert_eq(rc, 0, "%s: exit %d:\n%s", cmd, rc, out ? out : "");
  free(out);
}

static long long hellos(void) {
  cJSON* r = ct_json("inspect hello");
  const cJSON* st = cJSON_GetObjectItemCaseSensitive(r, "state");
  long long n = (long long)cJSON_GetObjectItemCaseSensitive(st, "hellos")->valuedouble;
  cJSON_Delete(r);
  return n;
}

Test(new_module, refuses_bad_names_and_existing_directories) {
  char cmd[8192], *out = NULL;
  snprintf(cmd, sizeof(cmd), "%s new-module Bad-Name %s 2>&1", MOLT_BIN, scratch);
  cr_assert_neq(tu_run(cmd, &out), 0);
  cr_assert(strstr(out, "a module name is"), "%s", out);
  free(out);
  snprintf(cmd, sizeof(cmd), "%s new-module hello %s/nowhere 2>&1", MOLT_BIN, scratch);
  cr_assert_neq(tu_run(cmd, &out), 0);
  cr_assert(strstr(out, "not a directory"), "%s", out);
  free(out);
  snprintf(cmd, sizeof(cmd), "%s new-module hello %s", MOLT_BIN, scratch);
  run_ok(cmd);
  strcat(cmd, " 2>&1");
  cr_assert_neq(tu_run(cmd, &out), 0);
  cr_assert(strstr(out, "already exists; nothing written"), "%s", out);
  free(out);
  /* no DIR: the current directory, a whole project */
  snprintf(cmd, sizeof(cmd), "cd %s && %s new-module here", scratch, MOLT_BIN);
  run_ok(cmd);
  static const char* const files[] = {"here.c", "here.h", "here_test.c", "CMakeLists.txt", "release.json", "Makefile",
                                      "README.md"};
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    char path[8400];
    struct stat st;
    snprintf(path, sizeof(path), "%s/here/%s", scratch, files[i]);
    cr_assert_eq(stat(path, &st), 0, "%s not written", path);
  }
}

Test(new_module, builds_passes_its_test_and_reloads_in_molt_dev) {
  char cmd[16384], mods[4096], build[4096], so[4200], src[4200];
  snprintf(mods, sizeof(mods), "%s/mods", scratch);
  snprintf(build, sizeof(build), "%s/build", scratch);
  cr_assert_eq(mkdir(mods, 0700), 0);
  snprintf(cmd, sizeof(cmd), "%s new-module hello %s", MOLT_BIN, mods);
  run_ok(cmd);
  snprintf(cmd, sizeof(cmd), "cmake -S %s -B %s -DCMAKE_BUILD_TYPE=Debug -DMOLT_MODULE_DIRS=%s", MOLT_SOURCE_DIR, build,
           mods);
  run_ok(cmd);
  snprintf(cmd, sizeof(cmd), "cmake --build %s -j2 --target hello hello_test", build);
  run_ok(cmd);
  /* BXFI_MAP is this Criterion worker's channel to its runner: a nested
   * Criterion program would take it for its own and abort. */
  snprintf(cmd, sizeof(cmd), "env -u BXFI_MAP %s/tests/hello_test --jobs 1", build);
  run_ok(cmd);

  snprintf(so, sizeof(so), "%s/modules/hello-0.1.0.so", build);
  char watch[4200];
  snprintf(watch, sizeof(watch), "%s/modules", build);
  ct_start_dev("--module", so, "--watch", watch, (char*)NULL);
  cr_assert_eq(hellos(), 0);
  cr_assert(ct_wait_log("hello: hello, world (tick 1)", 5000));

  /* change the greeting, rebuild: a new revision, the same actor */
  snprintf(src, sizeof(src), "%s/hello/hello.c", mods);
  size_t len;
  char* text = tu_read_file(src, &len);
  char* at = strstr(text, "#define GREETING \"hello\"");
  cr_assert_not_null(at);
  memcpy(at, "#define GREETING \"howdy\"", strlen("#define GREETING \"howdy\""));
  cr_assert_eq(tu_write_file(src, text, len), 0);
  free(text);
  snprintf(cmd, sizeof(cmd), "cmake --build %s -j2 --target hello", build);
  run_ok(cmd);
  cr_assert(ct_wait_log("molt dev: hello 0.1.0 -> 0.1.0+dev.1 (soft load), 1 actors migrated", 5000));
  cJSON* r = ct_json("inspect hello");
  cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(r, "label")->valuestring, "0.1.0+dev.1");
  cJSON_Delete(r);
  /* the new code greets on the tick it kept counting */
  cr_assert(ct_wait_log("hello: howdy, world (tick ", 5000));
}
