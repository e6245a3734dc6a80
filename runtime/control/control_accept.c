/* control_accept.c: accepting on the control socket, nginx's way with a
 * full fd table: a spare descriptor is kept open, and when accept fails
 * with EMFILE or ENFILE it is given up for one accept, the peer is told
 * why in one reply line, and it is taken again. The condition is logged
 * once when it begins and once when it ends, with the count refused. */
#include "control_accept.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "molt/errno.h"

/* Connections taken per wakeup, so a flood cannot keep the control thread
 * from its replies and posts. */
#define ACCEPT_BATCH 64
/* With no spare fd to give up, the listener is left alone this long, or
 * its readiness would spin the control thread. */
#define PAUSE_MS 100

static int spare_open(void) { return open("/dev/null", O_RDONLY | O_CLOEXEC); }

static void spell_begin(molt__control_acceptor_t* a, int e) {
  if (a->full) return;
  a->full = true;
  a->refused = 0;
  molt__log_warn("control: cannot accept a command: %s (the %s file table is full); each is refused with that "
            "reply until descriptors are freed",
            strerror(e), e == ENFILE ? "system's" : "container's");
}

static void spell_end(molt__control_acceptor_t* a) {
  if (!a->full) return;
  a->full = false;
  molt__log("control: accepting commands again; %lu refused while the fd table was full", a->refused);
}

/* The spare fd given up for one accept, to answer that peer. false if
 * there was nothing to give up or nothing to accept. */
static bool refuse_one(molt__control_acceptor_t* a, int e) {
  if (a->spare_fd < 0 && (a->spare_fd = spare_open()) < 0) return false;
  close(a->spare_fd);
  int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) {
    a->spare_fd = spare_open();
    return false;
  }
  a->refused++;
  molt__control_conn_refuse_fd(fd, MOLT_EMFILE,
                               e == ENFILE ? "the system's file table is full: the container cannot take "
                                                    "this command until descriptors are freed"
                                                  : "the container's fd table is full (too many open files): it "
                                                    "cannot take this command until some of its connections or "
                                                    "files close");
  /* Only now is the slot free again: opened before, the spare would fail
   * and leave the slot to the next connection. */
  a->spare_fd = spare_open();
  return true;
}

static void on_readable(uv_poll_t* p, int status, int events);

static void on_resume(uv_timer_t* t) {
  molt__control_acceptor_t* a = t->data;
  uv_poll_start(&a->readable, UV_READABLE, on_readable);
}

static void pause_listening(molt__control_acceptor_t* a) {
  uv_poll_stop(&a->readable);
  uv_timer_start(&a->resume, on_resume, PAUSE_MS, 0);
}

static void on_readable(uv_poll_t* p, int status, int events) {
  molt__control_acceptor_t* a = p->data;
  for (int i = 0; i < ACCEPT_BATCH; i++) {
    int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      spell_end(a);
      molt__control_conn_open(p->loop, fd, a->conf);
      continue;
    }
    int e = errno;
    if (e == EINTR || e == ECONNABORTED) continue;
    if (e == EAGAIN || e == EWOULDBLOCK) return;
    if (e == EMFILE || e == ENFILE) {
      spell_begin(a, e);
      if (refuse_one(a, e)) continue;
    } else {
      molt__log_error("control: accept: %s", strerror(e));
    }
    pause_listening(a);
    return;
  }
}

int molt__control_accept_start(molt__control_acceptor_t* a, uv_loop_t* loop, uv_pipe_t* listener, int backlog,
                               molt__control_conf_t* conf) {
  *a = (molt__control_acceptor_t){.spare_fd = -1, .conf = conf};
  uv_os_fd_t fd;
  int rc = uv_fileno((uv_handle_t*)listener, &fd);
  if (rc < 0) return rc;
  a->listen_fd = fd;
  if (listen(fd, backlog) != 0) return -errno;
  if ((rc = uv_timer_init(loop, &a->resume)) < 0) return rc;
  a->resume.data = a;
  if ((rc = uv_poll_init(loop, &a->readable, fd)) < 0) {
    uv_close((uv_handle_t*)&a->resume, NULL);
    return rc;
  }
  a->readable.data = a;
  if ((rc = uv_poll_start(&a->readable, UV_READABLE, on_readable)) < 0) {
    uv_close((uv_handle_t*)&a->resume, NULL);
    uv_close((uv_handle_t*)&a->readable, NULL);
    return rc;
  }
  a->spare_fd = spare_open(); /* without one, a full table pauses instead of answering */
  return 0;
}

void molt__control_accept_close(molt__control_acceptor_t* a) {
  if (!uv_is_closing((uv_handle_t*)&a->readable)) uv_close((uv_handle_t*)&a->readable, NULL);
  if (!uv_is_closing((uv_handle_t*)&a->resume)) uv_close((uv_handle_t*)&a->resume, NULL);
  if (a->spare_fd >= 0) close(a->spare_fd);
  a->spare_fd = -1;
}
