/* watch.h: watching a directory of built modules for the development loop:
 * which files finished changing. Not the loading (the caller loads what it
 * is told about). */
#ifndef MOLT_DEV_WATCH_H
#define MOLT_DEV_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct molt_watch molt_watch_t;

/* path (dir/name) finished changing: it was closed after a write or
 * renamed into the directory, and then nothing happened to it for the
 * debounce period. Also called, after a rescan, for every file whose
 * identity (inode, size, mtime) differs from the last one reported.
 * event_ns (uv_hrtime) is when the last event for it was read, or when the
 * rescan ran: where "event to live" latencies start. */
typedef void (*molt_watch_cb)(const char* path, uint64_t event_ns, void* arg);

/* Watch dir on loop (on loop's thread) for files whose name ends with
 * suffix (".so"). A raw inotify descriptor polled on the loop, because
 * libuv's fs_event reports neither close-after-write nor a queue overflow.
 * An overflow, or the directory reappearing after it was deleted or moved
 * away, triggers a rescan. dir need not exist yet. Returns 0 or a MOLT_E*
 * with a reason; cb never fires after an error return. */
int molt__watch_start(uv_loop_t* loop, const char* dir, const char* suffix, uint32_t debounce_ms,
                      molt_watch_cb cb, void* arg, molt_watch_t** out, char* err, size_t errlen);

/* Stop: no callback fires after this returns; memory goes once the
 * loop has run the handles' close callbacks. */
void molt__watch_stop(molt_watch_t* w);

#endif
