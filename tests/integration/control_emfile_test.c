/* control_emfile_test.c: a container whose fd table is full still answers
 * every `molt` command, with the reason, and logs the condition once when
 * it begins and once when it ends (issue 14, point 11). The table is
 * filled by TCP connections to a module's listener (echo), under a low
 * RLIMIT_NOFILE given to the container, with the listener's cap lifted
 * (max_conns) so that the cap, which would keep descriptors in reserve,
 * does not stop them first: the listener pauses on EMFILE instead, and
 * says so, once. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

TestSuite(control_emfile, .init = ct_setup, .fini = ct_teardown, .timeout = 90);

#define CONTAINER_NOFILE 128
#define MAX_CLIENTS 400

static int echo_port(void) {
  char* log = tu_read_file(ct_log, NULL);
  const char* at = log ? strstr(log, "listening on 127.0.0.1:") : NULL;
  int port = at ? atoi(at + strlen("listening on 127.0.0.1:")) : 0;
  free(log);
  return port;
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, (struct sockaddr*)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* A release running echo with no cap, started with a soft fd limit of
 * CONTAINER_NOFILE (the test's own limit is restored once it has
 * started). */
static long start_echo_with_few_fds(void) {
  struct rlimit was, low;
  cr_assert_eq(getrlimit(RLIMIT_NOFILE, &was), 0);
  low = was;
  low.rlim_cur = CONTAINER_NOFILE;
  ct_mods_add(MOLT_MODULE_DIR "/echo-1.0.0.so");
  ct_bundle_fx("1.0.0", "{\"name\": \"echo\", \"vsn\": \"1.0.0\", \"file\": \"echo-1.0.0.so\"}",
               "{\"name\": \"fx_sup\", \"children\": [{\"id\": \"echo\", \"module\": \"echo\", "
               "\"args\": {\"max_conns\": 100000}}]}",
               NULL);
  char rel[4200];
  snprintf(rel, sizeof(rel), "%s/fx-1.0.0", ct_home);
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
  ct_start(rel);
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &was), 0);
  cJSON* st = ct_json("status");
  long pid = (long)cJSON_GetObjectItem(st, "os_pid")->valuedouble;
  cJSON_Delete(st);
  return pid;
}

/* Connect until the container holds CONTAINER_NOFILE descriptors; the
 * clients' fds, in *n of them. */
static int* fill_fd_table(long pid, int port, int* n) {
  int* fds = calloc(MAX_CLIENTS, sizeof(*fds));
  *n = 0;
  while (*n < MAX_CLIENTS && tu_open_fds(pid) < CONTAINER_NOFILE) {
    int fd = connect_to(port);
    cr_assert_geq(fd, 0, "connect to echo on port %d", port);
    fds[(*n)++] = fd;
    for (int i = 0; i < 50 && tu_open_fds(pid) < CONTAINER_NOFILE && tu_open_fds(pid) < 40 + *n; i++) usleep(1000);
  }
  cr_assert_geq(tu_open_fds(pid), CONTAINER_NOFILE, "the container's table did not fill: %d fds after %d clients",
                tu_open_fds(pid), *n);
  return fds;
}

Test(control_emfile, a_full_fd_table_is_answered_and_logged_once) {
  long pid = start_echo_with_few_fds();
  int port = echo_port();
  cr_assert_gt(port, 0, "%s", ct_log);
  int n = 0;
  int* fds = fill_fd_table(pid, port, &n);

  for (int i = 0; i < 3; i++) {
    char* out = NULL;
    cr_expect_eq(ct_molt("status", &out), 1, "%s", out);
    cr_expect(strstr(out, "the container's fd table is full (too many open files)"), "%s", out);
    cr_expect(!strstr(out, "without a reply"), "%s", out);
    free(out);
  }
  cr_expect_eq(ct_log_count("control: cannot accept a command: Too many open files"), 1, "%s", ct_log);
  /* The listener paused rather than accept and drop, and said so once
   * (at most every 5 s). */
  cr_expect(ct_wait_log("accept paused: ", 2000), "%s", ct_log);
  cr_expect_leq(ct_log_count("accept paused: "), 2, "%s", ct_log);

  for (int i = 0; i < n; i++) close(fds[i]);
  free(fds);
  for (int i = 0; i < 500 && tu_open_fds(pid) > CONTAINER_NOFILE - 8; i++) usleep(10000);
  cr_expect_eq(ct_molt("status", NULL), 0, "status once the clients left");
  cr_expect(ct_wait_log("control: accepting commands again; 3 refused while the fd table was full", 5000), "%s",
            ct_log);
  cr_expect_eq(ct_log_count("control: cannot accept a command"), 1, "%s", ct_log);
  /* The listener accepts again: a new client is echoed. */
  int fd = connect_to(port);
  cr_assert_geq(fd, 0);
  char buf[8] = "";
  cr_expect(write(fd, "again", 5) == 5 && read(fd, buf, 5) == 5 && memcmp(buf, "again", 5) == 0, "no echo");
  close(fd);
  cr_expect(ct_wait_log("accept resumed", 5000), "%s", ct_log);
}
