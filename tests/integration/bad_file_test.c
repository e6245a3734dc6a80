/* bad_file_test.c: files that are no module — a FIFO, a directory, a
 * character device, a 3 GiB sparse file — given to `molt load`, and in a
 * bundle to `molt unpack`, on a real container: refused at once, in one
 * line naming the file and what it is, without reading it, and the
 * container serves on. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

#define DEMO MOLT_RELEASE_DIR "/demo-1.0.0"

/* Generous against a loaded machine and a sanitizer build, which start the
 * molt command in tens of milliseconds; reading the 3 GiB took 21.8 s. */
#define PROMPT_S 1.0

/* One timeout for the suite, short enough to catch a load that hangs:
 * every test here takes well under a second. (A test's own .timeout in
 * this suite made Criterion 2.4's runner leak 48 bytes under --jobs 2,
 * which LeakSanitizer reports.) */
TestSuite(bad_file, .init = ct_setup, .fini = ct_teardown, .timeout = 20);

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* `molt <args>` fails within PROMPT_S seconds, in one line that says want. */
static void refused_at_once(const char* args, const char* want) {
  char* out = NULL;
  double t0 = now_s();
  int rc = ct_molt(args, &out);
  double took = now_s() - t0;
  cr_expect_eq(rc, 1, "molt %s: %s", args, out);
  cr_expect(strstr(out, want), "molt %s: \"%s\" lacks \"%s\"", args, out, want);
  cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "not one line: %s", out);
  cr_expect_lt(took, PROMPT_S, "molt %s took %.3f s", args, took);
  free(out);
}

/* The container's peak resident memory so far, in KiB (VmHWM). */
static long container_peak_kib(void) {
  cJSON* j = ct_json("status");
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", cJSON_GetObjectItem(j, "os_pid")->valueint);
  cJSON_Delete(j);
  char* text = tu_read_file(path, NULL);
  cr_assert_not_null(text, "%s", path);
  const char* hwm = strstr(text, "VmHWM:");
  cr_assert_not_null(hwm, "%s", text);
  long kib = strtol(hwm + strlen("VmHWM:"), NULL, 10);
  free(text);
  return kib;
}

static char* home_path(const char* rel) {
  char* p = NULL;
  cr_assert_geq(asprintf(&p, "%s/%s", ct_home, rel), 0);
  return p;
}

static void make_sparse(const char* path, unsigned long long size) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0, "%s", path);
  cr_assert_eq(ftruncate(fd, (off_t)size), 0, "%s", path);
  close(fd);
}

/* Before O_NONBLOCK the open waited for a writer, holding the one load or
 * upgrade the container runs at a time: this load, and every one after it,
 * hung until the suite's timeout. */
Test(bad_file, load_of_a_fifo_returns_at_once_and_the_next_load_goes_through) {
  ct_start(DEMO);
  char* fifo = home_path("pipe.so");
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  char args[4096], want[4096];
  snprintf(args, sizeof args, "load '%s'", fifo);
  snprintf(want, sizeof want, "%s: expected a regular file, found a FIFO", fifo);
  refused_at_once(args, want);
  cr_expect_eq(ct_json_ok("load " MOLT_MODULE_DIR "/counter-1.0.0.so"), 0);
  free(fifo);
}

Test(bad_file, load_of_a_directory_or_a_character_device_names_what_it_is) {
  ct_start(DEMO);
  char args[4096], want[4096];
  snprintf(args, sizeof args, "load '%s'", ct_home);
  snprintf(want, sizeof want, "%s: expected a regular file, found a directory", ct_home);
  refused_at_once(args, want);
  refused_at_once("load /dev/zero", "/dev/zero: expected a regular file, found a character device");
  cJSON* j = ct_json("status");
  cr_expect_eq(cJSON_GetObjectItem(j, "actors")->valueint, 8);
  cJSON_Delete(j);
}

Test(bad_file, load_of_a_3_gib_sparse_file_is_refused_without_reading_it) {
  ct_start(DEMO);
  char* big = home_path("huge.so");
  make_sparse(big, 3ull << 30);
  long before = container_peak_kib();
  char args[4096];
  snprintf(args, sizeof args, "load '%s'", big);
  refused_at_once(args, "size: expected at most 256 MiB for a module file, found 3221225472 bytes");
  long grew = container_peak_kib() - before;
  cr_expect_lt(grew, 64 << 10, "the container's peak memory grew by %ld KiB", grew);
  free(big);
}

/* A bundle of one module file, which the test then makes bad. Its digest
 * is a placeholder: a bad file must be refused before it is hashed. */
static void write_bundle(const char* dir) {
  char* mods = NULL;
  cr_assert_geq(asprintf(&mods, "%s/modules", dir), 0);
  cr_assert_eq(mkdir(dir, 0700), 0);
  cr_assert_eq(mkdir(mods, 0700), 0);
  free(mods);
  const char* manifest =
      "{\"name\": \"bad\", \"version\": \"9.0.0\", \"modules\": [{\"name\": \"counter\", "
      "\"vsn\": \"9.0.0\", \"file\": \"modules/counter-9.0.0.so\", \"sha256\": "
      "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}\n";
  char* path = NULL;
  cr_assert_geq(asprintf(&path, "%s/release.json", dir), 0);
  cr_assert_eq(tu_write_file(path, manifest, strlen(manifest)), 0);
  free(path);
}

Test(bad_file, unpack_refuses_a_fifo_or_a_3_gib_module_file_at_once) {
  ct_start(DEMO);
  char* bundle = home_path("bad-bundle");
  write_bundle(bundle);
  char *mod = NULL, args[4096];
  cr_assert_geq(asprintf(&mod, "%s/modules/counter-9.0.0.so", bundle), 0);
  snprintf(args, sizeof args, "unpack '%s'", bundle);

  cr_assert_eq(mkfifo(mod, 0600), 0);
  refused_at_once(args, "modules/counter-9.0.0.so: expected a regular file, found a FIFO");

  cr_assert_eq(unlink(mod), 0);
  make_sparse(mod, 3ull << 30);
  long before = container_peak_kib();
  refused_at_once(args, "modules/counter-9.0.0.so: size: expected at most 256 MiB for a module "
                        "file, found 3221225472 bytes");
  long grew = container_peak_kib() - before;
  cr_expect_lt(grew, 64 << 10, "the container's peak memory grew by %ld KiB", grew);

  char* out = NULL;
  cr_expect_eq(ct_molt("releases", &out), 0, "%s", out);
  cr_expect_null(strstr(out, "9.0.0"), "%s", out);
  free(out);
  free(mod);
  free(bundle);
}
