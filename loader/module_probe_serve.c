/* module_probe_serve.c: the module probe's helper process (`molt __probe`): one
 * request a line on stdin (a module file's path), one reply a line on
 * stdout ("ok", or "error <why>"). Each file is loaded in a child of its
 * own, which runs the constructors and checks the descriptor, then ends;
 * the helper itself never maps a module, so nothing a module does stays
 * behind for the next. Not the container's side (module_probe.c). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "descriptor.h"
#include "molt/module.h"
#include "module_probe.h"

/* "SIGSEGV" for SIGSEGV; "signal N" for one glibc has no name for. */
static const char* signal_name(int sig, char* buf, size_t len) {
  const char* abbrev = sigabbrev_np(sig);
  if (abbrev)
    snprintf(buf, len, "SIG%s", abbrev);
  else
    snprintf(buf, len, "signal %d", sig);
  return buf;
}

/* A pointer of the descriptor lies inside the module's own image or the
 * executable (the runtime's exported API: `.free_state = molt_free`),
 * which is the same binary here as in the container and outlives every
 * module. Anywhere else it points at code or data a purge of another
 * module, or nothing at all, would pull from under it: a crash in the
 * container the first time it is called. */
static bool inside(const void* p, const void* base) {
  Dl_info i, exe;
  if (!dladdr(p, &i)) return false;
  return i.dli_fbase == base || (dladdr((const void*)molt__probe_serve, &exe) && i.dli_fbase == exe.dli_fbase);
}

/* The child's work: dlopen (the constructors run), then the descriptor's
 * pointers. A file dlopen or dlsym refuses is "ok" here: the loader's own
 * dlopen says why, in the words its users know. */
static void try_file(const char* path, int out) {
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  const molt_module_t* d = h ? dlsym(h, MOLT_DESCRIPTOR_SYMBOL) : NULL;
  Dl_info self;
  if (!d || !dladdr(d, &self)) {
    dprintf(out, "ok\n");
    return;
  }
  struct {
    const char* field;
    const void* p;
    bool present;
  } ptrs[] = {
      {"name", d->name, true},
      {"vsn", d->vsn, true},
      {"init", (const void*)d->init, true},
      {"handle", (const void*)d->handle, true},
      {"free_state", (const void*)d->free_state, true},
      {"terminate", MOLT_HAS_FIELD(d, terminate) ? (const void*)d->terminate : NULL, true},
      {"code_change", MOLT_HAS_FIELD(d, code_change) ? (const void*)d->code_change : NULL, true},
      {"format_state", MOLT_HAS_FIELD(d, format_state) ? (const void*)d->format_state : NULL, true},
  };
  for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) {
    if (!ptrs[i].p || inside(ptrs[i].p, self.dli_fbase)) continue;
    dprintf(out, "error its descriptor's %s points outside the module (%p)\n", ptrs[i].field, ptrs[i].p);
    return;
  }
  dprintf(out, "ok\n");
}

static int remaining_ms(const struct timespec* until) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long ms = (until->tv_sec - now.tv_sec) * 1000 + (until->tv_nsec - now.tv_nsec) / 1000000;
  return ms > 0 ? (int)ms : 0;
}

/* The child's reply line, or "" at its end of file; false at the
 * deadline. */
static bool read_reply(int fd, char* buf, size_t len) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += MOLT_PROBE_DEADLINE_MS / 1000;
  until.tv_nsec += (MOLT_PROBE_DEADLINE_MS % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  size_t got = 0;
  buf[0] = '\0';
  while (got < len - 1 && !strchr(buf, '\n')) {
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, remaining_ms(&until));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return false;
    ssize_t k = read(fd, buf + got, len - 1 - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += (size_t)k;
    buf[got] = '\0';
  }
  char* nl = strchr(buf, '\n');
  if (nl) *nl = '\0';
  return true;
}

/* One file, its verdict in reply. */
static void probe_one(const char* path, char* reply, size_t len) {
  int p[2];
  if (pipe(p) != 0) {
    snprintf(reply, len, "error the probe cannot make a pipe: %s", strerror(errno));
    return;
  }
  pid_t c = fork();
  if (c < 0) {
    snprintf(reply, len, "error the probe cannot fork: %s", strerror(errno));
    close(p[0]);
    close(p[1]);
    return;
  }
  if (c == 0) {
    /* What the module's constructors print must not reach our replies,
     * nor the container's log; and a fault is the default's, so that its
     * signal is what we report (a sanitizer's handler would turn it into
     * an exit status and a report of its own). */
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) signal(fatal[i], SIG_DFL);
    close(p[0]);
    try_file(path, p[1]);
    _exit(0);
  }
  close(p[1]);
  char buf[512], sig[32];
  int status = 0;
  if (!read_reply(p[0], buf, sizeof buf)) {
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    snprintf(reply, len, "error its code did not return within %d ms while loading (a constructor that hangs?)",
             MOLT_PROBE_DEADLINE_MS);
  } else if (waitpid(c, &status, 0) == c && buf[0]) {
    snprintf(reply, len, "%s", buf);
  } else if (WIFSIGNALED(status)) {
    snprintf(reply, len, "error its code crashed while loading: %s (a constructor?)",
             signal_name(WTERMSIG(status), sig, sizeof sig));
  } else {
    snprintf(reply, len, "error its code ended the process while loading (exit status %d: a constructor that calls exit?)",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  close(p[0]);
}

int molt__probe_serve(void) {
  char line[4200], reply[1024];
  signal(SIGPIPE, SIG_IGN);
  while (fgets(line, sizeof line, stdin)) {
    char* nl = strchr(line, '\n');
    if (!nl) return 2; /* not our protocol */
    *nl = '\0';
    probe_one(line, reply, sizeof reply);
    printf("%s\n", reply);
    fflush(stdout);
  }
  return 0;
}
