/* module_probe_test.c: module code is tried before the container runs it
 * (issue 15, point 1): `molt load` of a file whose constructor ends the
 * process, crashes or hangs, or whose descriptor points at nothing, is
 * refused in one line saying so, and the container, which never mapped
 * the file, serves on with its actors and their states. Through the real
 * `molt` command. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "testutil.h"

TestSuite(module_probe, .init = ct_setup, .fini = ct_teardown, .timeout = 60);

static long actors(void) {
  cJSON* st = ct_json("status");
  long n = (long)cJSON_GetObjectItem(st, "actors")->valuedouble;
  cJSON_Delete(st);
  return n;
}

/* `molt load FILE` is refused in one line giving reason; the container
 * runs as many actors as before and the counter keeps its count. */
static void refused(const char* file, const char* reason) {
  long before = actors();
  cJSON* c = ct_json("inspect counter");
  double count = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "state"), "total")->valuedouble;
  cJSON_Delete(c);
  char args[4096], *out = NULL;
  snprintf(args, sizeof args, "load %s/%s", MOLT_FIXTURE_DIR, file);
  double t0 = tu_now_ms();
  cr_expect_eq(ct_molt(args, &out), 1, "%s: %s", file, out);
  double ms = tu_now_ms() - t0;
  cr_expect(strstr(out, reason), "%s: \"%s\" lacks \"%s\"", file, out, reason);
  cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "not one line: %s", out);
  cr_log_info("%s refused in %.0f ms: %s", file, ms, out);
  free(out);
  cr_expect_eq(actors(), before);
  c = ct_json("inspect counter");
  cr_expect_geq(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "state"), "total")->valuedouble, count);
  cJSON_Delete(c);
}

Test(module_probe, bad_constructors_and_descriptors_are_refused_and_the_container_serves_on) {
  ct_start(MOLT_RELEASE_DIR "/demo-1.0.0");
  refused("ctor_exit-1.0.0.so", "its code ended the process while loading (exit status 0: a constructor that calls exit?)");
  refused("ctor_crash-1.0.0.so", "its code crashed while loading: SIGSEGV (a constructor?)");
  refused("ctor_spin-1.0.0.so", "its code did not return within 2000 ms while loading (a constructor that hangs?)");
  refused("wild_name-1.0.0.so", "its descriptor's name points outside the module (0x1000)");
  /* A good file after all that: the probe, and the container, are fine. */
  cr_expect_eq(ct_json_ok("load " MOLT_FIXTURE_DIR "/good-1.0.0.so"), 0);
}
