/* metrics_test.c: molt run --metrics on a real container: /metrics is
 * valid Prometheus text (checked with promtool, or prometheus_client's
 * parser where promtool is missing), its figures agree with molt ps and
 * follow an upgrade, and bad requests, bad options and a port in use get
 * their proper answers. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tcpclient.h"
#include "testutil.h"

#define REL(v) MOLT_RELEASE_DIR "/demo-" v

TestSuite(metrics, .init = ct_setup, .fini = ct_teardown, .timeout = 60);

/* The port the container logged for its metrics listener. */
static int metrics_port(void) {
  cr_assert(ct_wait_log("metrics on port ", 5000));
  char* log = tu_read_file(ct_log, NULL);
  const char* p = strstr(log, "metrics on port ");
  int port = atoi(p + strlen("metrics on port "));
  free(log);
  cr_assert_gt(port, 0);
  return port;
}

/* GET path with curl into <home>/<file>; the HTTP status. */
static int get(int port, const char* method, const char* path, const char* file) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "curl -sS --max-time 5 -X %s -o %s/%s -w '%%{http_code}' http://127.0.0.1:%d%s", method,
           ct_home, file, port, path);
  FILE* f = popen(cmd, "r");
  cr_assert(f);
  int code = 0;
  if (fscanf(f, "%d", &code) != 1) code = -1;
  pclose(f);
  return code;
}

static char* scrape(int port) {
  cr_assert_eq(get(port, "GET", "/metrics", "metrics.txt"), 200);
  char path[4096];
  snprintf(path, sizeof path, "%s/metrics.txt", ct_home);
  char* text = tu_read_file(path, NULL);
  cr_assert(text);
  return text;
}

/* Validate <home>/metrics.txt with a real parser. */
static void check_format(void) {
  char cmd[4096];
  if (system("command -v promtool >/dev/null 2>&1") == 0) {
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s/metrics.txt > %s/promtool.out 2>&1", ct_home, ct_home);
  } else if (system("/usr/bin/python3 -c 'import prometheus_client' >/dev/null 2>&1") == 0) {
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import sys; from prometheus_client.parser import text_string_to_metric_families as p; "
             "list(p(open(sys.argv[1]).read()))' %s/metrics.txt > %s/promtool.out 2>&1",
             ct_home, ct_home);
  } else {
    cr_assert_fail("%s", "neither promtool (apt install prometheus) nor python3-prometheus-client is installed: "
                         "tools/setup.sh installs prometheus");
  }
  int rc = system(cmd);
  snprintf(cmd, sizeof cmd, "%s/promtool.out", ct_home);
  char* out = tu_read_file(cmd, NULL);
  cr_assert_eq(rc, 0, "the metrics do not parse: %s", out ? out : "");
  free(out);
}

/* The value of the sample whose line starts with prefix, or -1. */
static double value(const char* text, const char* prefix) {
  for (const char* p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
    if (strncmp(p, prefix, strlen(prefix)) == 0 && p[strlen(prefix)] == ' ') return atof(p + strlen(prefix) + 1);
  return -1;
}

/* Actors of module as molt ps --json lists them. */
static int ps_count(const char* module) {
  char args[128];
  snprintf(args, sizeof args, "ps --module %s", module);
  cJSON* j = ct_json(args);
  int n = cJSON_GetArraySize(cJSON_GetObjectItem(j, "actors"));
  cJSON_Delete(j);
  return n;
}

Test(metrics, valid_text_that_agrees_with_ps_and_follows_an_upgrade) {
  ct_start_run("--release", REL("1.0.0"), "--metrics", "127.0.0.1:0", NULL);
  int port = metrics_port();
  char* t = scrape(port);
  check_format();
  cr_expect_eq(value(t, "molt_actors{module=\"driver\",vsn=\"1.0.0\",slot=\"current\",revision=\"1\"}"),
               ps_count("driver"));
  cr_expect_eq(value(t, "molt_actors{module=\"counter\",vsn=\"1.0.0\",slot=\"current\",revision=\"1\"}"),
               ps_count("counter"));
  cr_expect_eq(value(t, "molt_release_info{name=\"demo\",vsn=\"1.0.0\",state=\"permanent\"}"), 1);
  cr_expect_eq(value(t, "molt_code_changes_total{outcome=\"committed\"}"), 0);
  cr_expect_eq(value(t, "molt_schedulers"), 2);
  cr_expect_gt(value(t, "process_resident_memory_bytes"), 1e6);
  cr_expect_gt(value(t, "process_open_fds"), 3);
  free(t);

  cJSON_Delete(ct_json("unpack " REL("1.1.0")));
  cJSON_Delete(ct_json("upgrade 1.1.0"));
  t = scrape(port);
  check_format();
  cr_expect_geq(value(t, "molt_code_changes_total{outcome=\"committed\"}"), 1);
  cr_expect_geq(value(t, "molt_code_change_pause_seconds_count"), 1);
  cr_expect_eq(value(t, "molt_release_info{name=\"demo\",vsn=\"1.1.0\",state=\"current\"}"), 1);
  cr_expect_eq(value(t, "molt_release_running{name=\"demo\",vsn=\"1.1.0\"}"), 1);
  cr_expect_eq(value(t, "molt_actors{module=\"counter\",vsn=\"1.1.0\",slot=\"current\",revision=\"2\"}"),
               ps_count("counter"));
  cr_expect_eq(value(t, "molt_module_version_info{module=\"counter\",slot=\"current\",vsn=\"1.1.0\"}"), 1);
  cr_expect_eq(value(t, "molt_actors{module=\"counter\",vsn=\"1.0.0\",slot=\"current\",revision=\"1\"}"), -1);
  free(t);
}

/* One raw request; the status of the answer, or -1. */
static int raw(int port, const char* req, size_t len) {
  int fd = tc_connect(port);
  cr_assert_geq(fd, 0);
  tc_send(fd, req, len);
  char buf[64] = "";
  int code = -1;
  if (recv(fd, buf, sizeof buf - 1, MSG_WAITALL) > 12) sscanf(buf, "HTTP/1.1 %d", &code);
  close(fd);
  return code;
}

Test(metrics, refuses_what_it_does_not_serve) {
  ct_start_run("--release", REL("1.0.0"), "--metrics", "127.0.0.1:0", NULL);
  int port = metrics_port();
  cr_expect_eq(get(port, "GET", "/nope", "x"), 404);
  cr_expect_eq(get(port, "GET", "/", "x"), 404); /* no --observer */
  cr_expect_eq(get(port, "POST", "/metrics", "x"), 405);
  cr_expect_eq(raw(port, "BLAH\r\n\r\n", 8), 400);
  size_t big = 20000;
  char* req = malloc(big);
  memset(req, 'a', big);
  memcpy(req, "GET /metrics HTTP/1.1\r\nX-Big: ", 30);
  cr_expect(raw(port, req, big) == 431 || raw(port, req, big) == 400);
  free(req);
  /* A connection that sends nothing is closed at its deadline, and the
   * listener still serves meanwhile. */
  int idle = tc_connect(port);
  cr_assert_geq(idle, 0);
  cr_expect_eq(get(port, "GET", "/metrics", "m"), 200);
  close(idle);
}

Test(metrics, bad_address_and_port_in_use_fail_with_one_line) {
  char cmd[4096], out[4096];
  snprintf(cmd, sizeof cmd, "%s run --home %s --metrics x 2>&1", MOLT_BIN, ct_home);
  FILE* f = popen(cmd, "r");
  size_t n = fread(out, 1, sizeof out - 1, f);
  out[n] = 0;
  cr_expect_eq(WEXITSTATUS(pclose(f)), 2);
  cr_expect_str_eq(out, "molt run: --metrics: expected ADDR:PORT, got \"x\" (see molt run --help)\n");

  ct_start_run("--release", REL("1.0.0"), "--metrics", "127.0.0.1:0", NULL);
  int port = metrics_port();
  char* other = tu_mkdtemp("molt-it-other");
  snprintf(cmd, sizeof cmd, "%s run --home %s --release %s --metrics 127.0.0.1:%d 2>&1 | grep -c 'molt run: --metrics 127.0.0.1:%d: address already in use'",
           MOLT_BIN, other, REL("1.0.0"), port, port);
  f = popen(cmd, "r");
  n = fread(out, 1, sizeof out - 1, f);
  out[n] = 0;
  pclose(f);
  cr_expect_str_eq(out, "1\n");
  snprintf(cmd, sizeof cmd, "rm -rf %s", other);
  system(cmd);
  free(other);
}

/* The flood (vitals_test's release: a source faster than its sink, whose
 * mailbox alarm is at 300) as /metrics shows it: the sink's mailbox in the
 * histogram's upper buckets, the mailbox alarm, the schedulers' busy time
 * and utilisation. */
Test(metrics, a_flood_shows_in_the_mailbox_histogram_and_as_an_alarm) {
  char text[1024], *msg = NULL, path[4200];
  snprintf(text, sizeof(text),
           "{\"name\": \"flood\", \"version\": \"1.0.0\", \"modules\": ["
           "{\"name\": \"flood\", \"vsn\": \"1.0.0\", \"file\": \"flood-1.0.0.so\", \"mailbox_alarm\": 300}],"
           "\"supervisor\": {\"name\": \"flood_sup\", \"children\": ["
           "{\"id\": \"source\", \"module\": \"flood\", \"args\": {\"ticks\": 0}}]}}");
  cr_assert_eq(ct_bundle("flood", text, MOLT_FIXTURE_DIR, &msg), 0, "%s", msg);
  free(msg);
  snprintf(path, sizeof(path), "%s/flood", ct_home);
  ct_start_run("--release", path, "--metrics", "127.0.0.1:0", NULL);
  int port = metrics_port();
  cr_assert(ct_wait_log("alarm set: mailbox", 15000), "%s", ct_log);
  char* t = scrape(port);
  check_format();
  double live = value(t, "molt_actors_live");
  double under_100 = value(t, "molt_actor_mailbox_length_bucket{le=\"100\"}");
  cr_expect_gt(live, 0, "%s", t);
  cr_expect_lt(under_100, live, "no mailbox over 100 in the histogram:\n%s", t);
  cr_expect(strstr(t, "molt_alarm{kind=\"mailbox\",subject=\"<"), "no mailbox alarm:\n%s", t);
  cr_expect_geq(value(t, "molt_alarms"), 1, "%s", t);
  cr_expect(strstr(t, "molt_scheduler_busy_seconds_total{scheduler=\"0\"}"), "%s", t);
  cr_expect(strstr(t, "molt_scheduler_utilisation{scheduler=\"0\"}"), "%s", t);
  cr_expect(strstr(t, "molt_scheduler_run_queue{scheduler=\"0\"}"), "%s", t);
  /* The source sends faster than the sink handles: more sent than
   * handled, and both counted. */
  double sent = 0;
  for (const char* p = strstr(t, "\nmolt_messages_sent_total{"); p; p = strstr(p + 1, "\nmolt_messages_sent_total{"))
    sent += atof(strchr(p, '}') + 2);
  double handled = value(t, "molt_messages_handled_total");
  cr_expect_gt(handled, 0, "%s", t);
  cr_expect_gt(sent, handled, "sent %.0f, handled %.0f", sent, handled);
  free(t);
}
