/* crash_report_test.c: a fatal signal in module code, through the real
 * `molt run`: the container dies by the signal, leaves one report on its
 * stderr and in <home>/last-crash (actor, module, vsn, callback, signal,
 * fault address, backtrace), the next run prints one line about it and
 * symbolizes the report to the fixture's file and line, `molt status`
 * shows it, and a commit retires it. The crasher fixture segfaults where
 * MOLT_CRASHER_SIGNAL says (handle or init). */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

TestSuite(crash_report, .init = ct_setup, .fini = ct_teardown, .timeout = 60);

/* Bundle release crashy vsn into <home>/crashy-<vsn>, its path in out: a
 * steady child and the crasher, registered as "crasher", which gets its
 * message 200 ms after it starts (and, with no MOLT_CRASHER_SIGNAL,
 * kills nobody and lives on). */
static void bundle(const char* vsn, char* out, size_t len) {
  char name[64], text[2048], *msg = NULL;
  snprintf(name, sizeof(name), "crashy-%s", vsn);
  snprintf(text, sizeof(text),
           "{\"name\": \"crashy\", \"version\": \"%s\", \"modules\": ["
           "{\"name\": \"tally\", \"vsn\": \"1.0.0\", \"file\": \"tally-a-1.0.0.so\"},"
           "{\"name\": \"crasher\", \"vsn\": \"1.0.0\", \"file\": \"crasher-1.0.0.so\"}],"
           "\"supervisor\": {\"name\": \"crashy_sup\", \"strategy\": \"one_for_one\", \"intensity\": 2,"
           " \"period_ms\": 60000, \"children\": ["
           "{\"id\": \"steady\", \"module\": \"tally\"},"
           "{\"id\": \"crasher\", \"module\": \"crasher\", \"args\": {\"after_ms\": 200, \"name\": \"crasher\","
           " \"kill\": \"nobody\"}}]}}",
           vsn);
  cr_assert_eq(ct_bundle(name, text, MOLT_FIXTURE_DIR, &msg), 0, "%s", msg);
  free(msg);
  snprintf(out, len, "%s/%s", ct_home, name);
}

/* "crasher.c:N", N the line of the fixture marked CRASH_HERE. */
static void crash_line(char* out, size_t len) {
  char* src = tu_read_file(MOLT_SOURCE_DIR "/tests/fixtures/modules/crasher.c", NULL);
  cr_assert(src);
  char* mark = strstr(src, "CRASH_HERE */");
  cr_assert(mark);
  int line = 1;
  for (char* p = src; p < mark; p++) line += *p == '\n';
  snprintf(out, len, "crasher.c:%d", line);
  free(src);
}

static char* last_crash(void) {
  char path[4200];
  snprintf(path, sizeof(path), "%s/last-crash", ct_home);
  return tu_read_file(path, NULL);
}

/* Run the container of bundle with the crasher crashing in callback;
 * check it died by SIGSEGV with the report on its stderr; the log. */
static char* crash_in(const char* callback, const char* bundle_dir, bool serves_first) {
  setenv("MOLT_CRASHER_SIGNAL", callback, 1);
  if (serves_first)
    ct_start(bundle_dir);
  else
    ct_launch(bundle_dir);
  unsetenv("MOLT_CRASHER_SIGNAL");
  int status = ct_wait_status(10000);
  char* log = tu_read_file(ct_log, NULL);
  cr_assert(status != -1, "still running:\n%s", log);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "wait status 0x%x:\n%s", status, log);
  char first[256];
  snprintf(first, sizeof(first), "molt crash: SIGSEGV in crasher 1.0.0 (%s) of actor <", callback);
  cr_expect(strstr(log, first), "%s", log);
  cr_expect_eq(ct_log_count("molt crash: "), 1, "%s", log);
  cr_expect(strstr(log, "\" at 0x0\n"), "%s", log);
  cr_expect(strstr(log, "fault address 0x0\n"), "%s", log);
  char cb[64];
  snprintf(cb, sizeof(cb), "\ncallback   %s\n", callback);
  cr_expect(strstr(log, cb), "%s", log);
  cr_expect(strstr(log, "\nmodule     crasher 1.0.0 (label 1.0.0, revision 1)\n"), "%s", log);
  cr_expect(strstr(log, "  #0 0x"), "%s", log);
  cr_expect(strstr(log, "/code/crasher-1.0.0.so"), "%s", log);
  char* report = last_crash();
  cr_assert(report, "no last-crash:\n%s", log);
  cr_expect(strncmp(report, first, strlen(first)) == 0, "%s", report);
  cr_expect(strstr(log, report), "the file is not what stderr got:\n%s", report);
  free(report);
  return log;
}

Test(crash_report, a_segfault_in_handle_is_reported_shown_by_the_next_run_and_status_until_a_commit) {
  char b1[4200], b2[4200], where[64];
  bundle("1.0.0", b1, sizeof(b1));
  bundle("1.1.0", b2, sizeof(b2));
  crash_line(where, sizeof(where));

  char* log = crash_in("handle", b1, true);
  cr_expect(strstr(log, "\" at 0x0\n"), "%s", log);
  cr_expect(strstr(log, " of actor <") && strstr(log, "> \"crasher\" at 0x0"), "%s", log);
  free(log);

  /* The next run: one line, and the report symbolized to the line that
   * wrote through NULL, in the function that did. */
  ct_start(NULL);
  log = tu_read_file(ct_log, NULL);
  cr_expect_eq(ct_log_count("molt run: the previous run crashed: SIGSEGV in crasher 1.0.0 (handle) of actor <"), 1,
               "%s", log);
  cr_expect(strstr(log, "\"crasher\" at 0x0; report: "), "%s", log);
  free(log);
  char* report = last_crash();
  char at[96];
  snprintf(at, sizeof(at), " in segv at %s", MOLT_SOURCE_DIR "/tests/fixtures/modules/");
  cr_expect(strstr(report, at) && strstr(report, where), "expected %s:\n%s", where, report);
  cr_expect(strstr(report, " in crasher_handle at "), "%s", report);
  free(report);

  cJSON* st = ct_json("status");
  const cJSON* lc = cJSON_GetObjectItem(st, "last_crash");
  cr_assert(cJSON_IsObject(lc), "no last_crash");
  const char* summary = cJSON_GetStringValue(cJSON_GetObjectItem(lc, "summary"));
  cr_expect(summary && strncmp(summary, "SIGSEGV in crasher 1.0.0 (handle) of actor <", 44) == 0, "%s",
            summary ? summary : "(none)");
  cr_expect(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(lc, "report")), where));
  cJSON_Delete(st);
  char* out = NULL;
  cr_assert_eq(ct_molt("status", &out), 0, "%s", out);
  cr_expect(strstr(out, "last crash  SIGSEGV in crasher 1.0.0 (handle)"), "%s", out);
  free(out);

  /* Served, and served again: a later run says nothing more. */
  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_assert_eq(ct_wait_exit(15000), 0);
  ct_start(NULL);
  cr_expect_eq(ct_log_count("molt run: the previous run crashed"), 1);

  /* A committed release retires it. */
  char args[4300];
  snprintf(args, sizeof(args), "unpack '%s'", b2);
  cr_assert_eq(ct_json_ok(args), 0);
  cr_assert_eq(ct_json_ok("upgrade 1.1.0"), 0);
  st = ct_json("status");
  cr_expect(cJSON_GetObjectItem(st, "last_crash"), "an upgrade alone does not retire it");
  cJSON_Delete(st);
  cr_assert_eq(ct_json_ok("commit"), 0);
  st = ct_json("status");
  cr_expect_null(cJSON_GetObjectItem(st, "last_crash"));
  cJSON_Delete(st);
  cr_expect_null(last_crash());
  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_assert_eq(ct_wait_exit(15000), 0);
}

/* A crash in init, while the release tree starts: the callback is init. */
Test(crash_report, a_segfault_in_init_names_init) {
  char b1[4200];
  bundle("1.0.0", b1, sizeof(b1));
  free(crash_in("init", b1, false));
}
