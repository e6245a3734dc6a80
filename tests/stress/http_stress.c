/* http_stress.c: the demo's http module (the built .so files) and its key
 * store, the counter, on two schedulers, for ThreadSanitizer: client
 * threads keep keep-alive connections busy with GETs and PUTs while the
 * main thread switches both modules 1.1.0 <-> 2.0.0 (code_change up and
 * down, one transaction each) again and again. Every answer must be a 200
 * from 1.1.0 or 2.0.0, and at the end every key must hold exactly the
 * increments its client saw answered. Exits 1 with a message on failure. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/httpclient.h"
#include "code_server.h"
#include "host.h"
#include "runtime.h"
#include "upgrade.h"
#include "version.h"

#define NSCHED 2
#define CLIENTS 4
#define CONNS 2     /* per client, used in turn */
#define REQUESTS 400 /* per client */
#define MIN_CYCLES 3

static int port;
static atomic_int clients_done;
static long puts_seen[CLIENTS];

static void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "http_stress: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void check(const hc_answer_t* a, const char* what) {
  if (a->status != 200) fail("%s: status %d", what, a->status);
  if (strcmp(a->vsn, "1.1.0") != 0 && strcmp(a->vsn, "2.0.0") != 0) fail("%s: version '%s'", what, a->vsn);
  if (!strstr(a->body, a->vsn)) fail("%s: body '%s' does not name %s", what, a->body, a->vsn);
}

static void* client(void* arg) {
  int id = (int)(intptr_t)arg;
  int fds[CONNS];
  for (int k = 0; k < CONNS; k++)
    if ((fds[k] = tc_connect(port)) < 0) fail("client %d: connect", id);
  char put[128];
  snprintf(put, sizeof(put), "PUT /keys/s-%d HTTP/1.1\r\nContent-Length: 0\r\n\r\n", id);
  for (int i = 0; i < REQUESTS; i++) {
    bool is_put = i % 3 == 0;
    hc_answer_t a = hc_ask(fds[i % CONNS], is_put ? put : HC_GET("/"));
    check(&a, is_put ? "PUT" : "GET");
    puts_seen[id] += is_put;
  }
  for (int k = 0; k < CONNS; k++) close(fds[k]);
  atomic_fetch_add(&clients_done, 1);
  return NULL;
}

/* Switch counter and http to vsn in one transaction (down: back to it). */
static void switch_to(const char* vsn, bool down) {
  const char* names[2] = {"counter", "http"};
  molt_version_t* v[2];
  molt_hop_t hops[2];
  molt_change_t ch[2];
  char path[1024], err[512] = "";
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof(path), "%s/%s-%s.so", MOLT_MODULE_DIR, names[i], vsn);
    if (molt__code_prepare(path, names[i], &v[i], err, sizeof(err)) != 0) fail("prepare %s: %s", path, err);
    hops[i] = (molt_hop_t){v[i], true, down ? MOLT_DOWN : MOLT_UP, NULL};
    ch[i] = (molt_change_t){names[i], &hops[i], 1};
  }
  if (!molt__upgrade_begin()) fail("upgrade busy");
  int rc = molt__upgrade_apply(ch, 2, 30000, NULL, err, sizeof(err));
  molt__upgrade_end();
  for (int i = 0; i < 2; i++) molt__version_unref(v[i]);
  if (rc) fail("switch to %s: %s", vsn, err);
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  if (bind(fd, (struct sockaddr*)&sa, sizeof(sa)) != 0) fail("bind");
  getsockname(fd, (struct sockaddr*)&sa, &len);
  close(fd);
  return ntohs(sa.sin_port);
}

static void load(const char* name, const char* vsn) {
  char path[1024], err[512] = "";
  snprintf(path, sizeof(path), "%s/%s-%s.so", MOLT_MODULE_DIR, name, vsn);
  if (molt__code_load(path, name, NULL, err, sizeof(err)) != 0) fail("load %s: %s", path, err);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  char home[] = "/tmp/molt-http-stress.XXXXXX", code[64], err[256], args[64];
  if (!mkdtemp(home)) fail("mkdtemp");
  snprintf(code, sizeof(code), "%s/code", home);
  if (molt__code_init(code) != 0) fail("code server");
  if (molt__host_start(NSCHED, err, sizeof(err)) != 0) fail("start: %s", err);
  load("counter", "1.1.0");
  load("http", "1.1.0");
  molt_pid_t pid;
  if (molt__runtime_spawn("counter", "{\"name\":\"counter\"}", &pid)) fail("spawn counter");
  port = free_port();
  snprintf(args, sizeof(args), "{\"port\":%d}", port);
  if (molt__runtime_spawn("http", args, &pid)) fail("spawn http");

  pthread_t t[CLIENTS];
  for (int i = 0; i < CLIENTS; i++) pthread_create(&t[i], NULL, client, (void*)(intptr_t)i);
  int cycles = 0;
  while (cycles < MIN_CYCLES || atomic_load(&clients_done) < CLIENTS) {
    switch_to("2.0.0", false);
    switch_to("1.1.0", true);
    cycles++;
  }
  for (int i = 0; i < CLIENTS; i++) pthread_join(t[i], NULL);

  int fd = tc_connect(port);
  if (fd < 0) fail("connect after the cycles");
  for (int i = 0; i < CLIENTS; i++) {
    char req[96], want[96];
    snprintf(req, sizeof(req), "GET /keys/s-%d HTTP/1.1\r\n\r\n", i);
    hc_answer_t a = hc_ask(fd, req);
    check(&a, "final GET");
    snprintf(want, sizeof(want), "\"count\":%ld}", puts_seen[i]);
    if (!strstr(a.body, want)) fail("key s-%d: %s, but %ld increments were answered", i, a.body, puts_seen[i]);
  }
  close(fd);
  molt__host_stop();
  molt__code_close();
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
  if (system(cmd) != 0) fail("rm %s", home);
  printf("http_stress: ok (%d clients x %d requests, %d upgrade/downgrade cycles)\n", CLIENTS, REQUESTS, cycles);
  return 0;
}
