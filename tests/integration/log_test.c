/* log_test.c: logs people can use (issue 17, point 6), through the real
 * `molt dev`: lines carry an RFC 3339 time and a level; --log-level hides
 * the lines below it; --log-format json writes one JSON object per line,
 * an actor's with its pid, module and vsn; with stderr the journal
 * (JOURNAL_STREAM), each line starts with its syslog priority. The levels
 * fixture logs one line at each level when it starts. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

static char* wdir;

static void setup(void) {
  ct_setup();
  wdir = tu_mkdtemp("molt-log-watch");
  unsetenv("JOURNAL_STREAM");
}

static void teardown(void) {
  ct_teardown();
  unsetenv("JOURNAL_STREAM");
  tu_rmrf(wdir);
  free(wdir);
}

TestSuite(log, .init = setup, .fini = teardown, .timeout = 60);

#define LEVELS MOLT_FIXTURE_DIR "/levels-1.0.0.so"

/* Stop the container started; its whole log (malloc'd). */
static char* stop_and_read(void) {
  ct_signal(SIGTERM);
  cr_assert_eq(ct_wait_exit(20000), 0);
  char* log = tu_read_file(ct_log, NULL);
  cr_assert(log);
  return log;
}

/* Whether some line of text matches the extended regex re. */
static bool has_line(const char* text, const char* re) {
  regex_t r;
  cr_assert_eq(regcomp(&r, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0, "%s", re);
  bool found = regexec(&r, text, 0, NULL, 0) == 0;
  regfree(&r);
  return found;
}

#define TIME "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"
#define PID "<[0-9]+\\.[0-9]+>"

Test(log, text_lines_have_an_rfc3339_time_and_a_level_and_no_debug_by_default) {
  ct_start_dev("--module", LEVELS, "--watch", wdir, (char*)NULL);
  char* log = stop_and_read();
  cr_expect(has_line(log, "^" TIME " info " PID " levels: an info line$"), "%s", log);
  cr_expect(has_line(log, "^" TIME " warning " PID " levels: a warning line$"), "%s", log);
  cr_expect(has_line(log, "^" TIME " error " PID " levels: an error line with \"quotes\", a \\\\ and a\ttab$"),
            "%s", log);
  cr_expect(!strstr(log, "a debug line"), "%s", log);
  /* The container's own lines: no pid, no module. */
  cr_expect(has_line(log, "^" TIME " info stopped$"), "%s", log);
  /* The time is now's, to the minute: UTC wall clock, not uptime. */
  char now[32];
  time_t t = time(NULL);
  strftime(now, sizeof(now), "%Y-%m-%dT%H", gmtime(&t));
  cr_expect(strstr(log, now) || t % 3600 < 60, "no %s in:\n%s", now, log);
  free(log);
}

Test(log, log_level_warning_hides_info_and_shows_warnings_and_errors) {
  ct_start_dev("--module", LEVELS, "--watch", wdir, "--log-level", "warning", (char*)NULL);
  char* log = stop_and_read();
  cr_expect(has_line(log, "^" TIME " warning " PID " levels: a warning line$"), "%s", log);
  cr_expect(has_line(log, "^" TIME " error " PID " levels: an error line"), "%s", log);
  cr_expect(!strstr(log, "an info line"), "%s", log);
  cr_expect(!strstr(log, "a debug line"), "%s", log);
  cr_expect(!has_line(log, " info "), "an info line shown:\n%s", log);
  free(log);
}

Test(log, log_level_error_shows_errors_only_and_debug_shows_all) {
  ct_start_dev("--module", LEVELS, "--watch", wdir, "--log-level", "error", (char*)NULL);
  char* log = stop_and_read();
  cr_expect(strstr(log, "an error line"), "%s", log);
  cr_expect(!strstr(log, "a warning line") && !strstr(log, "an info line"), "%s", log);
  free(log);
  ct_start_dev("--module", LEVELS, "--watch", wdir, "--log-level", "debug", (char*)NULL);
  cr_assert_eq(ct_json_ok("status"), 0);
  log = stop_and_read();
  cr_expect(has_line(log, "^" TIME " debug " PID " levels: a debug line$"), "%s", log);
  /* The container's own debug lines: each control command. */
  cr_expect(has_line(log, "^" TIME " debug control: status "), "%s", log);
  free(log);
}

/* Lines the dev loop and molt print on stdout, which goes to the same
 * file here: for people, not part of the log. */
static bool stdout_line(const char* line) {
  return strncmp(line, "molt: ", 6) == 0 || strncmp(line, "molt dev: ", 10) == 0;
}

static const char* str(const cJSON* o, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

Test(log, json_format_is_one_object_per_line_with_the_actor_fields) {
  ct_start_dev("--module", LEVELS, "--watch", wdir, "--log-format", "json", "--log-level", "debug", (char*)NULL);
  char* log = stop_and_read();
  int objects = 0, actor_lines = 0;
  bool saw_error = false, saw_debug = false, saw_stopped = false;
  regex_t time_re;
  cr_assert_eq(regcomp(&time_re, "^" TIME "$", REG_EXTENDED | REG_NOSUB), 0);
  for (char *line = log, *nl; *line; line = nl + 1) {
    nl = strchr(line, '\n');
    cr_assert(nl, "the log ends inside a line:\n%s", line);
    *nl = '\0';
    if (stdout_line(line)) continue;
    cJSON* o = cJSON_Parse(line);
    cr_assert(o && cJSON_IsObject(o), "not a JSON object: %s", line);
    objects++;
    const char* level = str(o, "level");
    cr_expect(str(o, "time") && regexec(&time_re, str(o, "time"), 0, NULL, 0) == 0, "%s", line);
    cr_expect(level && (strcmp(level, "error") == 0 || strcmp(level, "warning") == 0 ||
                        strcmp(level, "info") == 0 || strcmp(level, "debug") == 0),
              "%s", line);
    cr_expect(str(o, "msg"), "%s", line);
    if (str(o, "module") && strcmp(str(o, "module"), "levels") == 0) {
      actor_lines++;
      cr_expect(str(o, "pid") && str(o, "pid")[0] == '<', "%s", line);
      cr_expect_str_eq(str(o, "vsn"), "1.0.0", "%s", line);
      if (strcmp(level, "error") == 0) {
        saw_error = true;
        /* Escaped on the way out, the same text on the way in. */
        cr_expect_str_eq(str(o, "msg"), "an error line with \"quotes\", a \\ and a\ttab");
      }
      if (strcmp(level, "debug") == 0) saw_debug = strcmp(str(o, "msg"), "a debug line") == 0;
    }
    if (strcmp(str(o, "msg"), "stopped") == 0) {
      saw_stopped = true;
      cr_expect(!str(o, "pid") && !str(o, "module") && !str(o, "vsn"), "a container line with actor fields: %s",
                line);
    }
    cJSON_Delete(o);
  }
  regfree(&time_re);
  cr_expect_eq(actor_lines, 4, "the levels actor logs 4 lines, %d found", actor_lines);
  cr_expect(saw_error && saw_debug && saw_stopped);
  cr_expect_geq(objects, 6);
  free(log);
}

Test(log, journal_stderr_gets_syslog_priority_prefixes) {
  /* ct_start_dev's container writes to ct_log (O_APPEND, made if
   * missing): make it now, and name it as systemd names the journal's
   * stream. */
  FILE* f = fopen(ct_log, "a");
  cr_assert(f);
  fclose(f);
  struct stat st;
  cr_assert_eq(stat(ct_log, &st), 0);
  char js[64];
  snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
  setenv("JOURNAL_STREAM", js, 1);
  ct_start_dev("--module", LEVELS, "--watch", wdir, "--log-level", "debug", (char*)NULL);
  char* log = stop_and_read();
  cr_expect(has_line(log, "^<7>" TIME " debug " PID " levels: a debug line$"), "%s", log);
  cr_expect(has_line(log, "^<6>" TIME " info " PID " levels: an info line$"), "%s", log);
  cr_expect(has_line(log, "^<4>" TIME " warning " PID " levels: a warning line$"), "%s", log);
  cr_expect(has_line(log, "^<3>" TIME " error " PID " levels: an error line"), "%s", log);
  cr_expect(has_line(log, "^<6>" TIME " info stopped$"), "%s", log);
  free(log);
}

Test(log, a_journal_stream_that_is_not_stderr_gets_no_prefixes) {
  setenv("JOURNAL_STREAM", "1:2", 1); /* stderr redirected away from the journal */
  ct_start_dev("--module", LEVELS, "--watch", wdir, (char*)NULL);
  char* log = stop_and_read();
  cr_expect(has_line(log, "^" TIME " error " PID " levels: an error line"), "%s", log);
  cr_expect(!has_line(log, "^<[0-9]>"), "%s", log);
  free(log);
}

Test(log, bad_values_are_refused) {
  char* out = NULL;
  cr_expect_eq(ct_molt("run --log-level verbose", &out), 2, "%s", out);
  cr_expect(strstr(out, "--log-level: expected error, warning, info or debug, found \"verbose\""), "%s", out);
  free(out);
  cr_expect_eq(ct_molt("dev --log-format xml", &out), 2, "%s", out);
  cr_expect(strstr(out, "--log-format: expected text or json, found \"xml\""), "%s", out);
  free(out);
}
