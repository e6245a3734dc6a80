/* dev_build.c: run the build command when sources change. One build at a
 * time: a change while it runs only marks it to run once more. The
 * command's stdout and stderr go to one pipe; its last OUTPUT_KEEP bytes
 * are shown when it fails, since that is where the compiler's errors are.
 * The build runs in its own process group so stopping kills all of it
 * (make's children, the compiler), not just the shell. */
#include "dev_build.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "errmsg.h"
#include "molt/errno.h"
#include "runtime.h"
#include "watch.h"

#define OUTPUT_KEEP (16 * 1024)

struct molt_dev_build {
  uv_loop_t* loop;
  char* cmd;   /* "exec 2>&1\n" + the user's command */
  molt_watch_t** watches;
  size_t nwatches;
  uv_process_t proc;
  uv_pipe_t out;
  bool running, again, stopping;
  bool exited, drained; /* the process is gone; its output is all read */
  int64_t status;
  int signal;
  int open_handles; /* proc and out, while a build runs */
  uint64_t started_ns;
  char trigger[256];
  char output[OUTPUT_KEEP + 1];
  size_t outlen;
};

static bool is_source(const char* name) {
  static const char* const suffixes[] = {".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".inc", ".cmake"};
  size_t n = strlen(name);
  if (strcmp(name, "CMakeLists.txt") == 0) return true;
  for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
    size_t s = strlen(suffixes[i]);
    if (n > s && strcmp(name + n - s, suffixes[i]) == 0) return true;
  }
  return false;
}

static void keep_output(molt_dev_build_t* b, const char* data, size_t n) {
  if (n >= OUTPUT_KEEP) {
    memcpy(b->output, data + n - OUTPUT_KEEP, OUTPUT_KEEP);
    b->outlen = OUTPUT_KEEP;
    return;
  }
  if (b->outlen + n > OUTPUT_KEEP) { /* drop the oldest bytes */
    size_t drop = b->outlen + n - OUTPUT_KEEP;
    memmove(b->output, b->output + drop, b->outlen - drop);
    b->outlen -= drop;
  }
  memcpy(b->output + b->outlen, data, n);
  b->outlen += n;
}

static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
  static char chunk[64 * 1024]; /* the loop's thread only; copied out at once */
  buf->base = chunk;
  buf->len = sizeof(chunk);
}

static void finish(molt_dev_build_t* b);

static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  molt_dev_build_t* b = s->data;
  if (n > 0) keep_output(b, buf->base, (size_t)n);
  if (n < 0) { /* EOF, or an error: either way nothing more comes */
    uv_read_stop(s);
    b->drained = true;
    finish(b);
  }
}

static void run(molt_dev_build_t* b);

static void on_handle_closed(uv_handle_t* h) {
  molt_dev_build_t* b = h->data;
  if (--b->open_handles > 0) return;
  b->running = false;
  if (b->stopping) {
    free(b->cmd);
    free(b);
  } else if (b->again) {
    b->again = false;
    run(b);
  }
}

/* The output, indented, for a failure report. */
static void print_output(molt_dev_build_t* b) {
  b->output[b->outlen] = '\0';
  for (char *line = b->output, *nl; *line; line = nl + 1) {
    nl = strchr(line, '\n');
    if (!nl) {
      printf("    %s\n", line);
      break;
    }
    printf("    %.*s\n", (int)(nl - line), line);
  }
  fflush(stdout);
}

static void on_build_exit(uv_process_t* p, int64_t status, int signal) {
  molt_dev_build_t* b = p->data;
  b->exited = true;
  b->status = status;
  b->signal = signal;
  finish(b);
}

/* Report once the process is gone and its output read: the exit callback
 * may come before the last of the compiler's errors. */
static void finish(molt_dev_build_t* b) {
  if (!b->exited || !b->drained) return;
  int64_t status = b->status;
  int signal = b->signal;
  double secs = (double)(molt__now_ns() - b->started_ns) / 1e9;
  if (b->stopping) {
    /* Stopped on purpose: nothing to report. */
  } else if (status == 0 && signal == 0) {
    molt__dev_say("build ok in %.2f s", secs);
  } else {
    if (signal)
      molt__dev_say("build failed (killed by signal %d) in %.2f s; the running code keeps serving:", signal, secs);
    else
      molt__dev_say("build failed (exit %lld) in %.2f s; the running code keeps serving:", (long long)status, secs);
    print_output(b);
  }
  uv_close((uv_handle_t*)&b->proc, on_handle_closed);
  uv_close((uv_handle_t*)&b->out, on_handle_closed);
}

static void run(molt_dev_build_t* b) {
  char* args[] = {"/bin/sh", "-c", b->cmd, NULL};
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_IGNORE},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t*)&b->out},
      {.flags = UV_INHERIT_FD, .data.fd = 2}, /* unused: the command starts with exec 2>&1 */
  };
  uv_process_options_t po = {
      .file = args[0], .args = args, .exit_cb = on_build_exit, .flags = UV_PROCESS_DETACHED,
      .stdio_count = 3, .stdio = stdio,
  };
  uv_pipe_init(b->loop, &b->out, 0);
  b->out.data = b->proc.data = b;
  b->outlen = 0;
  b->exited = b->drained = false;
  b->started_ns = molt__now_ns();
  molt__dev_say("build: %s (%s)", b->cmd + strlen("exec 2>&1\n"), b->trigger);
  int rc = uv_spawn(b->loop, &b->proc, &po);
  b->running = true;
  if (rc) {
    molt__dev_say("build could not start: /bin/sh: %s", uv_strerror(rc));
    b->open_handles = 2;
    uv_close((uv_handle_t*)&b->proc, on_handle_closed);
    uv_close((uv_handle_t*)&b->out, on_handle_closed);
    return;
  }
  b->open_handles = 2;
  uv_read_start((uv_stream_t*)&b->out, on_alloc, on_read);
}

static void on_source(const char* path, uint64_t event_ns, void* arg) {
  molt_dev_build_t* b = arg;
  const char* name = strrchr(path, '/');
  name = name ? name + 1 : path;
  if (!is_source(name) || b->stopping) return; /* editor swap and backup files */
  snprintf(b->trigger, sizeof(b->trigger), "%s changed", name);
  if (b->running)
    b->again = true;
  else
    run(b);
}

int molt__dev_build_start(uv_loop_t* loop, const char* cmd, const char* const* src_dirs, size_t nsrc,
                          uint32_t debounce_ms, molt_dev_build_t** out, char* err, size_t errlen) {
  molt_dev_build_t* b = calloc(1, sizeof(*b));
  size_t len = strlen("exec 2>&1\n") + strlen(cmd) + 1;
  if (!b || !(b->cmd = malloc(len)) || !(b->watches = calloc(nsrc ? nsrc : 1, sizeof(*b->watches)))) {
    if (b) free(b->cmd);
    free(b);
    return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  }
  snprintf(b->cmd, len, "exec 2>&1\n%s", cmd);
  b->loop = loop;
  for (size_t i = 0; i < nsrc; i++) {
    int rc = molt__watch_start(loop, src_dirs[i], "", debounce_ms, on_source, b, &b->watches[i], err, errlen);
    if (rc) {
      while (b->nwatches) molt__watch_stop(b->watches[--b->nwatches]);
      free(b->watches);
      free(b->cmd);
      free(b);
      return rc;
    }
    b->nwatches++;
  }
  *out = b;
  return 0;
}

void molt__dev_build_stop(molt_dev_build_t* b) {
  b->stopping = true;
  for (size_t i = 0; i < b->nwatches; i++) molt__watch_stop(b->watches[i]);
  free(b->watches);
  b->watches = NULL;
  if (b->running) {
    /* The whole group: make and the compiler with it. Its exit callback
     * closes the handles, and the last close frees b. */
    if (b->proc.pid > 0) kill(-b->proc.pid, SIGTERM);
    return;
  }
  free(b->cmd);
  free(b);
}
