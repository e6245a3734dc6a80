/* nul_strings_test.c: strings are never cut. cJSON decodes "\u0000" into a
 * C string that ends there, so a request or manifest holding one would be
 * read as something shorter: {"cmd":"stop\u0000"} as stop, a module file
 * "a.so\u0000x" as a.so. A real container, its control socket spoken to
 * directly, `molt unpack`, `molt run` and molt-bundle refuse each such
 * string, naming its JSON path. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

#define REL(v) MOLT_RELEASE_DIR "/demo-" v

TestSuite(nul_strings, .init = ct_setup, .fini = ct_teardown, .timeout = 60);

/* One request line of n bytes on a fresh connection; the reply, parsed. */
static cJSON* request(const char* bytes, size_t n) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  char reply[4096] = "";
  size_t got = 0;

  snprintf(sa.sun_path, sizeof sa.sun_path, "%s/molt.sock", ct_home);
  cr_assert_eq(connect(fd, (struct sockaddr*)&sa, sizeof sa), 0);
  cr_assert_eq(write(fd, bytes, n), (ssize_t)n);
  while (got < sizeof reply - 1 && !strchr(reply, '\n')) {
    ssize_t r = read(fd, reply + got, sizeof reply - 1 - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  cJSON* j = cJSON_Parse(reply);
  cr_assert_not_null(j, "no JSON reply to %.*s: %s", (int)n, bytes, reply);
  return j;
}

static cJSON* request_s(const char* line) { return request(line, strlen(line)); }

/* The request must be refused as EBADREQ with a message starting want. */
static void refused(const char* bytes, size_t n, const char* want) {
  cJSON* j = request(bytes, n);
  const cJSON* ok = cJSON_GetObjectItem(j, "ok");
  const cJSON* error = cJSON_GetObjectItem(j, "error");
  const cJSON* message = cJSON_GetObjectItem(j, "message");

  cr_expect(cJSON_IsFalse(ok), "served: %.*s", (int)n, bytes);
  cr_expect(cJSON_IsString(error) && strcmp(error->valuestring, "EBADREQ") == 0, "%.*s", (int)n,
            bytes);
  cr_expect(cJSON_IsString(message) && strncmp(message->valuestring, want, strlen(want)) == 0,
            "message %s, want %s", cJSON_IsString(message) ? message->valuestring : "-", want);
  cJSON_Delete(j);
}

static void refused_s(const char* line, const char* want) { refused(line, strlen(line), want); }

static int actors(void) {
  cJSON* j = ct_json("status");
  int n = cJSON_GetObjectItem(j, "actors")->valueint;

  cJSON_Delete(j);
  return n;
}

Test(nul_strings, control_requests_holding_a_nul_are_refused_and_the_container_serves_on) {
  ct_start(REL("1.0.0"));
  /* The same requests without the NUL are served. */
  cJSON* j = request_s("{\"cmd\":\"inspect\",\"args\":{\"actor\":\"counter\"}}\n");
  cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")), "inspect counter was not served");
  cJSON_Delete(j);

  refused_s("{\"cmd\":\"stop\\u0000\"}\n", "cmd: string contains a NUL character (at byte offset 12)");
  /* Not stopped: no exit within a stop's time, and it still answers. */
  cr_expect_eq(ct_wait_exit(1500), -1, "the container exited");
  cr_expect_eq(actors(), 8);

  refused_s("{\"cmd\":\"status\\u0000x\"}\n", "cmd: string contains a NUL character");
  refused_s("{\"cmd\":\"inspect\",\"args\":{\"actor\":\"counter\\u0000evil\"}}\n",
            "args.actor: string contains a NUL character");
  refused_s("{\"cmd\":\"status\",\"args\":{\"\\u0000\":1}}\n", "args: key contains a NUL character");
  /* A raw NUL byte inside the string. */
  static const char raw[] = "{\"cmd\":\"stop\0\"}\n";
  refused(raw, sizeof raw - 1, "cmd: string contains a NUL character (at byte offset 12)");
  /* An escaped backslash is no NUL: the whole name is looked up. */
  refused_s("{\"cmd\":\"status\\\\u0000\"}\n", "unknown command \"status\\u0000\"");

  cr_expect_eq(ct_wait_exit(300), -1, "the container exited");
  cr_expect_eq(actors(), 8);
}

/* A copy of the 1.1.0 bundle in the home whose counter file is
 * "modules/counter-1.1.0.so\u0000.old": cut at the NUL it names the real,
 * correctly hashed file, so only the NUL check can refuse it. */
static char* nul_bundle(void) {
  char* dir = NULL;
  char cmd[16384];

  cr_assert_geq(asprintf(&dir, "%s/nul-bundle", ct_home), 0);
  snprintf(cmd, sizeof cmd,
           "cp -r '%s' '%s' && sed -i 's#\"modules/counter-1.1.0.so\"#\"modules/counter-1.1.0.so"
           "\\\\u0000.old\"#' '%s/release.json' && grep -q 'so\\\\u0000.old' '%s/release.json'",
           REL("1.1.0"), dir, dir, dir);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
  return dir;
}

static void expect_one_line_with(const char* out, const char* want) {
  cr_expect(strstr(out, want), "%s", out);
  cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "not one line: %s", out);
}

Test(nul_strings, unpack_and_run_refuse_a_manifest_with_a_nul_in_a_file_path) {
  char* bundle = nul_bundle();
  char args[8192], cmd[16384];
  char* out = NULL;

  ct_start(REL("1.0.0"));
  snprintf(args, sizeof args, "unpack '%s'", bundle);
  cr_expect_eq(ct_molt(args, &out), 1);
  expect_one_line_with(out, "modules[0].file: string contains a NUL character (at byte offset ");
  free(out);
  cJSON* j = ct_json("releases");
  cJSON* r;
  cJSON_ArrayForEach(r, j) {
    cr_expect_str_neq(cJSON_GetObjectItem(r, "version")->valuestring, "1.1.0");
  }
  cJSON_Delete(j);
  cr_expect_eq(actors(), 8);

  snprintf(cmd, sizeof cmd, "timeout 20 %s run --home '%s/h2' --release '%s' 2>&1", MOLT_BIN, ct_home, bundle);
  cr_expect_eq(tu_run(cmd, &out), 1);
  expect_one_line_with(out, "modules[0].file: string contains a NUL character");
  free(out);
  free(bundle);
}

Test(nul_strings, molt_bundle_refuses_a_source_manifest_with_a_nul_in_a_file_path) {
  char src[8192], dest[8192], cmd[32768];
  char* out = NULL;

  snprintf(src, sizeof src, "%s/demo.json", ct_home);
  snprintf(dest, sizeof dest, "%s/demo-1.1.0", ct_home);
  snprintf(cmd, sizeof cmd,
           "sed 's#\"counter-1.1.0.so\"#\"counter-1.1.0.so\\\\u0000.old\"#' '%s/releases/demo/1.1.0.json' "
           "> '%s' && grep -q 'so\\\\u0000.old' '%s'",
           MOLT_SOURCE_DIR, src, src);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
  snprintf(cmd, sizeof cmd, "%s/bin/molt-bundle '%s' '%s' '%s' 2>&1", MOLT_BUILD_DIR, src,
           MOLT_MODULE_DIR, dest);
  cr_expect_neq(tu_run(cmd, &out), 0);
  expect_one_line_with(out, "modules[0].file: string contains a NUL character");
  free(out);
  cr_expect_neq(access(dest, F_OK), 0, "%s was written", dest);
}
