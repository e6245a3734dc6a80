/* dev_test.c: `molt dev` as a module author uses it: a real container
 * watching a directory, the module file rewritten the ways builds write
 * files (in several writes, in place, renamed into place, twice in a row,
 * half-written, the directory deleted and recreated), each checked through
 * the control socket: `molt inspect` shows which build answers (the tally
 * fixture's "flavour") and that its count, grown by a 5 ms timer, was kept.
 * A bad file, a failing code_change and a broken build leave the old code
 * serving. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

static char* watch_root; /* a temporary dir holding w/ (watched) and src/ */
static char wdir[4096], module[4200];

static void setup(void) {
  ct_setup();
  watch_root = tu_mkdtemp("molt-dev-test");
  snprintf(wdir, sizeof(wdir), "%s/w", watch_root);
  snprintf(module, sizeof(module), "%s/tally.so", wdir);
  cr_assert_eq(mkdir(wdir, 0700), 0);
}

static void teardown(void) {
  ct_teardown();
  tu_rmrf(watch_root);
  free(watch_root);
}

TestSuite(dev, .init = setup, .fini = teardown, .timeout = 120);

static void fixture_path(char* out, size_t len, const char* variant) {
  snprintf(out, len, "%s/tally-%s-1.0.0.so", MOLT_FIXTURE_DIR, variant);
}

static char* fixture(const char* variant, size_t* len) {
  char path[4096];
  fixture_path(path, sizeof(path), variant);
  char* data = tu_read_file(path, len);
  cr_assert_not_null(data, "%s: missing fixture", path);
  return data;
}

/* Write bytes to path in pieces, pausing between them, with one open and
 * one close: how a linker writes its output. flags: O_TRUNC keeps the
 * inode (in place), or O_CREAT|O_EXCL for a new file. */
static void write_slowly(const char* path, const char* data, size_t len, int flags) {
  int fd = open(path, O_WRONLY | flags, 0644);
  cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
  size_t piece = len / 4 + 1;
  for (size_t at = 0; at < len; at += piece) {
    size_t n = len - at < piece ? len - at : piece;
    cr_assert_eq(write(fd, data + at, n), (ssize_t)n);
    usleep(20000);
  }
  cr_assert_eq(close(fd), 0);
}

static void put_variant(const char* variant) {
  size_t len;
  char* data = fixture(variant, &len);
  write_slowly(module, data, len, O_CREAT | O_TRUNC);
  free(data);
}

typedef struct {
  char flavour[16];
  char label[64];
  char pid[32];
  long long count;
  int state_vsn;
} tally_seen_t;

static tally_seen_t inspect(void) {
  cJSON* r = ct_json("inspect tally");
  tally_seen_t t = {0};
  const cJSON* st = cJSON_GetObjectItemCaseSensitive(r, "state");
  snprintf(t.flavour, sizeof(t.flavour), "%s", cJSON_GetObjectItemCaseSensitive(st, "flavour")->valuestring);
  snprintf(t.label, sizeof(t.label), "%s", cJSON_GetObjectItemCaseSensitive(r, "label")->valuestring);
  snprintf(t.pid, sizeof(t.pid), "%s", cJSON_GetObjectItemCaseSensitive(r, "pid")->valuestring);
  t.count = (long long)cJSON_GetObjectItemCaseSensitive(st, "count")->valuedouble;
  t.state_vsn = cJSON_GetObjectItemCaseSensitive(st, "state_vsn")->valueint;
  cJSON_Delete(r);
  return t;
}

/* Wait until the tally actor has counted at least n ticks. */
static tally_seen_t counted(long long n) {
  tally_seen_t t;
  for (int i = 0; (t = inspect()).count < n; i++) {
    cr_assert_lt(i, 500, "tally counted only %lld", t.count);
    usleep(10000);
  }
  return t;
}

static tally_seen_t wait_flavour(const char* flavour) {
  tally_seen_t t;
  for (int i = 0; strcmp((t = inspect()).flavour, flavour) != 0; i++) {
    if (i >= 500) {
      char* log = tu_read_file(ct_log, NULL);
      cr_assert_fail("still %s, not %s, after 5 s; log:\n%s", t.flavour, flavour, log);
    }
    usleep(10000);
  }
  return t;
}

/* The same actor, on the new build, with at least the count it had. */
static void expect_kept(const tally_seen_t* before, const tally_seen_t* after) {
  cr_assert_str_eq(after->pid, before->pid, "a new actor: the state was not migrated");
  cr_assert_geq(after->count, before->count, "count went from %lld to %lld: the state was lost", before->count,
                after->count);
}

static void start_on(const char* variant) {
  put_variant(variant);
  ct_start_dev("--module", module, "--watch", wdir, (char*)NULL);
}

Test(dev, soft_reload_written_in_several_writes_keeps_state_and_shows_the_revision) {
  start_on("a");
  tally_seen_t before = counted(10);
  cr_assert_str_eq(before.label, "1.0.0");
  put_variant("b");
  tally_seen_t after = wait_flavour("b");
  expect_kept(&before, &after);
  cr_assert_str_eq(after.label, "1.0.0+dev.1");
  cr_assert(ct_wait_log("molt dev: tally 1.0.0 -> 1.0.0+dev.1 (soft load), 1 actors migrated, live ", 5000));

  /* status and ps show the revision too */
  char* out = NULL;
  cr_assert_eq(ct_molt("status", &out), 0);
  cr_assert(strstr(out, "tally        current 1.0.0+dev.1 (rev 2, 1 actors)"), "%s", out);
  free(out);
  cr_assert_eq(ct_molt("ps --module tally", &out), 0);
  cr_assert(strstr(out, "1.0.0+dev.1"), "%s", out);
  free(out);
}

Test(dev, rewritten_in_place) {
  start_on("a");
  tally_seen_t before = counted(5);
  struct stat st0, st1;
  cr_assert_eq(stat(module, &st0), 0);
  size_t len;
  char* data = fixture("b", &len);
  write_slowly(module, data, len, O_TRUNC); /* same inode */
  free(data);
  cr_assert_eq(stat(module, &st1), 0);
  cr_assert_eq(st0.st_ino, st1.st_ino);
  tally_seen_t after = wait_flavour("b");
  expect_kept(&before, &after);
}

Test(dev, renamed_into_place) {
  start_on("a");
  tally_seen_t before = counted(5);
  char tmp[4300];
  snprintf(tmp, sizeof(tmp), "%s/.tally.so.tmp", wdir);
  size_t len;
  char* data = fixture("b", &len);
  write_slowly(tmp, data, len, O_CREAT | O_EXCL);
  free(data);
  cr_assert_eq(rename(tmp, module), 0);
  tally_seen_t after = wait_flavour("b");
  expect_kept(&before, &after);
}

Test(dev, state_layout_change_runs_code_change) {
  start_on("a");
  tally_seen_t before = counted(10);
  cr_assert_eq(before.state_vsn, 1);
  put_variant("c");
  tally_seen_t after = wait_flavour("c");
  expect_kept(&before, &after);
  cr_assert_eq(after.state_vsn, 2);
  cr_assert(ct_wait_log("tally 1.0.0 -> 1.0.0+dev.1 (code_change), 1 actors migrated", 5000));
}

Test(dev, rebuilt_twice_in_quick_succession) {
  start_on("a");
  tally_seen_t before = counted(5);
  size_t lb, lc;
  char* b = fixture("b", &lb);
  char* c = fixture("c", &lc);
  cr_assert_eq(tu_write_file(module, b, lb), 0);
  cr_assert_eq(tu_write_file(module, c, lc), 0);
  free(b);
  free(c);
  tally_seen_t after = wait_flavour("c");
  expect_kept(&before, &after);
  cr_assert_eq(after.state_vsn, 2);
}

Test(dev, half_written_file_is_reported_never_loaded) {
  start_on("a");
  tally_seen_t before = counted(5);
  size_t len;
  char* data = fixture("b", &len);
  cr_assert_eq(tu_write_file(module, data, len / 2), 0); /* the writer closed early */
  cr_assert(ct_wait_log("tally.so: not loaded, the running code keeps serving: ", 5000));
  cr_assert(ct_wait_log("truncated", 1000));
  tally_seen_t mid = inspect();
  cr_assert_str_eq(mid.flavour, "a");
  expect_kept(&before, &mid);
  cr_assert_eq(tu_write_file(module, data, len), 0); /* and finished */
  free(data);
  tally_seen_t after = wait_flavour("b");
  expect_kept(&before, &after);
}

Test(dev, bad_file_and_failing_code_change_keep_the_old_code) {
  start_on("a");
  tally_seen_t before = counted(5);
  char path[4096];
  snprintf(path, sizeof(path), "%s/not_elf.so", MOLT_FIXTURE_DIR);
  cr_assert_eq(tu_copy_file(path, module), 0);
  cr_assert(ct_wait_log("tally.so: not loaded, the running code keeps serving: ", 5000));

  put_variant("fail"); /* state_vsn 2, and its code_change refuses */
  /* Refused by the rehearsal, before anything froze. */
  cr_assert(ct_wait_log("molt dev: tally: reload failed, tally 1.0.0 keeps serving: rehearsal refused the change: "
                        "actor <", 5000));
  cr_assert(ct_wait_log("code_change up failed in the rehearsal: EINVAL", 1000));
  tally_seen_t after = inspect();
  cr_assert_str_eq(after.flavour, "a");
  cr_assert_str_eq(after.label, "1.0.0");
  expect_kept(&before, &after);

  char abi[4096];
  snprintf(abi, sizeof(abi), "%s/other_abi-1.0.0.so", MOLT_FIXTURE_DIR); /* an ABI mismatch */
  cr_assert_eq(tu_copy_file(abi, module), 0);
  cr_assert(ct_wait_log("tally.so: abi: expected 1, found 2", 5000));
  cr_assert_str_eq(inspect().flavour, "a");

  put_variant("b"); /* and the loop goes on */
  wait_flavour("b");
}

Test(dev, watched_directory_deleted_and_recreated) {
  start_on("a");
  tally_seen_t before = counted(5);
  tu_rmrf(wdir);
  usleep(50000);
  cr_assert_eq(mkdir(wdir, 0700), 0);
  put_variant("b");
  tally_seen_t after = wait_flavour("b");
  expect_kept(&before, &after);
}

Test(dev, files_of_modules_not_running_are_skipped) {
  start_on("a");
  char from[4096], to[4300];
  snprintf(from, sizeof(from), "%s/good-1.0.0.so", MOLT_FIXTURE_DIR);
  snprintf(to, sizeof(to), "%s/good-1.0.0.so", wdir);
  cr_assert_eq(tu_copy_file(from, to), 0);
  cr_assert(ct_wait_log("molt dev: good-1.0.0.so: skipped: module good is not running", 5000));
  cr_assert_eq(ct_molt("status", NULL), 0);
}

Test(dev, release_mode_loads_revisions_of_the_running_vsn_only) {
  char bundle[4096], file[4300];
  snprintf(bundle, sizeof(bundle), "%s/demo-1.0.0", MOLT_RELEASE_DIR);
  ct_start_dev("--release", bundle, "--watch", wdir, (char*)NULL);
  /* counter 1.1.0 is another version, not a rebuild of the running 1.0.0 */
  snprintf(file, sizeof(file), "%s/counter-1.1.0.so", MOLT_MODULE_DIR);
  char to[4300];
  snprintf(to, sizeof(to), "%s/counter-1.1.0.so", wdir);
  cr_assert_eq(tu_copy_file(file, to), 0);
  cr_assert(ct_wait_log("counter-1.1.0.so: skipped: it is counter 1.1.0, not a revision of the running 1.0.0", 5000));
  /* the same bytes as the running 1.0.0: nothing to do, nothing said */
  snprintf(file, sizeof(file), "%s/counter-1.0.0.so", MOLT_MODULE_DIR);
  snprintf(to, sizeof(to), "%s/counter-1.0.0.so", wdir);
  cr_assert_eq(tu_copy_file(file, to), 0);
  usleep(300000);
  cr_assert_eq(ct_log_count("counter-1.0.0.so"), 0);
  /* release commands still work in release mode */
  cr_assert_eq(ct_json_ok("releases"), 0);
  ct_stop_expect_no_loss();
}

/* --build and --src: the build runs on a source change; its failure shows
 * the compiler's output and the running code stays. */
Test(dev, build_on_source_change_and_report_a_broken_build) {
  char src[4096], script[4200], source[4300];
  snprintf(src, sizeof(src), "%s/src", watch_root);
  cr_assert_eq(mkdir(src, 0700), 0);
  snprintf(source, sizeof(source), "%s/tally.c", src);
  char fixture_src[4096];
  snprintf(fixture_src, sizeof(fixture_src), "%s/tests/fixtures/modules/tally/tally.c", MOLT_SOURCE_DIR);
  cr_assert_eq(tu_copy_file(fixture_src, source), 0);
  snprintf(script, sizeof(script), "%s/build.sh", watch_root);
  char body[32768];
  snprintf(body, sizeof(body),
           "cc -shared -fPIC -fvisibility=hidden -I%s/runtime/include -o %s/tally.tmp %s && mv %s/tally.tmp %s\n",
           MOLT_SOURCE_DIR, wdir, source, wdir, module);
  cr_assert_eq(tu_write_file(script, body, strlen(body)), 0);
  char cmd[4300];
  snprintf(cmd, sizeof(cmd), "sh %s", script);
  ct_start_dev("--module", module, "--watch", wdir, "--build", cmd, "--src", src, (char*)NULL);
  tally_seen_t before = counted(5);
  cr_assert_str_eq(before.flavour, "a");

  /* an edit: rebuilt and live */
  size_t len;
  char* text = tu_read_file(source, &len);
  char* at = strstr(text, "#define TALLY_FLAVOUR \"a\"");
  cr_assert_not_null(at);
  at[strlen("#define TALLY_FLAVOUR \"")] = 'z';
  cr_assert_eq(tu_write_file(source, text, len), 0);
  tally_seen_t after = wait_flavour("z");
  expect_kept(&before, &after);
  cr_assert(ct_wait_log("molt dev: build ok in ", 5000));

  /* a broken edit: the compiler's error is shown, z keeps serving */
  const char* broken = "\nthis is not C;\n";
  char* worse = malloc(len + strlen(broken) + 1);
  memcpy(worse, text, len);
  memcpy(worse + len, broken, strlen(broken) + 1);
  cr_assert_eq(tu_write_file(source, worse, strlen(worse)), 0);
  free(worse);
  free(text);
  cr_assert(ct_wait_log("molt dev: build failed (exit 1) in ", 10000));
  cr_assert(ct_wait_log("error:", 2000));
  tally_seen_t still = inspect();
  cr_assert_str_eq(still.flavour, "z");
  expect_kept(&after, &still);
}

Test(dev, bad_command_lines_fail_with_one_line) {
  char* out = NULL;
  cr_assert_neq(ct_molt("dev --build make", &out), 0);
  cr_assert(strstr(out, "--build needs --src DIR"), "%s", out);
  free(out);
  cr_assert_neq(ct_molt("dev --module /nonexistent/x.so --watch /tmp", &out), 0);
  cr_assert(strstr(out, "/nonexistent/x.so"), "%s", out);
  free(out);
}
