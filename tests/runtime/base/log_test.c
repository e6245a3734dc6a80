/* log_test.c: base/log's lines as written to stderr: a JSON line is one
 * valid object even for the longest message of characters that all need
 * escaping; the threshold drops lines below it; level names. Each test
 * runs in its own process (Criterion's), so stderr and the log's
 * process-wide settings are its own. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "testutil.h"

static char path[] = "/tmp/molt-log-test-XXXXXX";

/* stderr into a fresh temporary file. */
static void capture(void) {
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  cr_assert_geq(dup2(fd, STDERR_FILENO), 0);
  close(fd);
}

static char* captured(void) {
  char* text = tu_read_file(path, NULL);
  unlink(path);
  cr_assert(text);
  return text;
}

Test(log, a_json_line_of_the_longest_message_to_escape_still_parses) {
  capture();
  molt__log_config(MOLT_LOG_INFO, MOLT_LOG_JSON);
  char msg[2000];
  memset(msg, '"', sizeof(msg) - 1);
  msg[sizeof(msg) - 1] = '\0';
  msg[5] = '\x01'; /* a control character: \u0001 */
  molt_log_who_t who = {"<64.1>", "mod\"ule", "1.0.0"};
  molt__log_who(MOLT_LOG_ERROR, &who, "%s", msg);
  char* text = captured();
  size_t n = strlen(text);
  cr_assert(n > 0 && text[n - 1] == '\n' && !memchr(text, '\n', n - 1), "one line: %s", text);
  cJSON* o = cJSON_Parse(text);
  cr_assert(o, "not JSON: %s", text);
  const char* m = cJSON_GetObjectItem(o, "msg")->valuestring;
  cr_expect_eq(strlen(m), 1023, "the message is cut at 1023 bytes, then escaped whole");
  cr_expect_eq(m[5], '\x01');
  cr_expect_str_eq(cJSON_GetObjectItem(o, "module")->valuestring, "mod\"ule");
  cr_expect_str_eq(cJSON_GetObjectItem(o, "level")->valuestring, "error");
  cJSON_Delete(o);
  free(text);
}

Test(log, lines_below_the_threshold_are_dropped) {
  capture();
  molt__log_config(MOLT_LOG_WARNING, MOLT_LOG_TEXT);
  cr_expect(!molt__log_enabled(MOLT_LOG_INFO));
  molt__log("an info line");
  molt__log_debug("a debug line");
  molt__log_warn("a warning line");
  molt__log_error("an error line");
  char* text = captured();
  cr_expect(!strstr(text, "info") && !strstr(text, "debug"), "%s", text);
  cr_expect(strstr(text, "Z warning a warning line\n") && strstr(text, "Z error an error line\n"), "%s", text);
  free(text);
}

Test(log, level_names) {
  cr_expect_eq(molt__log_level_parse("error"), MOLT_LOG_ERROR);
  cr_expect_eq(molt__log_level_parse("warning"), MOLT_LOG_WARNING);
  cr_expect_eq(molt__log_level_parse("info"), MOLT_LOG_INFO);
  cr_expect_eq(molt__log_level_parse("debug"), MOLT_LOG_DEBUG);
  cr_expect_eq(molt__log_level_parse("warn"), -1);
  cr_expect_eq(molt__log_level_parse(""), -1);
  cr_expect_str_eq(molt__log_level_name(MOLT_LOG_WARNING), "warning");
}
