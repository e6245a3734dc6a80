/* release_io_test.c: what a real container says and boots after an
 * interrupted unpack or save, and after a releases file whose directory
 * fsync fails: the boot removes a stale RELEASES.json.tmp and a bundle the
 * file does not record and runs the permanent release; a commit whose
 * file is in place but not durable replies done with a warning, and the
 * next boot runs what it committed. The faults come from strace's
 * syscall injection, so nothing in the container reads a test switch. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

#define REL(v) MOLT_RELEASE_DIR "/demo-" v

TestSuite(release_io, .init = ct_setup, .fini = ct_teardown, .timeout = 90);

/* The version status says runs (malloc'd). */
static char* running_vsn(void) {
  cJSON* j = ct_json("status");
  char* v = strdup(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "release"), "version")->valuestring);
  cJSON_Delete(j);
  return v;
}

static void assert_running(const char* want) {
  char* got = running_vsn();
  cr_assert_str_eq(got, want, "the container runs %s, not %s", got, want);
  free(got);
}

static char* home_path(const char* rel) {
  char* p = NULL;
  cr_assert_geq(asprintf(&p, "%s/%s", ct_home, rel), 0);
  return p;
}

static bool exists(const char* rel) {
  char* p = home_path(rel);
  struct stat st;
  bool there = lstat(p, &st) == 0;
  free(p);
  return there;
}

static void restart(void) {
  ct_signal(SIGKILL);
  ct_wait_exit(5000);
  ct_start(NULL);
}

/* The state of vsn as RELEASES.json says, read from disk. */
static char* file_state(const char* vsn) {
  char* path = home_path("releases/RELEASES.json");
  char* text = tu_read_file(path, NULL);
  cr_assert_not_null(text, "no %s", path);
  cJSON *root = cJSON_Parse(text), *r;
  char* state = strdup("absent");
  cJSON_ArrayForEach(r, cJSON_GetObjectItem(root, "releases")) {
    if (strcmp(cJSON_GetObjectItem(r, "version")->valuestring, vsn) == 0) {
      free(state);
      state = strdup(cJSON_GetObjectItem(r, "state")->valuestring);
    }
  }
  cJSON_Delete(root);
  free(text);
  free(path);
  return state;
}

static void assert_file_state(const char* vsn, const char* want) {
  char* got = file_state(vsn);
  cr_assert_str_eq(got, want, "RELEASES.json: %s is %s, not %s", vsn, got, want);
  free(got);
}

Test(release_io, boot_removes_a_stale_tmp_and_an_unrecorded_bundle) {
  ct_start(REL("1.0.0"));
  ct_signal(SIGTERM);
  cr_assert_eq(ct_wait_exit(10000), 0);

  /* An unpack killed after publishing demo-1.1.0, a save killed before
   * its rename. */
  char *cmd = NULL, *out = NULL, *tmp = home_path("releases/RELEASES.json.tmp");
  cr_assert_geq(asprintf(&cmd, "cp -r '%s' '%s/releases/demo-1.1.0' 2>&1", REL("1.1.0"), ct_home), 0);
  cr_assert_eq(tu_run(cmd, &out), 0, "%s", out);
  cr_assert_eq(tu_write_file(tmp, "{\"name\": \"demo\", \"rele", 22), 0);

  ct_start(NULL);
  assert_running("1.0.0");
  cr_assert(ct_wait_log("demo-1.1.0: a bundle RELEASES.json does not record, left by an interrupted unpack; removed",
                        5000));
  cr_assert_not(exists("releases/demo-1.1.0"));
  cr_assert_not(exists("releases/RELEASES.json.tmp"));
  cJSON* rels = ct_json("releases");
  cr_assert_eq(cJSON_GetArraySize(rels), 1);
  cJSON_Delete(rels);
  assert_file_state("1.0.0", "permanent");

  /* And the version unpacks and installs as if nothing had happened. */
  cJSON_Delete(ct_json("unpack " REL("1.1.0")));
  cJSON* r = ct_json("upgrade 1.1.0");
  cr_assert_str_eq(cJSON_GetObjectItem(r, "state")->valuestring, "current");
  cJSON_Delete(r);
  assert_running("1.1.0");
  free(cmd);
  free(out);
  free(tmp);
}

/* Fail the when-th fsync of each of the container's threads with EIO; a
 * store change runs on a job thread of its own, so when counts that
 * change's fsyncs: 1 the new file's, 2 the directory's after the rename. */
static pid_t inject_fsync_eio(int when) {
  char inject[64];
  snprintf(inject, sizeof(inject), "inject=fsync:error=EIO:when=%d", when);
  return ct_strace("trace=fsync", inject);
}

Test(release_io, commit_says_exactly_what_is_in_force_when_a_save_fails) {
  if (!ct_have_strace()) cr_skip_test("strace is not installed");
  ct_start(REL("1.0.0"));
  cJSON_Delete(ct_json("unpack " REL("1.1.0")));
  cJSON_Delete(ct_json("upgrade 1.1.0"));

  /* The new file's fsync fails: nothing written, nothing committed. */
  pid_t tracer = inject_fsync_eio(1);
  char* out = NULL;
  int rc = ct_molt("commit", &out);
  ct_strace_stop(tracer);
  cr_assert_neq(rc, 0, "%s", out);
  cr_assert(strstr(out, "RELEASES.json.tmp: i/o error (not committed: 1.1.0 is still current, and the next boot "
                        "runs 1.0.0)"),
            "%s", out);
  free(out);
  assert_file_state("1.1.0", "current");
  assert_running("1.1.0");

  /* The directory's fsync fails after the rename: committed, with a
   * warning that a power loss may undo it. */
  tracer = inject_fsync_eio(2);
  rc = ct_molt("commit", &out);
  ct_strace_stop(tracer);
  cr_assert_eq(rc, 0, "%s", out);
  cr_assert(strstr(out, "demo 1.1.0: permanent"), "%s", out);
  cr_assert(strstr(out, "molt: warning: ") && strstr(out, "RELEASES.json is in place, but syncing") &&
                strstr(out, "a power loss may bring back its previous content"),
            "%s", out);
  free(out);
  assert_file_state("1.1.0", "permanent");
  assert_file_state("1.0.0", "old");
  cr_assert(ct_wait_log("warning: ", 5000));

  restart();
  assert_running("1.1.0");
  char b[32];
  cr_assert_str_eq(ct_release_state("1.1.0", b, sizeof(b)), "permanent");
}

/* An upgrade whose record fails before the rename runs the new release
 * and says the next boot runs the permanent one; the boot does. */
Test(release_io, upgrade_whose_save_fails_says_what_the_next_boot_runs) {
  if (!ct_have_strace()) cr_skip_test("strace is not installed");
  ct_start(REL("1.0.0"));
  cJSON_Delete(ct_json("unpack " REL("1.1.0")));

  pid_t tracer = inject_fsync_eio(1);
  char* out = NULL;
  int rc = ct_molt("upgrade 1.1.0", &out);
  ct_strace_stop(tracer);
  cr_assert_neq(rc, 0, "%s", out);
  cr_assert(strstr(out, "(the container now runs 1.1.0; the releases file was not updated, so the next boot runs "
                        "1.0.0)"),
            "%s", out);
  free(out);
  assert_running("1.1.0");
  assert_file_state("1.1.0", "unpacked");
  restart();
  assert_running("1.0.0");
}
