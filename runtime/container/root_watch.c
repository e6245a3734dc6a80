/* root_watch.c: the container hears that its root supervisor exited
 * without being asked, logs why in one line and stops its loop; the
 * container then stops everything and `molt run` exits with status 3, so
 * whatever supervises the container (a service manager) restarts it. A
 * container left serving with no tree would answer `status` with 0 actors
 * for ever and fail every upgrade with "no such supervisor".
 *
 * The supervisor tells us from its scheduler thread, where nothing may
 * block; the loop does the rest. The lock orders that call against the
 * container's own stop, so that the root it stops itself is no news and
 * nothing is sent to a closed handle. */
#include "root_watch.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

/* The container's loop returns, and its stop logs the line
 * (molt__root_watch_stop): logged there, it is logged also when a `molt
 * stop` ended the loop first. */
static void on_async(uv_async_t* h) { uv_stop(h->loop); }

int molt__root_watch_init(molt_root_watch_t* w, uv_loop_t* loop) {
  memset(w, 0, sizeof(*w));
  int rc = uv_async_init(loop, &w->async, on_async);
  if (rc) return rc;
  pthread_mutex_init(&w->lock, NULL);
  return 0;
}

/* "root supervisor demo_sup gave up: child counter exited EIO (i/o
 * error), 5 restarts within 10000 ms": the exit that was one too many
 * after as many restarts as the intensity allows. */
static void describe(const molt_sup_exit_t* why, char* out, size_t len) {
  char reason[128];
  if (!why->gave_up) {
    snprintf(out, len, "root supervisor %s exited: %s", why->name,
             molt__sup_exit_reason_str(why->reason, reason, sizeof(reason)));
    return;
  }
  molt__sup_exit_reason_str(why->child_reason, reason, sizeof(reason));
  snprintf(out, len, "root supervisor %s gave up: child %s %s %s, %u restart%s within %u ms", why->name,
           why->child, why->restart_failed ? "failed to restart:" : "exited", reason, (unsigned)why->restarts,
           why->restarts == 1 ? "" : "s", (unsigned)why->period_ms);
}

void molt__root_watch_on_exit(const molt_sup_exit_t* why, void* data) {
  molt_root_watch_t* w = data;
  pthread_mutex_lock(&w->lock);
  if (!w->closing && !w->exited) {
    w->exited = true;
    w->gave_up = why->gave_up;
    snprintf(w->name, sizeof(w->name), "%s", why->name);
    describe(why, w->line, sizeof(w->line));
    uv_async_send(&w->async);
  }
  pthread_mutex_unlock(&w->lock);
}

bool molt__root_watch_stop(molt_root_watch_t* w) {
  pthread_mutex_lock(&w->lock);
  bool news = w->exited && !w->closing;
  w->closing = true;
  bool exited = w->exited;
  pthread_mutex_unlock(&w->lock);
  if (news) molt__log_at(w->gave_up ? MOLT_LOG_ERROR : MOLT_LOG_WARNING, "%s", w->line); /* exited is set once, before closing: the line no longer changes */
  return exited;
}

void molt__root_watch_close(molt_root_watch_t* w) {
  molt__root_watch_stop(w);
  uv_close((uv_handle_t*)&w->async, NULL);
  pthread_mutex_destroy(&w->lock);
}
