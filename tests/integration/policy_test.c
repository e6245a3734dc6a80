/* policy_test.c: what a module must not do and where the container may not
 * boot from, through the molt command on a real container: `molt load` of
 * each forbidden fixture is refused in its one line while the demo serves
 * on unchanged; `molt run` in a home others can write, or own, or whose
 * releases/ leads to such a directory, is refused before anything runs; a
 * bundle whose release.json is a symbolic link is refused at unpack. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

#define DEMO MOLT_RELEASE_DIR "/demo-1.0.0"
#define FX(file) MOLT_FIXTURE_DIR "/" file

TestSuite(policy, .init = ct_setup, .fini = ct_teardown, .timeout = 60);

static int actors(void) {
  cJSON* j = ct_json("status");
  int n = cJSON_GetObjectItem(j, "actors")->valueint;
  cJSON_Delete(j);
  return n;
}

/* `molt <args>` fails with exactly the line want. */
static void molt_refused(const char* args, const char* want) {
  char* out = NULL;
  cr_expect_eq(ct_molt(args, &out), 1, "%s", out);
  cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "not one line: %s", out);
  cr_expect(strstr(out, want), "%s: expected \"%s\", found \"%s\"", args, want, out);
  free(out);
}

Test(policy, each_forbidden_module_is_refused_in_its_line_and_the_demo_serves_on) {
  ct_start(DEMO);
  int before = actors();
  const char* cases[][2] = {
      {FX("forbidden_thread-1.0.0.so"), ": imports pthread_create: a thread outlives the module's "
                                        "purge (see molt/module.h)"},
      {FX("forbidden_signal-1.0.0.so"), ": imports sigaction: a signal handler is process-wide "
                                        "and outlives the module's purge (see molt/module.h)"},
      {FX("static_tls-1.0.0.so"), ": uses initial-exec TLS (DF_STATIC_TLS): every reload takes "
                                  "static TLS the process never gets back; build with "
                                  "-ftls-model=global-dynamic"},
      {FX("unique-1.0.0.so"), ": defines STB_GNU_UNIQUE symbol _ZZ4hitsvE1n: the module could "
                              "never be unmapped; build with -fno-gnu-unique"},
      {FX("small_desc-1.0.0.so"), ": molt_module: the symbol is 72 bytes, smaller than its own "
                                  ".size (80): the loader would read past it"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char args[4096], want[4096];
    snprintf(args, sizeof args, "load %s", cases[i][0]);
    snprintf(want, sizeof want, "%s%s", cases[i][0], cases[i][1]);
    molt_refused(args, want);
  }
  cr_expect_eq(actors(), before);
  char* out = NULL;
  cr_expect_eq(ct_molt("load " FX("uses_atexit-1.0.0.so"), &out), 0, "%s", out);
  free(out);
  cr_expect_eq(actors(), before);
}

/* `molt run --home <home>` of the demo fails with exactly the line want,
 * and nothing in the home was created. */
static void run_refused(const char* home, const char* want) {
  char cmd[8192], *out = NULL;
  snprintf(cmd, sizeof cmd, "%s run --home '%s' --release '%s' 2>&1", MOLT_BIN, home, DEMO);
  cr_expect_eq(tu_run(cmd, &out), 1, "%s", out);
  cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "not one line: %s", out);
  cr_expect(strstr(out, want), "expected \"%s\", found \"%s\"", want, out);
  free(out);
}

static char* in_home(const char* rel) {
  char* p = NULL;
  cr_assert_geq(asprintf(&p, "%s/%s", ct_home, rel), 0);
  return p;
}

Test(policy, a_home_others_can_write_is_refused_before_anything_runs) {
  char *home = in_home("open"), want[8192];
  cr_assert_eq(mkdir(home, 0700), 0);
  cr_assert_eq(chmod(home, 0777), 0);
  snprintf(want, sizeof want,
           "%s: writable by group or others (mode 0777): another user could change what the "
           "container runs; chmod go-w %s", home, home);
  run_refused(home, want);
  char* rel = in_home("open/releases");
  cr_expect_eq(access(rel, F_OK), -1, "releases/ was made");
  free(rel);
  free(home);
}

Test(policy, a_home_another_user_owns_is_refused) {
  struct passwd* nobody = getpwnam("nobody");
  if (geteuid() != 0 || !nobody) cr_skip_test("needs root and a user nobody");
  char *home = in_home("theirs"), want[8192];
  cr_assert_eq(mkdir(home, 0700), 0);
  cr_assert_eq(chown(home, nobody->pw_uid, (gid_t)-1), 0);
  snprintf(want, sizeof want,
           "%s: owned by uid %u, neither root nor this container's uid %u: another user could "
           "change what the container runs", home, (unsigned)nobody->pw_uid, (unsigned)geteuid());
  run_refused(home, want);
  free(home);
}

Test(policy, releases_symlinked_to_a_directory_others_can_write_is_refused) {
  char *home = in_home("h"), *open = in_home("open"), *rel = in_home("h/releases"), want[8192];
  cr_assert_eq(mkdir(home, 0700), 0);
  cr_assert_eq(mkdir(open, 0700), 0);
  cr_assert_eq(chmod(open, 0777), 0);
  cr_assert_eq(symlink(open, rel), 0);
  snprintf(want, sizeof want, "%s: writable by group or others (mode 0777)", rel);
  run_refused(home, want);
  free(home);
  free(open);
  free(rel);
}

Test(policy, a_bundle_whose_release_json_is_a_symlink_is_refused_at_unpack) {
  char *bundle = in_home("bundle"), *outside = in_home("outside.json"), cmd[16384], want[8192];
  snprintf(cmd, sizeof cmd, "cp -r '%s' '%s' && mv '%s/release.json' '%s' && ln -s '%s' '%s/release.json'",
           DEMO, bundle, bundle, outside, outside, bundle);
  cr_assert_eq(system(cmd), 0);
  ct_start(DEMO);
  snprintf(cmd, sizeof cmd, "unpack '%s'", bundle);
  snprintf(want, sizeof want,
           "%s/release.json: a symbolic link: it could lead out of the bundle; copy the file in "
           "instead", bundle);
  molt_refused(cmd, want);
  cJSON* j = ct_json("releases");
  cr_expect_eq(cJSON_GetArraySize(j), 1, "%s", cJSON_PrintUnformatted(j));
  cJSON_Delete(j);
  free(bundle);
  free(outside);
}
