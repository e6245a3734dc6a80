/* control.c: the control server's socket, thread and lifetime: publishing
 * <home>/molt.sock safely, accepting, the post queue, stopping. Not what
 * happens on a connection (control_conn.c) nor the client (control_client.c). */
#include "control.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "control_accept.h"
#include "control_conn.h"
#include "control_sock.h"
#include "errmsg.h"
#include "molt/errno.h"

#define LISTEN_BACKLOG 128
/* How long a probe of an existing socket waits for a busy listener before
 * concluding that it is alive. */
#define PROBE_MS 1000u

typedef struct post {
  void (*fn)(void*);
  void* arg;
  struct post* next;
} post_t;

struct molt_control {
  uv_loop_t loop;
  uv_pipe_t listener;
  uv_async_t wakeup; /* posts and stop */
  molt__control_acceptor_t acceptor;
  bool accepting; /* the acceptor's handles are open */
  uv_thread_t thread;
  molt__control_conf_t conf;
  uv_mutex_t lock;
  post_t* head; /* head to tail: lock */
  post_t* tail;
  bool stopping; /* lock: stop has been asked */
  bool closed;   /* lock: the wakeup handle is closing; post refuses */
  dev_t dev;     /* the socket file we published, so we unlink only it */
  ino_t ino;
  char path[MOLT_CONTROL_PATH_MAX];
};

/* The socket is someone else's once its inode changed (ours was removed and
 * another container started in this home): leave theirs in place. */
static void unpublish(molt_control_t* c) {
  struct stat st;
  if (lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino) unlink(c->path);
}

/* Make room at c->path if what is there is a socket nobody listens on.
 * Returns 0 when the path is free to take, else why not. */
static int clear_stale(molt_control_t* c, char* err, size_t errlen) {
  struct stat st;
  int rc = molt__control_path_check(c->path, err, errlen);
  if (rc || lstat(c->path, &st) != 0) return rc; /* gone meanwhile: free to take */
  int fd;
  rc = molt__control_dial(c->path, PROBE_MS, &fd);
  if (rc == 0) close(fd);
  if (rc == 0 || rc == MOLT_ETIMEDOUT)
    return molt__errmsg_set(err, errlen, MOLT_EADDRINUSE,
                            "%s: another container is running in this home", c->path);
  if (rc == MOLT_ENOENT) return 0;
  if (rc != MOLT_ECONNREFUSED)
    return molt__errmsg_set(err, errlen, rc, "%s: cannot tell whether a container is running: %s",
                            c->path, uv_strerror(rc));
  /* Nobody listens: the socket a container that crashed left behind. */
  if (unlink(c->path) != 0 && errno != ENOENT) {
    rc = -errno;
    return molt__errmsg_set(err, errlen, rc, "%s: cannot remove the stale socket: %s", c->path,
                            uv_strerror(rc));
  }
  return 0;
}

/* Bind the listener and make it appear at c->path with mode 0600 from its
 * first moment. bind(2) creates the file with 0777 & ~umask, and neither
 * chmod afterwards (a window) nor a tighter umask (process-wide: it races
 * every other thread creating files) is safe. So we bind inside a fresh
 * mkdtemp directory, which is 0700 and thus reachable by nobody else, chmod
 * there, and hard-link the finished socket into place. link(2) also fails
 * rather than replaces when the name exists, so two containers starting
 * together cannot both win. ".XXXXXX/s" is as long as "molt.sock", so the
 * temporary path fits sun_path whenever the final one does. (libuv unlinks
 * the name it bound when the listener closes; that name is long gone by
 * then, so the unlink fails quietly.) */
static int publish(molt_control_t* c, const char* home, char* err, size_t errlen) {
  char dir[MOLT_CONTROL_PATH_MAX], tmp[MOLT_CONTROL_PATH_MAX];
  int n = snprintf(dir, sizeof dir, "%s/.XXXXXX", home);
  /* Cannot happen once molt__control_sockpath accepted home (see above). */
  if (n < 0 || (size_t)n + 2 >= sizeof tmp)
    return molt__errmsg_set(err, errlen, MOLT_ENAMETOOLONG, "%s: path too long for a Unix socket",
                            c->path);
  if (!mkdtemp(dir)) {
    int rc = -errno;
    return molt__errmsg_set(err, errlen, rc, "%s: cannot create the socket: %s", home,
                            uv_strerror(rc));
  }
  memcpy(tmp, dir, (size_t)n);
  memcpy(tmp + n, "/s", 3);

  struct stat st;
  int rc = uv_pipe_bind(&c->listener, tmp);
  if (rc == 0 && chmod(tmp, 0600) != 0) rc = -errno;
  if (rc == 0 && lstat(tmp, &st) != 0) rc = -errno;
  if (rc < 0) {
    molt__errmsg_set(err, errlen, rc, "%s: cannot create the socket: %s", c->path, uv_strerror(rc));
    goto out;
  }
  /* Checked here, where nobody else can reach the file; the link below is
   * the same inode. */
  if (!S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != 0600 || st.st_uid != geteuid()) {
    rc = molt__errmsg_set(err, errlen, MOLT_EACCES, "%s: socket came out with mode %o, not 0600",
                          c->path, (unsigned)(st.st_mode & 07777));
    goto out;
  }
  for (int attempt = 0;; attempt++) {
    if (link(tmp, c->path) == 0) break;
    rc = -errno;
    if (rc != MOLT_EEXIST) {
      molt__errmsg_set(err, errlen, rc, "%s: cannot create the socket: %s", c->path,
                       uv_strerror(rc));
      goto out;
    }
    if (attempt > 0) {
      /* Another container took the name between our clearing and linking. */
      rc = molt__errmsg_set(err, errlen, MOLT_EADDRINUSE,
                            "%s: another container is running in this home", c->path);
      goto out;
    }
    rc = clear_stale(c, err, errlen);
    if (rc < 0) goto out;
  }
  rc = 0;
  c->dev = st.st_dev;
  c->ino = st.st_ino;

out:
  unlink(tmp);
  rmdir(dir);
  return rc;
}

/* uv_walk callback. Our own handles live inside molt_control_t and need no
 * close callback; everything else belongs to a connection. */
static void close_handle(uv_handle_t* h, void* arg) {
  if (uv_is_closing(h)) return;
  if (h->data == arg)
    uv_close(h, NULL);
  else
    molt__control_conn_close(h);
}

/* The acceptor's handles first: uv_walk would take them for a
 * connection's. */
static void close_all(molt_control_t* c) {
  if (c->accepting) molt__control_accept_close(&c->acceptor);
  c->accepting = false;
  uv_walk(&c->loop, close_handle, c);
}

static void on_wakeup(uv_async_t* a) {
  molt_control_t* c = a->data;
  uv_mutex_lock(&c->lock);
  post_t* p = c->head;
  c->head = c->tail = NULL;
  bool stopping = c->stopping;
  c->closed = stopping;
  uv_mutex_unlock(&c->lock);

  /* Posted work runs before the connections close, so completions posted
   * before stop still reach their peers when they can. */
  while (p) {
    post_t* next = p->next;
    p->fn(p->arg);
    free(p);
    p = next;
  }
  if (stopping) close_all(c);
}

static void control_thread(void* arg) {
  molt_control_t* c = arg;
  /* Writing to a peer that hung up raises SIGPIPE in the writing thread.
   * Blocked here, it stays pending on this thread (discarded when it ends)
   * and the write fails with EPIPE, which a connection handles. Ignoring it
   * process-wide instead would override the container's signal policy. */
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, NULL);
  uv_run(&c->loop, UV_RUN_DEFAULT);
}

/* Everything up to the listener is set up on the caller's thread, so every
 * startup error comes back here with its message; the new thread only runs
 * the loop (pthread_create orders our writes before its reads). */
int molt__control_start(const char* home, molt_control_dispatch_cb cb, void* data,
                        molt_control_t** out, char* err, size_t errlen) {
  if (out) *out = NULL;
  if (!cb || !out)
    return molt__errmsg_set(err, errlen, MOLT_EINVAL, "no dispatcher or result pointer");
  molt_control_t* c = calloc(1, sizeof *c);
  if (!c)
    return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory starting the control server");
  const char* step = NULL; /* the libuv call that failed, for the message */
  int rc = molt__control_sockpath(home, c->path, err, errlen);
  if (rc < 0) goto fail_path;
  c->conf.cb = cb;
  c->conf.data = data;
  c->conf.uid = geteuid();
  atomic_init(&c->conf.deadline_ms, MOLT_CONTROL_DEADLINE_MS);

  step = "uv_loop_init";
  rc = uv_loop_init(&c->loop);
  if (rc < 0) goto fail_loop;
  step = "uv_mutex_init";
  rc = uv_mutex_init(&c->lock);
  if (rc < 0) goto fail_mutex;
  step = "uv_async_init";
  rc = uv_async_init(&c->loop, &c->wakeup, on_wakeup);
  if (rc < 0) goto fail_handles;
  c->wakeup.data = c;
  step = "uv_pipe_init";
  rc = uv_pipe_init(&c->loop, &c->listener, 0);
  if (rc < 0) goto fail_handles;
  c->listener.data = c;

  step = NULL; /* publish explains itself */
  rc = publish(c, home, err, errlen);
  if (rc < 0) goto fail_publish;
  step = "listen";
  rc = molt__control_accept_start(&c->acceptor, &c->loop, &c->listener, LISTEN_BACKLOG, &c->conf);
  if (rc < 0) goto fail_listen;
  c->accepting = true;
  step = "uv_thread_create";
  rc = uv_thread_create(&c->thread, control_thread, c);
  if (rc < 0) goto fail_thread;
  *out = c;
  return 0;

fail_thread:
fail_listen:
  unpublish(c);
fail_publish:
fail_handles:
  close_all(c);
  uv_run(&c->loop, UV_RUN_DEFAULT);
  uv_mutex_destroy(&c->lock);
fail_mutex:
  uv_loop_close(&c->loop);
fail_loop:
fail_path:
  if (step)
    molt__errmsg_set(err, errlen, rc, "%s: cannot start the control server: %s: %s", c->path, step,
                     uv_strerror(rc));
  free(c);
  return rc;
}

int molt__control_post(molt_control_t* c, void (*fn)(void*), void* arg) {
  post_t* p = malloc(sizeof *p);
  if (!p) return MOLT_ENOMEM;
  p->fn = fn;
  p->arg = arg;
  p->next = NULL;
  uv_mutex_lock(&c->lock);
  if (c->closed) {
    uv_mutex_unlock(&c->lock);
    free(p);
    return MOLT_ECANCELED;
  }
  if (c->tail)
    c->tail->next = p;
  else
    c->head = p;
  c->tail = p;
  /* Sent under the lock: once closed is set the handle may be closing, and
   * a send after that would write to a loop that is going away. */
  uv_async_send(&c->wakeup);
  uv_mutex_unlock(&c->lock);
  return 0;
}

void molt__control_set_deadline(molt_control_t* c, uint32_t ms) {
  atomic_store(&c->conf.deadline_ms, ms ? ms : MOLT_CONTROL_DEADLINE_MS);
}

void molt__control_stop(molt_control_t* c) {
  if (!c) return;
  uv_thread_t self = uv_thread_self();
  assert(!uv_thread_equal(&self, &c->thread)); /* it would join itself */
  (void)self;
  uv_mutex_lock(&c->lock);
  c->stopping = true;
  uv_async_send(&c->wakeup);
  uv_mutex_unlock(&c->lock);
  uv_thread_join(&c->thread);
  /* on_wakeup closed every handle and uv_run returned only after their close
   * callbacks, so the loop is empty: EBUSY here is a bug in these files. */
  int rc = uv_loop_close(&c->loop);
  assert(rc == 0);
  (void)rc;
  unpublish(c);
  uv_mutex_destroy(&c->lock);
  free(c);
}
