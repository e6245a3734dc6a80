/* testutil.c: helpers shared by the test suites. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char* tu_mkdtemp(const char* prefix) {
  const char* tmp = getenv("TMPDIR");
  char* path = NULL;
  if (asprintf(&path, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix) < 0) return NULL;
  if (!mkdtemp(path)) {
    free(path);
    return NULL;
  }
  return path;
}

void tu_rmrf(const char* path) {
  char* cmd = NULL;
  if (!path || asprintf(&cmd, "rm -rf '%s'", path) < 0) return;
  if (system(cmd) != 0) fprintf(stderr, "testutil: could not remove %s\n", path);
  free(cmd);
}

char* tu_read_file(const char* path, size_t* len) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char* buf = malloc(cap + 1);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      char* bigger = realloc(buf, cap * 2 + 1);
      if (!bigger) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
  }
  fclose(f);
  if (!buf) return NULL;
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

int tu_write_file(const char* path, const void* data, size_t len) {
  FILE* f = fopen(path, "wb");
  if (!f) return -1;
  size_t put = fwrite(data, 1, len, f);
  return (fclose(f) == 0 && put == len) ? 0 : -1;
}

int tu_copy_file(const char* from, const char* to) {
  size_t len = 0;
  char* data = tu_read_file(from, &len);
  if (!data) return -1;
  int rc = tu_write_file(to, data, len);
  free(data);
  return rc;
}

int tu_run(const char* cmd, char** out) {
  FILE* p = popen(cmd, "r");
  if (!p) return -1;
  size_t cap = 4096, n = 0, got;
  char* buf = malloc(cap + 1);
  while (buf && (got = fread(buf + n, 1, cap - n, p)) > 0) {
    n += got;
    if (n == cap) {
      char* bigger = realloc(buf, cap * 2 + 1);
      if (!bigger) break;
      buf = bigger;
      cap *= 2;
    }
  }
  if (buf) buf[n] = '\0';
  int status = pclose(p);
  if (out) *out = buf;
  else free(buf);
  if (status == -1 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

double tu_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int tu_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  int ok = fd >= 0 && bind(fd, (struct sockaddr*)&sa, sizeof(sa)) == 0 &&
           getsockname(fd, (struct sockaddr*)&sa, &len) == 0;
  if (fd >= 0) close(fd);
  return ok ? ntohs(sa.sin_port) : -1;
}

int tu_open_fds(long pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/fd", pid);
  DIR* d = opendir(path);
  if (!d) return -1;
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}
