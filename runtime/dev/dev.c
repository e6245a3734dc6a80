/* dev.c: the development loop: a changed module file in the watched
 * directory becomes a new revision of its running module, through the same
 * transaction as `molt load` (a soft load, or code_change when state_vsn
 * changed), and one line says what happened and how long after the file
 * event every actor ran the new code.
 *
 * Which files are loaded: a file whose module runs, that differs from the
 * running code (sha256), and that is either the file the running code came
 * from or carries the same vsn. A tree with several versions of a module
 * (counter-1.0.0.so, counter-2.0.0.so) rebuilds all of them at once; only
 * the running one's rebuild is a revision of it, the others would be
 * release changes, which `molt load` and `molt upgrade` make on purpose.
 *
 * A file that fails its checks may be half-written by a writer that closes
 * it more than once: its failure is reported only if no newer event for the
 * same file arrives within FAIL_GRACE_MS. */
#include "dev.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code_load.h"
#include "code_server.h"
#include "dev_build.h"
#include "errmsg.h"
#include "runtime.h"
#include "upgrade.h"
#include "watch.h"

#define FAIL_GRACE_MS 150
#define BUSY_RETRY_MS 20
#define MAX_DEFERRED 32

/* A reload that waits: a failure not yet reported, or a load that found
 * another transaction (a `molt upgrade`) in progress. */
typedef struct deferred {
  char path[PATH_MAX];
  uint64_t event_ns;
  uint64_t due; /* uv_now() */
  bool failed;  /* report msg when due; else retry the load */
  char msg[1024];
} deferred_t;

struct molt_dev {
  uv_loop_t* loop;
  molt_watch_t* watch;
  molt_dev_build_t* build;
  uv_timer_t timer;
  deferred_t deferred[MAX_DEFERRED];
  size_t ndeferred;
};

void molt__dev_say(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("molt dev: ", stdout);
  vprintf(fmt, ap);
  fputc('\n', stdout);
  fflush(stdout);
  va_end(ap);
}

static const char* base_name(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

static void arm(molt_dev_t* d);

static void drop_deferred(molt_dev_t* d, const char* path) {
  for (size_t i = 0; i < d->ndeferred;)
    if (strcmp(d->deferred[i].path, path) == 0)
      d->deferred[i] = d->deferred[--d->ndeferred];
    else
      i++;
}

static void defer(molt_dev_t* d, const char* path, uint64_t event_ns, const char* failure) {
  if (d->ndeferred == MAX_DEFERRED) {
    /* Nowhere to wait: say it now rather than lose it. */
    molt__dev_say("%s: not loaded: %s", base_name(path), failure ? failure : "another upgrade is in progress");
    return;
  }
  deferred_t* e = &d->deferred[d->ndeferred++];
  snprintf(e->path, sizeof(e->path), "%s", path);
  e->event_ns = event_ns;
  e->failed = failure != NULL;
  e->due = uv_now(d->loop) + (failure ? FAIL_GRACE_MS : BUSY_RETRY_MS);
  snprintf(e->msg, sizeof(e->msg), "%s", failure ? failure : "");
  arm(d);
}

/* NULL if v is a revision of the running cur that this loop should load;
 * else why not (written into why). */
static const char* why_skip(molt_version_t* v, molt_version_t* cur, const char* path, char* why,
                            size_t len) {
  if (!cur) {
    snprintf(why, len, "module %s is not running", v->name);
    return why;
  }
  uint8_t mine[32], running[32];
  if (molt__version_sha256(v, mine) == 0 && molt__version_sha256(cur, running) == 0 &&
      memcmp(mine, running, sizeof mine) == 0)
    return ""; /* the code that runs */
  if (strcmp(v->vsn, cur->vsn) == 0 || (cur->src_path && strcmp(cur->src_path, path) == 0)) return NULL;
  snprintf(why, len, "it is %s %s, not a revision of the running %s (molt load or molt upgrade changes versions)",
           v->name, v->vsn, cur->vsn);
  return why;
}

/* live: from the file event to the last scheduler resuming on the new
 * code. done: to the end of the load, the old version's purge (dlclose)
 * included, after which the next reload can start. */
static void report_loaded(const molt_version_t* v, const molt_load_result_t* r, uint64_t event_ns) {
  uint64_t done_ns = molt__now_ns();
  uint64_t live_ns = r->stats.resumed_at_ns > event_ns ? r->stats.resumed_at_ns : done_ns;
  molt__dev_say("%s %s -> %s (%s), %lu actors migrated, live %.2f ms after the file event (actors paused %.2f ms; "
                "done in %.2f ms)",
                v->name, r->from, v->label, r->migrated ? "code_change" : "soft load", r->stats.actors,
                (double)(live_ns - event_ns) / 1e6, (double)r->stats.pause_ns / 1e6,
                (double)(done_ns - event_ns) / 1e6);
}

static void reload(molt_dev_t* d, const char* path, uint64_t event_ns) {
  drop_deferred(d, path); /* this event supersedes a pending failure or retry */
  if (!molt__upgrade_begin()) {
    defer(d, path, event_ns, NULL);
    return;
  }
  char err[1024] = "", why[512];
  molt_version_t* v = NULL;
  int rc = molt__code_prepare(path, NULL, &v, err, sizeof(err));
  if (rc) {
    molt__upgrade_end();
    defer(d, path, event_ns, err);
    return;
  }
  molt_version_t* cur = molt__code_get_current(v->name);
  const char* skip = why_skip(v, cur, path, why, sizeof(why));
  if (skip) {
    if (*skip) molt__dev_say("%s: skipped: %s", base_name(path), skip);
  } else {
    molt_load_result_t r;
    rc = molt__code_load_prepared(v, false, NULL, true, event_ns, &r, err, sizeof(err));
    if (rc == 0)
      report_loaded(v, &r, event_ns);
    else
      molt__dev_say("%s: reload failed, %s %s keeps serving: %s", v->name, v->name, cur->label, err);
  }
  if (cur) molt__version_unref(cur);
  molt__version_unref(v);
  molt__upgrade_end();
}

static void on_module_file(const char* path, uint64_t event_ns, void* arg) { reload(arg, path, event_ns); }

static void on_timer(uv_timer_t* t) {
  molt_dev_t* d = t->data;
  uint64_t now = uv_now(d->loop);
  for (size_t i = 0; i < d->ndeferred;) {
    if (d->deferred[i].due > now) {
      i++;
      continue;
    }
    deferred_t e = d->deferred[i];
    d->deferred[i] = d->deferred[--d->ndeferred];
    if (e.failed)
      molt__dev_say("%s: not loaded, the running code keeps serving: %s", base_name(e.path), e.msg);
    else
      reload(d, e.path, e.event_ns); /* may defer again: the list is consistent */
  }
  arm(d);
}

static void arm(molt_dev_t* d) {
  if (!d->ndeferred) return;
  uint64_t first = UINT64_MAX, now = uv_now(d->loop);
  for (size_t i = 0; i < d->ndeferred; i++)
    if (d->deferred[i].due < first) first = d->deferred[i].due;
  uv_timer_start(&d->timer, on_timer, first > now ? first - now : 0, 0);
}

int molt__dev_start(uv_loop_t* loop, const molt_dev_opts_t* o, molt_dev_t** out, char* err, size_t errlen) {
  molt_dev_t* d = calloc(1, sizeof(*d));
  if (!d) return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  d->loop = loop;
  int rc = molt__watch_start(loop, o->watch_dir, ".so", o->debounce_ms, on_module_file, d, &d->watch, err, errlen);
  if (rc) {
    free(d);
    return rc;
  }
  if (o->build_cmd &&
      (rc = molt__dev_build_start(loop, o->build_cmd, o->src_dirs, o->nsrc, o->debounce_ms, &d->build, err, errlen))) {
    molt__watch_stop(d->watch);
    free(d);
    return rc;
  }
  uv_timer_init(loop, &d->timer);
  d->timer.data = d;
  *out = d;
  return 0;
}

static void on_timer_closed(uv_handle_t* h) { free(h->data); }

void molt__dev_stop(molt_dev_t* d) {
  molt__watch_stop(d->watch);
  if (d->build) molt__dev_build_stop(d->build);
  uv_close((uv_handle_t*)&d->timer, on_timer_closed);
}
