/* tcp_release_test.c: a real container serving TCP (modules/echo) on a
 * port given in the release manifest's arguments, driven through the molt
 * command: connections opened before an upgrade keep working after it
 * and after a rollback, and see each version's behaviour. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tcpclient.h"
#include "testutil.h"

TestSuite(tcp_release, .init = ct_setup, .fini = ct_teardown, .timeout = 90);

/* Bundle echo <vsn> as release "echo" <vsn>, listening on port. */
static void bundle(const char* vsn, int port, char* out, size_t len) {
  char src[1024], cmd[4096], json[1024];
  snprintf(src, sizeof(src), "%s/echo-%s.json", ct_home, vsn);
  snprintf(json, sizeof(json),
           "{\"name\":\"echo\",\"version\":\"%s\","
           "\"modules\":[{\"name\":\"echo\",\"vsn\":\"%s\",\"file\":\"echo-%s.so\"}],"
           "\"supervisor\":{\"name\":\"echo_sup\",\"strategy\":\"one_for_one\",\"intensity\":5,"
           "\"period_ms\":10000,\"children\":[{\"id\":\"echo\",\"module\":\"echo\","
           "\"args\":{\"address\":\"127.0.0.1\",\"port\":%d}}]}}",
           vsn, vsn, vsn, port);
  cr_assert_eq(tu_write_file(src, json, strlen(json)), 0);
  snprintf(out, len, "%s/bundle-echo-%s", ct_home, vsn);
  snprintf(cmd, sizeof(cmd), "'%s/bin/molt-bundle' '%s' '%s' '%s' 2>&1", MOLT_BUILD_DIR, src, MOLT_MODULE_DIR, out);
  char* output = NULL;
  int rc = tu_run(cmd, &output);
  cr_assert_eq(rc, 0, "molt-bundle: %s", output ? output : "");
  free(output);
}

Test(tcp_release, connections_survive_an_upgrade_and_a_rollback) {
  signal(SIGPIPE, SIG_IGN);
  int port = tu_free_port();
  char b1[1024], b2[1024], cmd[1200];
  bundle("1.0.0", port, b1, sizeof(b1));
  bundle("1.1.0", port, b2, sizeof(b2));
  ct_start(b1);
  char needle[64];
  snprintf(needle, sizeof(needle), "listening on 127.0.0.1:%d", port);
  cr_assert(ct_wait_log(needle, 5000));

  int a = tc_connect(port);
  cr_assert(a >= 0);
  cr_expect(tc_roundtrip(a, "hello\n", "hello\n"));
  cr_expect(tc_roundtrip(a, "vsn\n", "vsn\n"), "1.0.0 echoes everything");

  snprintf(cmd, sizeof(cmd), "unpack '%s'", b2);
  cJSON_Delete(ct_json(cmd));
  cJSON* r = ct_json("upgrade 1.1.0");
  cr_expect(strstr(cJSON_GetObjectItem(r, "plan")->valuestring, "soft echo"), "%s",
            cJSON_GetObjectItem(r, "plan")->valuestring);
  cJSON_Delete(r);
  cr_expect(tc_roundtrip(a, "vsn\n", "1.1.0\n"), "the old connection is not served by 1.1.0");
  int b = tc_connect(port);
  cr_assert(b >= 0, "the listener did not survive the upgrade");
  cr_expect(tc_roundtrip(b, "vsn\n", "1.1.0\n"));

  cJSON_Delete(ct_json("rollback"));
  cr_expect(tc_roundtrip(a, "vsn\n", "vsn\n"), "the first connection is not back on 1.0.0");
  cr_expect(tc_roundtrip(b, "still\n", "still\n"), "the second connection died in the rollback");

  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_expect_eq(ct_wait_exit(15000), 0);
  cr_expect(tc_closed_by_peer(a), "a connection outlived the container");
  close(a);
  close(b);
}
