/* root_watch.h: the container's watch on its release's root supervisor.
 * When the root exits without the container asking (it gave up after too
 * many restarts), the watch logs one line saying why and stops the
 * container's loop, as OTP's node stops when a permanent application's
 * top supervisor dies. Not the stop itself (container.c). */
#ifndef MOLT_CONTAINER_ROOT_WATCH_H
#define MOLT_CONTAINER_ROOT_WATCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "supervisor.h"

typedef struct molt_root_watch {
  uv_async_t async;
  pthread_mutex_t lock;
  bool closing; /* the container stops the root itself: its exit is no news */
  bool exited;  /* the root exited unasked */
  bool gave_up; /* ... because its restarts went beyond its intensity */
  char name[64];
  char line[512]; /* the line logged, without the log's prefix */
} molt_root_watch_t;

/* Set up on loop, before the root starts: its exit then always has
 * somewhere to land. 0 or a libuv error. */
int molt__root_watch_init(molt_root_watch_t* w, uv_loop_t* loop);

/* The callback to start the root with (molt__supervisor_start_watched),
 * data the watch. On the root's scheduler thread: copies why and stops
 * the loop (molt__root_watch_stop then logs the line). */
void molt__root_watch_on_exit(const molt_sup_exit_t* why, void* data);

/* The container stops the root from now on: later exits are not news.
 * Returns whether the root had exited unasked before, and then logs its
 * line (the first call only). Any thread. */
bool molt__root_watch_stop(molt_root_watch_t* w);

/* Close the watch once the root is gone (stopped, or never started); the
 * loop then runs the handle's close callback. */
void molt__root_watch_close(molt_root_watch_t* w);

#endif
