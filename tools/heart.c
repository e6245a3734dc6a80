/* heart.c: `molt run --heart`: this process forks the container (the same
 * molt command line without --heart), waits for it and restarts it when it
 * dies abnormally. Everything happens in one thread on sigtimedwait:
 * SIGCHLD (the child ended), SIGTERM/SIGINT/SIGHUP (forwarded; whatever
 * the child then does is final). Not the container (runtime/container/).
 *
 * Why fork and exec rather than posix_spawn: the child sets
 * PR_SET_PDEATHSIG, so a heart killed with SIGKILL takes its container
 * down with it (SIGTERM: a clean stop) instead of leaving an orphan that
 * the next `molt run --heart` in the home would find serving.
 *
 * The restarted child boots the home's permanent release, as any `molt
 * run` does once the home has one: a node that died during an uncommitted
 * upgrade comes back on the last committed release. With --release, the
 * child's unpack finds the bundle already in the store, a no-op. */
#include "heart.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

static uint64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* argv less the heart's own options (and their values); other options'
 * values are copied as they are, so a --home named "--heart" survives. */
static char** child_argv(int argc, char** argv) {
  char** out = calloc((size_t)argc + 1, sizeof(*out));
  if (!out) return NULL;
  int n = 0;
  for (int i = 0; i < argc; i++) {
    const char* a = argv[i];
    if (strcmp(a, "--heart") == 0) continue;
    if (strcmp(a, "--max-restarts") == 0 || strcmp(a, "--restart-window") == 0) {
      i++;
      continue;
    }
    out[n++] = argv[i];
    if (i >= 2 && (strcmp(a, "--home") == 0 || strcmp(a, "--release") == 0 || strcmp(a, "--schedulers") == 0) &&
        i + 1 < argc)
      out[n++] = argv[++i];
  }
  out[n] = NULL;
  return out;
}

static pid_t spawn(char** args, const sigset_t* old_mask) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  sigprocmask(SIG_SETMASK, old_mask, NULL);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(1); /* the heart died before the prctl */
  execv("/proc/self/exe", args);
  fprintf(stderr, "molt run --heart: /proc/self/exe: %s\n", strerror(errno));
  _exit(127);
}

/* "by SIGSEGV" or "with status 3". */
static void describe(int status, char* buf, size_t len) {
  if (WIFSIGNALED(status))
    snprintf(buf, len, "by SIG%s", sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
  else
    snprintf(buf, len, "with status %d", WEXITSTATUS(status));
}

static int exit_code(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

/* Wait for a signal in set for up to ms (forever if ms < 0); the signal,
 * or 0 on timeout. */
static int wait_signal(const sigset_t* set, long ms) {
  for (;;) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
    int sig = ms < 0 ? sigwaitinfo(set, NULL) : sigtimedwait(set, NULL, &t);
    if (sig > 0) return sig;
    if (errno == EAGAIN) return 0;
    /* EINTR: a signal outside the set (SIGSTOP/SIGCONT); wait again. */
  }
}

int heart_run(int argc, char** argv, const heart_opts_t* o) {
  char** args = child_argv(argc, argv);
  if (!args) return 1;
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, &old);
  /* Restart times within the window, oldest first. */
  uint64_t* starts = calloc((size_t)o->max_restarts + 1, sizeof(*starts));
  int nstarts = 0, rc = 1;
  bool stopping = false;
  pid_t child = starts ? spawn(args, &old) : -1;
  if (child < 0) {
    fprintf(stderr, "molt run --heart: cannot start the container: %s\n", strerror(errno));
    goto out;
  }
  molt__log("heart: container started (pid %d)", (int)child);
  for (;;) {
    int sig = wait_signal(&set, -1);
    if (sig != SIGCHLD) {
      stopping = true;
      kill(child, sig == SIGHUP ? SIGTERM : sig);
      continue;
    }
    int status;
    pid_t got = waitpid(child, &status, WNOHANG);
    if (got == 0 || (got < 0 && errno == EINTR)) continue;
    rc = got < 0 ? 1 : exit_code(status);
    if (got < 0 || stopping || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) break;
    char how[64];
    describe(status, how, sizeof(how));
    /* Forget the restarts that left the window. */
    uint64_t now = now_ms();
    int keep = 0;
    for (int i = 0; i < nstarts; i++)
      if (now - starts[i] < (uint64_t)o->window_s * 1000) starts[keep++] = starts[i];
    nstarts = keep;
    if (nstarts >= o->max_restarts) {
      molt__log_error("heart: container exited %s; %d restart%s in %u s already, giving up", how, nstarts,
                nstarts == 1 ? "" : "s", o->window_s);
      break;
    }
    uint64_t delay = o->first_ms;
    for (int i = 0; i < nstarts && delay < o->max_delay_ms; i++) delay *= 2;
    if (delay > o->max_delay_ms) delay = o->max_delay_ms;
    starts[nstarts++] = now;
    molt__log_warn("heart: container exited %s; restart %d of %d in %u s, in %llu ms", how, nstarts, o->max_restarts,
              o->window_s, (unsigned long long)delay);
    /* The backoff, cut short by a stop: then there is nothing to stop. */
    uint64_t until = now + delay;
    int s = 0;
    for (uint64_t t = now; t < until && (s = wait_signal(&set, (long)(until - t))) == SIGCHLD; t = now_ms()) {
    }
    if (s == SIGTERM || s == SIGINT || s == SIGHUP) {
      molt__log("heart: stop asked during the backoff; not restarting");
      break;
    }
    if ((child = spawn(args, &old)) < 0) {
      fprintf(stderr, "molt run --heart: cannot restart the container: %s\n", strerror(errno));
      rc = 1;
      break;
    }
    molt__log("heart: container restarted (pid %d)", (int)child);
  }
out:
  sigprocmask(SIG_SETMASK, &old, NULL);
  free(starts);
  free(args);
  return rc;
}
