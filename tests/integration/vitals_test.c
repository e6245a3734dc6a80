/* vitals_test.c: every actor's vital signs through the molt command
 * (issue 17, points 1, 2 and 5), on the flood reproducer
 * (tests/fixtures/modules/flood.c): a sink slower than its source shows a
 * growing mailbox and memory in `molt ps` and `molt top --once --json`,
 * raises the mailbox alarm (logged once, listed by status) and clears it
 * (logged once) when the flood stops and the sink drains. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

TestSuite(vitals, .init = ct_setup, .fini = ct_teardown, .timeout = 90);

/* The flood release: the source sends 20 messages every 10 ms (for ticks
 * ticks, 0: for ever) to a sink that takes 1 ms each; the module's
 * mailbox alarm is at 300 messages. */
static void start_flood(int ticks) {
  char text[1024], *msg = NULL, path[4200];
  snprintf(text, sizeof(text),
           "{\"name\": \"flood\", \"version\": \"1.0.0\", \"modules\": ["
           "{\"name\": \"flood\", \"vsn\": \"1.0.0\", \"file\": \"flood-1.0.0.so\", \"mailbox_alarm\": 300}],"
           "\"alarms\": {\"callback_s\": 30},"
           "\"supervisor\": {\"name\": \"flood_sup\", \"children\": ["
           "{\"id\": \"source\", \"module\": \"flood\", \"args\": {\"ticks\": %d}}]}}",
           ticks);
  cr_assert_eq(ct_bundle("flood", text, MOLT_FIXTURE_DIR, &msg), 0, "%s", msg);
  free(msg);
  snprintf(path, sizeof(path), "%s/flood", ct_home);
  ct_start(path);
}

static double num(const cJSON* o, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  cr_assert(cJSON_IsNumber(v), "no number %s", key);
  return v->valuedouble;
}

static const char* str(const cJSON* o, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The sink's row in `molt ps --sort mailbox --json`: it must come first. */
static cJSON* sink_row(cJSON** ps) {
  *ps = ct_json("ps --sort mailbox");
  cJSON* first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(*ps, "actors"), 0);
  cr_assert(first);
  cr_assert_str_eq(str(first, "name") ? str(first, "name") : "-", "sink");
  return first;
}

Test(vitals, flood_grows_the_sinks_mailbox_in_ps_and_top_and_raises_an_alarm) {
  start_flood(0);
  usleep(600 * 1000);
  cJSON* ps1;
  cJSON* a = sink_row(&ps1);
  double mbox1 = num(a, "mailbox"), handled1 = num(a, "messages");
  cr_expect_gt(num(a, "memory"), 0, "the sink keeps memory from every message");
  cr_expect_eq(num(ps1, "total"), 3, "source, sink and their supervisor");
  cJSON_Delete(ps1);
  usleep(1000 * 1000);
  cJSON* ps2;
  a = sink_row(&ps2);
  cr_expect_gt(num(a, "mailbox"), mbox1, "the mailbox grows: %.0f then %.0f", mbox1, num(a, "mailbox"));
  cr_expect_gt(num(a, "messages"), handled1);
  cr_expect_gt(num(a, "mailbox"), 100);
  cJSON_Delete(ps2);

  cJSON* top = ct_json("top --once --limit 3");
  cJSON* mb = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(top, "top"), "mailbox");
  cr_assert_eq(cJSON_GetArraySize(mb), 3);
  cr_expect_str_eq(str(cJSON_GetArrayItem(mb, 0), "name"), "sink");
  cJSON* scheds = cJSON_GetObjectItemCaseSensitive(top, "schedulers");
  cr_expect_eq(cJSON_GetArraySize(scheds), 2);
  cJSON* s0 = cJSON_GetArrayItem(scheds, 0);
  num(s0, "utilisation");
  num(s0, "run_queue");
  cJSON* mods = cJSON_GetObjectItemCaseSensitive(top, "modules");
  bool flood = false;
  cJSON* m;
  cJSON_ArrayForEach(m, mods) if (str(m, "module") && strcmp(str(m, "module"), "flood") == 0) {
    flood = true;
    cr_expect_eq(num(m, "actors"), 2);
    cr_expect_gt(num(m, "max_mailbox"), 100);
  }
  cr_expect(flood, "top lists the flood module");
  cJSON_Delete(top);

  cr_assert(ct_wait_log("alarm set: mailbox", 15000), "%s", ct_log);
  cJSON* st = ct_json("status");
  cJSON* alarms = cJSON_GetObjectItemCaseSensitive(st, "alarms");
  cr_assert_geq(cJSON_GetArraySize(alarms), 1);
  cJSON* al = cJSON_GetArrayItem(alarms, 0);
  cr_expect_str_eq(str(al, "alarm"), "mailbox");
  cr_expect_str_eq(str(al, "module"), "flood");
  cr_expect_eq(num(al, "limit"), 300);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "scheduler_load")), 2);
  cJSON_Delete(st);

  char* out = NULL;
  cr_assert_eq(ct_molt("ps --sort mailbox --limit 1", &out), 0, "%s", out);
  cr_expect(strstr(out, "MAILBOX") && strstr(out, "sink"), "%s", out);
  free(out);
  cr_assert_eq(ct_molt("status", &out), 0, "%s", out);
  cr_expect(strstr(out, "alarms      1") && strstr(out, "mailbox <"), "%s", out);
  free(out);
  cr_assert_eq(ct_molt("top --once", &out), 0, "%s", out);
  cr_expect(strstr(out, "LONGEST MAILBOXES") && strstr(out, "flood"), "%s", out);
  free(out);
  /* Once set, it is not logged again while it holds. */
  usleep(2500 * 1000);
  cr_expect_eq(ct_log_count("alarm set: mailbox"), 1, "%s", ct_log);
}

Test(vitals, the_mailbox_alarm_clears_once_when_the_flood_stops) {
  start_flood(100); /* a second of flood */
  cr_assert(ct_wait_log("alarm set: mailbox", 15000), "%s", ct_log);
  cr_assert(ct_wait_log("alarm cleared: mailbox", 30000), "%s", ct_log);
  usleep(1500 * 1000);
  cr_expect_eq(ct_log_count("alarm set: mailbox"), 1, "%s", ct_log);
  cr_expect_eq(ct_log_count("alarm cleared: mailbox"), 1, "%s", ct_log);
  cJSON* st = ct_json("status");
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "alarms")), 0);
  cJSON_Delete(st);
  cJSON* a = ct_json("inspect sink");
  cr_expect_eq(num(a, "mailbox"), 0, "drained");
  cr_expect_eq(num(a, "messages"), 2000, "every message the source sent was handled");
  cJSON_Delete(a);
}

Test(vitals, ps_filters_by_module_and_refuses_a_bad_sort_key) {
  start_flood(0);
  cJSON* ps = ct_json("ps --module flood");
  cr_expect_eq(num(ps, "total"), 2);
  char source[32] = "";
  cJSON* a;
  cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(ps, "actors")) if (!str(a, "name"))
    snprintf(source, sizeof(source), "%s", str(a, "pid"));
  cJSON_Delete(ps);
  cr_assert(*source, "ps shows the source");
  char* out = NULL;
  cr_expect_eq(ct_molt("ps --sort bogus", &out), 2, "%s", out);
  cr_expect(strstr(out, "--sort: expected mailbox, memory, time or messages"), "%s", out);
  free(out);
  /* inspect of the sink: its turn is behind a long mailbox, so inspect
   * answers at its deadline with the runtime's figures and says the
   * state was not read. */
  double backlog = 0;
  for (int i = 0; i < 150 && backlog < 1500; i++) {
    usleep(100 * 1000);
    cJSON* p;
    backlog = num(sink_row(&p), "mailbox");
    cJSON_Delete(p);
  }
  cr_assert_geq(backlog, 1500, "the sink's mailbox did not grow past 1500");
  cJSON* in = ct_json("inspect sink");
  cr_expect_str_eq(str(in, "module"), "flood");
  cr_expect(str(in, "state_error") && strstr(str(in, "state_error"), "busy"));
  cr_expect_gt(num(in, "mailbox"), 0);
  cJSON_Delete(in);
  /* The source: linked to its supervisor; its next tick is pending, or
   * already fired and queued behind the sink's turn on their scheduler. */
  char cmd[64];
  snprintf(cmd, sizeof(cmd), "inspect '%s'", source);
  cJSON* src = ct_json(cmd);
  char* text = cJSON_Print(src);
  cr_expect(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(src, "timers")), "%s", text);
  cr_expect_leq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(src, "timers")), 1, "%s", text);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(src, "links")), 1, "%s", text);
  cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(src, "state_error")), "%s", text);
  free(text);
  cJSON_Delete(src);
}
