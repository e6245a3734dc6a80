/* watch.c: which module files in a directory finished changing, from a raw
 * inotify descriptor polled on a uv loop. Builds write files in several
 * writes, in place or renamed into place, sometimes twice in quick
 * succession: a file is reported once it was closed after writing (or
 * renamed in) and then left alone for the debounce period. A queue
 * overflow loses events, and a deleted directory loses the watch: both end
 * in a rescan that reports every file whose identity (inode, size, mtime)
 * differs from what was last reported. Not the loading itself. */
#include "watch.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "molt/errno.h"

#define RETRY_MS 100
#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

typedef struct entry {
  char name[NAME_MAX + 1];
  uint64_t due;                 /* pending: report at this uv_now() */
  uint64_t event_ns;            /* pending: uv_hrtime() of its last event */
  ino_t ino;                    /* seen: the identity last reported */
  off_t size;
  struct timespec mtime;
} entry_t;

typedef struct list {
  entry_t* v;
  size_t n, cap;
} list_t;

struct molt_watch {
  uv_loop_t* loop;
  char* dir;
  char* suffix;
  uint32_t debounce_ms;
  molt_watch_cb cb;
  void* arg;
  int fd, wd;
  uv_poll_t poll;
  uv_timer_t debounce, retry;
  list_t pending, seen;
  int open_handles;
};

static entry_t* find(list_t* l, const char* name) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i].name, name) == 0) return &l->v[i];
  return NULL;
}

static entry_t* find_or_add(list_t* l, const char* name) {
  entry_t* e = find(l, name);
  if (e) return e;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    entry_t* v = realloc(l->v, cap * sizeof(*v));
    if (!v) return NULL;
    l->v = v;
    l->cap = cap;
  }
  e = &l->v[l->n++];
  memset(e, 0, sizeof(*e));
  snprintf(e->name, sizeof(e->name), "%s", name);
  return e;
}

static bool wanted(const molt_watch_t* w, const char* name) {
  size_t n = strlen(name), s = strlen(w->suffix);
  return n > s && name[0] != '.' && strcmp(name + n - s, w->suffix) == 0;
}

static void arm_debounce(molt_watch_t* w);

static void pend(molt_watch_t* w, const char* name) {
  entry_t* e = find_or_add(&w->pending, name);
  if (!e) return; /* out of memory: the next event or rescan tries again */
  e->due = uv_now(w->loop) + w->debounce_ms;
  e->event_ns = uv_hrtime();
  arm_debounce(w);
}

/* Report a file that has been quiet long enough, unless it is gone or is
 * exactly what was reported last. */
static void report(molt_watch_t* w, const char* name, uint64_t event_ns) {
  char path[PATH_MAX];
  struct stat st;
  snprintf(path, sizeof(path), "%s/%s", w->dir, name);
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return;
  entry_t* seen = find_or_add(&w->seen, name);
  if (seen && seen->ino == st.st_ino && seen->size == st.st_size && seen->mtime.tv_sec == st.st_mtim.tv_sec &&
      seen->mtime.tv_nsec == st.st_mtim.tv_nsec)
    return;
  if (seen) {
    seen->ino = st.st_ino;
    seen->size = st.st_size;
    seen->mtime = st.st_mtim;
  }
  w->cb(path, event_ns, w->arg);
}

static void on_debounce(uv_timer_t* t) {
  molt_watch_t* w = t->data;
  uint64_t now = uv_now(w->loop);
  for (size_t i = 0; i < w->pending.n;) {
    if (w->pending.v[i].due > now) {
      i++;
      continue;
    }
    char name[NAME_MAX + 1];
    memcpy(name, w->pending.v[i].name, sizeof(name));
    uint64_t event_ns = w->pending.v[i].event_ns;
    w->pending.v[i] = w->pending.v[--w->pending.n];
    report(w, name, event_ns); /* may call back into the caller: the list is consistent */
  }
  arm_debounce(w);
}

static void arm_debounce(molt_watch_t* w) {
  if (!w->pending.n) return;
  uint64_t first = UINT64_MAX, now = uv_now(w->loop);
  for (size_t i = 0; i < w->pending.n; i++)
    if (w->pending.v[i].due < first) first = w->pending.v[i].due;
  uv_timer_start(&w->debounce, on_debounce, first > now ? first - now : 0, 0);
}

static void rescan(molt_watch_t* w) {
  uv_fs_t req;
  uv_dirent_t ent;
  if (uv_fs_scandir(NULL, &req, w->dir, 0, NULL) < 0) {
    uv_fs_req_cleanup(&req);
    return;
  }
  while (uv_fs_scandir_next(&req, &ent) != UV_EOF)
    if (wanted(w, ent.name)) pend(w, ent.name);
  uv_fs_req_cleanup(&req);
}

static int add_watch(molt_watch_t* w) {
  w->wd = inotify_add_watch(w->fd, w->dir, WATCH_MASK);
  return w->wd < 0 ? -errno : 0;
}

static void on_retry(uv_timer_t* t) {
  molt_watch_t* w = t->data;
  if (add_watch(w) != 0) return; /* not back yet */
  uv_timer_stop(&w->retry);
  rescan(w); /* whatever was built while nobody watched */
}

static void watch_lost(molt_watch_t* w) {
  w->wd = -1;
  uv_timer_start(&w->retry, on_retry, RETRY_MS, RETRY_MS);
}

static void on_readable(uv_poll_t* p, int status, int events) {
  molt_watch_t* w = p->data;
  char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    ssize_t n = read(w->fd, buf, sizeof(buf));
    if (n <= 0) return; /* EAGAIN: drained */
    for (char* at = buf; at < buf + n;) {
      struct inotify_event* ev = (struct inotify_event*)at;
      at += sizeof(*ev) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        rescan(w);
      } else if (ev->wd == w->wd && (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))) {
        if (ev->mask & IN_MOVE_SELF) inotify_rm_watch(w->fd, w->wd);
        watch_lost(w);
      } else if (ev->wd == w->wd && ev->len && (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) && wanted(w, ev->name)) {
        pend(w, ev->name);
      }
    }
  }
}

int molt__watch_start(uv_loop_t* loop, const char* dir, const char* suffix, uint32_t debounce_ms,
                      molt_watch_cb cb, void* arg, molt_watch_t** out, char* err, size_t errlen) {
  /* A directory that is not there yet may appear; anything else at its
   * path never holds a build and is refused, before the container starts
   * its release. */
  struct stat st;
  if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
    return molt__errmsg_set(err, errlen, MOLT_ENOTDIR, "%s: not a directory", dir);
  molt_watch_t* w = calloc(1, sizeof(*w));
  int rc = MOLT_ENOMEM;
  if (!w || !(w->dir = strdup(dir)) || !(w->suffix = strdup(suffix))) goto fail_alloc;
  w->loop = loop;
  w->debounce_ms = debounce_ms;
  w->cb = cb;
  w->arg = arg;
  w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (w->fd < 0) {
    rc = -errno;
    molt__errmsg_set(err, errlen, rc, "inotify: %s", strerror(-rc));
    goto fail_alloc;
  }
  if ((rc = uv_poll_init(loop, &w->poll, w->fd))) {
    molt__errmsg_set(err, errlen, rc, "%s: %s", dir, uv_strerror(rc));
    close(w->fd);
    goto fail_alloc;
  }
  uv_timer_init(loop, &w->debounce);
  uv_timer_init(loop, &w->retry);
  w->poll.data = w->debounce.data = w->retry.data = w;
  w->open_handles = 3;
  uv_poll_start(&w->poll, UV_READABLE, on_readable);
  if (add_watch(w) != 0) watch_lost(w); /* not there yet: it may appear */
  *out = w;
  return 0;

fail_alloc:
  if (rc == MOLT_ENOMEM) molt__errmsg_set(err, errlen, rc, "out of memory");
  if (w) {
    free(w->dir);
    free(w->suffix);
  }
  free(w);
  return rc;
}

static void on_closed(uv_handle_t* h) {
  molt_watch_t* w = h->data;
  if (--w->open_handles) return;
  close(w->fd);
  free(w->pending.v);
  free(w->seen.v);
  free(w->dir);
  free(w->suffix);
  free(w);
}

void molt__watch_stop(molt_watch_t* w) {
  uv_close((uv_handle_t*)&w->poll, on_closed);
  uv_close((uv_handle_t*)&w->debounce, on_closed);
  uv_close((uv_handle_t*)&w->retry, on_closed);
}
