/* container.c: `molt run`: set up the home, verify and load the release,
 * start its supervision tree, serve the control socket, and on stop take
 * everything down in order. The control commands themselves live in
 * commands.c. */
#include "container.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "alarms.h"
#include "alloc.h"
#include "code_server.h"
#include "commands.h"
#include "control.h"
#include "control_sock.h"
#include "crash.h"
#include "errmsg.h"
#include "host.h"
#include "log.h"
#include "manifest.h"
#include "module_probe.h"
#include "notify.h"
#include "observe.h"
#include "root_watch.h"
#include "stuck_guard.h"
#include "runtime.h"
#include "supervisor.h"
#include "tree_stop.h"
#include "trust.h"
#include "upgrade.h"

/* How long the release tree and then stray actors get to stop cleanly
 * before they are killed. */
#define STOP_TREE_MS 10000
#define STOP_STRAYS_MS 5000
#define STOP_STRAYS_STUCK_MS 500
/* How long commands still running (ps, inspect: each has a deadline of its
 * own, about a second) get to end before the runtime goes. */
#define STOP_JOBS_MS 5000
/* How long a scheduler gets, once everything else has stopped, to show it
 * is not stuck in a callback. */
#define STUCK_PROBE_MS 500

char* molt__abspath(const char* path) {
  char buf[PATH_MAX];
  return realpath(path, buf) ? strdup(buf) : NULL;
}

/* Private copies of a previous run are stale: nothing maps them now. */
static void clear_code_dir(const char* dir) {
  uv_fs_t req;
  uv_dirent_t ent;
  if (uv_fs_scandir(NULL, &req, dir, 0, NULL) < 0) return;
  while (uv_fs_scandir_next(&req, &ent) != UV_EOF) {
    char path[PATH_MAX + 256];
    snprintf(path, sizeof(path), "%s/%s", dir, ent.name);
    if (ent.type == UV_DIRENT_FILE) unlink(path);
  }
  uv_fs_req_cleanup(&req);
}

/* Load every module of m from dir, checking each file's descriptor against
 * the manifest. On failure the versions loaded so far are unloaded. */
static int load_modules(const molt_manifest_t* m, const char* dir, char* err, size_t errlen) {
  size_t i;
  int rc = 0;
  for (i = 0; i < m->nmodules; i++) {
    const molt_manifest_module_t* mod = &m->modules[i];
    char path[PATH_MAX];
    molt_version_t* v = NULL;
    snprintf(path, sizeof(path), "%s/%s", dir, mod->file);
    rc = molt__code_load(path, mod->name, &v, err, errlen);
    if (rc) break;
    if (strcmp(v->vsn, mod->vsn) != 0) {
      rc = molt__errmsg_set(err, errlen, MOLT_EMANIFEST, "%s: vsn: manifest says %s, module says %s", mod->file,
                            mod->vsn, v->vsn);
      molt__code_unload_current(mod->name, NULL, 0);
      break;
    }
  }
  if (rc)
    while (i--) molt__code_unload_current(m->modules[i].name, NULL, 0);
  return rc;
}

typedef struct container {
  molt_container_state_t st;
  molt_manifest_t* own_manifest; /* molt dev --module's, made up here */
  molt_dev_t* dev;
  uv_loop_t loop;
  uv_async_t stop_async;
  uv_signal_t sigint, sigterm;
  molt_root_watch_t root_watch;
  /* --release booted into a home with no permanent release; it becomes
   * permanent once its tree has started (settle_first_boot). */
  molt_release_t* first_boot;
  molt_notify_t notify; /* systemd's READY, STATUS and WATCHDOG */
  molt_stuck_guard_t guard; /* the hard limit on one callback */
  molt_observe_t* observe;  /* --metrics and --observer */
} container_t;

static void on_stop(uv_async_t* h) { uv_stop(h->loop); }

static void on_signal(uv_signal_t* h, int signum) {
  molt__log("received %s, stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
  uv_stop(h->loop);
}

static void request_stop(void* data) {
  container_t* c = data;
  uv_async_send(&c->stop_async);
}

/* Set up before the release's tree starts, so that its root giving up at
 * once, or a `molt stop` arriving at once, already has somewhere to land. */
static int setup_wait(container_t* c) {
  int rc = uv_loop_init(&c->loop);
  if (rc) return rc;
  if ((rc = molt__root_watch_init(&c->root_watch, &c->loop))) {
    uv_loop_close(&c->loop);
    return rc;
  }
  uv_async_init(&c->loop, &c->stop_async, on_stop);
  uv_signal_init(&c->loop, &c->sigint);
  uv_signal_init(&c->loop, &c->sigterm);
  uv_signal_start(&c->sigint, on_signal, SIGINT);
  uv_signal_start(&c->sigterm, on_signal, SIGTERM);
  c->st.request_stop = request_stop;
  c->st.request_stop_data = c;
  return 0;
}

static void close_wait_loop(container_t* c) {
  molt__root_watch_close(&c->root_watch);
  uv_close((uv_handle_t*)&c->stop_async, NULL);
  uv_close((uv_handle_t*)&c->sigint, NULL);
  uv_close((uv_handle_t*)&c->sigterm, NULL);
  uv_run(&c->loop, UV_RUN_DEFAULT);
  uv_loop_close(&c->loop);
}

static void stop_everything(container_t* c) {
  molt__root_watch_stop(&c->root_watch); /* the root stopped from here is no news */
  bool stuck = c->st.root != MOLT_PID_NONE && molt__tree_stop(c->st.root, c->st.manifest->sup, STOP_TREE_MS);
  /* Actors on a stuck scheduler cannot exit: no long wait for them. */
  molt__commands_shutdown_strays(stuck ? STOP_STRAYS_STUCK_MS : STOP_STRAYS_MS);
}

/* The release to boot: --release is unpacked into the home's store (a
 * no-op if it is there already). The container boots the permanent
 * release, so a node that died during an uncommitted upgrade comes back
 * on the last committed one. A home with no permanent release boots
 * --release as it is, unpacked: it becomes permanent only once its tree
 * has started (settle_first_boot), or a release that cannot start would
 * be what every later boot of this home runs. */
static int pick_release(container_t* c, const molt_container_opts_t* o, molt_release_t** out, char* err,
                        size_t errlen) {
  int rc = molt__store_open(c->st.home, &c->st.store, err, errlen);
  if (rc) return rc;
  /* `releases` reads the store on the control thread while jobs change it. */
  c->st.store->guard = &c->st.lock;
  molt_release_t* given = NULL;
  /* Not durable is done: what the file says now is what this boot runs. */
  if (o->release_dir && (rc = molt__store_unpack(c->st.store, o->release_dir, &given, err, errlen)) < 0) return rc;
  if (rc == MOLT_STORE_NOT_DURABLE) molt__log_warn("warning: %s", err);
  molt_release_t* perm = molt__store_permanent(c->st.store);
  if (!perm && given) {
    c->first_boot = given;
    *out = given;
    return 0;
  }
  if (!perm)
    return molt__errmsg_set(err, errlen, MOLT_ENORELEASE, "no release to run in %s: give --release BUNDLE_DIR",
                            c->st.home);
  if (given && given != perm)
    molt__log("release %s unpacked; booting the permanent release %s (molt upgrade %s switches)", given->vsn,
              perm->vsn, given->vsn);
  *out = perm;
  return 0;
}

/* After the first boot of a home: the tree of c->first_boot has started,
 * so it is what this home boots from now on. */
static int settle_first_boot(container_t* c, char* err, size_t errlen) {
  if (!c->first_boot) return 0;
  int rc = molt__store_set_permanent(c->st.store, c->first_boot->vsn, err, errlen);
  if (rc < 0) return rc;
  /* Not durable is done: the file says permanent now. */
  if (rc == MOLT_STORE_NOT_DURABLE) molt__log_warn("warning: %s", err);
  molt__log("release %s started; it is now this home's permanent release", c->first_boot->vsn);
  return 0;
}

/* A first boot that failed leaves its release unpacked and nothing
 * permanent: say so after the reason, and how to get rid of it. */
static void first_boot_failed(container_t* c, char* err, size_t errlen) {
  if (!c->first_boot || !err || !errlen) return;
  size_t n = strlen(err);
  snprintf(err + n, errlen - n, " (release %s stays unpacked, not permanent; molt remove %s deletes it)",
           c->first_boot->vsn, c->first_boot->vsn);
}

static int boot(container_t* c, const molt_container_opts_t* o, char* err, size_t errlen) {
  molt_release_t* rel = NULL;
  int rc = pick_release(c, o, &rel, err, errlen);
  if (rc) return rc;
  c->st.manifest = rel->manifest;
  if ((rc = molt__manifest_verify_files(rel->manifest, rel->path, err, errlen))) return rc;
  if ((rc = molt__host_start(o->schedulers, err, errlen))) return rc;
  if ((rc = load_modules(rel->manifest, rel->path, err, errlen))) return rc;
  if (rel->manifest->sup) {
    char why[512] = "";
    rc = molt__supervisor_start_watched(rel->manifest->sup, molt__root_watch_on_exit, &c->root_watch, &c->st.root,
                                        why, sizeof(why));
    if (rc) return molt__errmsg_set(err, errlen, rc, "release %s %s: %s", rel->manifest->name, rel->vsn, why);
  }
  return 0;
}

/* The manifest of a release that would list the given modules, one
 * actor of each (with "name": the module's name, which most modules
 * register under) under a one_for_one supervisor; freed with cJSON_free. */
static char* modules_manifest_text(molt_version_t* const* v, size_t n) {
  cJSON* m = cJSON_CreateObject();
  cJSON_AddStringToObject(m, "name", "dev");
  cJSON_AddStringToObject(m, "version", "0.0.0");
  cJSON* mods = cJSON_AddArrayToObject(m, "modules");
  cJSON* sup = cJSON_AddObjectToObject(m, "supervisor");
  cJSON_AddStringToObject(sup, "name", "dev_sup");
  cJSON_AddStringToObject(sup, "strategy", "one_for_one");
  cJSON_AddNumberToObject(sup, "intensity", 10);
  cJSON_AddNumberToObject(sup, "period_ms", 10000);
  cJSON* children = cJSON_AddArrayToObject(sup, "children");
  for (size_t i = 0; i < n; i++) {
    const char* slash = strrchr(v[i]->src_path, '/');
    cJSON* mod = cJSON_CreateObject();
    cJSON_AddStringToObject(mod, "name", v[i]->name);
    cJSON_AddStringToObject(mod, "vsn", v[i]->vsn);
    cJSON_AddStringToObject(mod, "file", slash ? slash + 1 : v[i]->src_path);
    cJSON_AddItemToArray(mods, mod);
    cJSON* child = cJSON_CreateObject();
    cJSON_AddStringToObject(child, "id", v[i]->name);
    cJSON_AddStringToObject(child, "module", v[i]->name);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(child, "args"), "name", v[i]->name);
    cJSON_AddItemToArray(children, child);
  }
  char* text = cJSON_PrintUnformatted(m);
  cJSON_Delete(m);
  return text;
}

/* molt dev --module: load the files (all checked before any is installed)
 * and start one actor of each, as if a release listed them. */
static int boot_modules(container_t* c, const molt_container_opts_t* o, char* err, size_t errlen) {
  int rc = molt__host_start(o->schedulers, err, errlen);
  if (rc) return rc;
  molt_version_t** v = calloc(o->nmodules, sizeof(*v));
  if (!v) return MOLT_ENOMEM;
  size_t n = 0;
  for (; n < o->nmodules && rc == 0; n++) {
    rc = molt__code_prepare(o->modules[n], NULL, &v[n], err, errlen);
    for (size_t k = 0; rc == 0 && k < n; k++)
      if (strcmp(v[k]->name, v[n]->name) == 0)
        rc = molt__errmsg_set(err, errlen, MOLT_EINVAL, "%s: module %s is given twice (also %s)", o->modules[n],
                              v[n]->name, v[k]->src_path);
    if (rc && v[n]) molt__version_unref(v[n]);
    if (rc) v[n] = NULL;
  }
  if (rc == 0) rc = molt__code_install_set(v, n, err, errlen);
  char* text = rc == 0 ? modules_manifest_text(v, n) : NULL;
  for (size_t k = 0; k < n; k++)
    if (v[k]) molt__version_unref(v[k]);
  free(v);
  if (rc) return rc;
  if (!text) return MOLT_ENOMEM;
  rc = molt__manifest_parse(text, strlen(text), false, &c->own_manifest, err, errlen);
  cJSON_free(text);
  if (rc) return rc;
  c->st.manifest = c->own_manifest;
  char why[512] = "";
  if ((rc = molt__supervisor_start_watched(c->own_manifest->sup, molt__root_watch_on_exit, &c->root_watch,
                                           &c->st.root, why, sizeof(why))))
    molt__errmsg_set(err, errlen, rc, "modules: %s", why);
  return rc;
}

/* One line on stdout once serving, so scripts can wait for it. */
static void print_running(container_t* c, const molt_container_opts_t* o) {
  if (o->nmodules)
    printf("molt: running %zu module%s in %s (%u schedulers, %lu actors)\n", o->nmodules, o->nmodules == 1 ? "" : "s",
           c->st.home, molt__rt.nsched, molt__actor_count());
  else
    printf("molt: running release %s %s in %s (%u schedulers, %lu actors)\n", c->st.manifest->name,
           c->st.manifest->version, c->st.home, molt__rt.nsched, molt__actor_count());
  if (o->dev)
    printf("molt dev: watching %s for module builds%s%s\n", o->dev->watch_dir, o->dev->build_cmd ? "; building with: " : "",
           o->dev->build_cmd ? o->dev->build_cmd : "");
  fflush(stdout);
}

/* A scheduler still inside one callback after the tree and the strays
 * had their deadlines (a handler, terminate or code_change that does not
 * return) cannot be stopped from outside, and stopping the runtime would
 * wait for it for ever while the process held the home. So the process
 * ends here, saying so: the socket is gone already, and the store's lock
 * goes with the process. _exit, because the stuck thread may still use
 * whatever an orderly exit would free. */
static void exit_if_stuck(container_t* c) {
  unsigned first = 0, n = molt__runtime_stuck(STUCK_PROBE_MS, &first);
  if (!n) return;
  molt__log_warn("scheduler %u%s is still inside an actor's callback; the container exits without %s", first,
            n > 1 ? " (and others)" : "", n > 1 ? "them" : "it");
  molt__log("stopped");
  fflush(NULL);
  _exit(0);
}

/* A job (load, upgrade) may still be running: let it finish first. */
static void wait_for_jobs(void) {
  for (int waited = 0; waited < 30000 && !molt__upgrade_begin(); waited += 10) usleep(10000);
}

int molt__container_run(const molt_container_opts_t* o, char* err, size_t errlen) {
  container_t c;
  memset(&c, 0, sizeof(c));
  char code_dir[PATH_MAX];
  int rc;
  pthread_mutex_init(&c.st.lock, NULL);
  if (o->release_dir && access(o->release_dir, R_OK) != 0) {
    int e = errno;
    molt__errmsg_set(err, errlen, -e, "%s: %s", o->release_dir, strerror(e));
    pthread_mutex_destroy(&c.st.lock);
    return -e;
  }
  /* The home, its releases/ (the store checks that) and code/ hold what
   * the container runs next: nobody else may write them. */
  if ((rc = molt__trust_dir(o->home, true, err, errlen))) {
    pthread_mutex_destroy(&c.st.lock);
    return rc;
  }
  c.st.home = molt__abspath(o->home);
  if (!c.st.home) {
    rc = molt__errmsg_set(err, errlen, MOLT_ENOENT, "%s: %s", o->home, strerror(errno));
    goto out_paths;
  }
  /* Refuse before touching anything if another container serves here. */
  if ((rc = molt__control_in_use(c.st.home, 1000, err, errlen))) goto out_paths;
  /* Before the code directory is cleared: a previous crash's report is
   * symbolized from the module copies there. */
  molt__crash_start(c.st.home);
  snprintf(code_dir, sizeof(code_dir), "%s/code", c.st.home);
  if ((rc = molt__trust_dir(code_dir, true, err, errlen))) goto out_paths;
  clear_code_dir(code_dir);
  if ((rc = molt__code_init(code_dir))) {
    molt__errmsg_set(err, errlen, rc, "%s: %s", code_dir, molt_strerror(rc));
    goto out_paths;
  }
  /* Every module file's code runs first in the probe, this executable as
   * `molt __probe`; a container started by another program (a test) has
   * no such verb and loads unprobed. */
  if (o->probe_exe && (rc = molt__probe_start(o->probe_exe, err, errlen))) goto out_code;
  c.st.started_ns = molt__now_ns();
  if ((rc = setup_wait(&c))) {
    molt__errmsg_set(err, errlen, rc, "event loop: %s", molt_strerror(rc));
    goto out_runtime;
  }
  /* Whatever can refuse is asked before the tree starts: the watcher (its
   * directories) here, the socket's path above. Its events wait for the
   * loop, which runs once everything is up. */
  if (o->dev && (rc = molt__dev_start(&c.loop, o->dev, &c.dev, err, errlen))) goto out_wait;
  if ((rc = o->nmodules ? boot_modules(&c, o, err, errlen) : boot(&c, o, err, errlen))) {
    first_boot_failed(&c, err, errlen);
    goto out_dev;
  }
  if ((rc = molt__control_start(c.st.home, molt__commands_dispatch, &c.st, &c.st.control, err, errlen)))
    goto out_tree;
  if ((rc = molt__observe_start(&c.st, o->metrics_addr, o->observer_addr, &c.observe, err, errlen))) {
    molt__control_stop(c.st.control);
    goto out_tree;
  }
  if ((rc = settle_first_boot(&c, err, errlen))) {
    molt__observe_stop(c.observe);
    molt__control_stop(c.st.control);
    goto out_tree;
  }
  molt__observe_announce(c.observe);
  print_running(&c, o);
  molt__notify_ready(&c.notify, &c.loop, c.st.manifest->name, c.st.manifest->version);
  if (molt__stuck_guard_start(&c.guard, &c.loop, o->stuck_limit_s))
    molt__log_warn("out of memory: no hard limit on callbacks this run");
  if (molt__alarms_start(&c.loop, &c.st)) molt__log_warn("out of memory: no alarms this run");
  uv_run(&c.loop, UV_RUN_DEFAULT);
  /* Stopping takes its own deadlines (exit_if_stuck): no fatal fault now. */
  molt__stuck_guard_stop(&c.guard);
  molt__alarms_stop();
  molt__notify_stopping(&c.notify);
  /* The root gone unasked (it gave up) ends the container as a failure,
   * whatever else asked it to stop meanwhile: what supervises the
   * container restarts it. */
  if (molt__root_watch_stop(&c.root_watch))
    rc = molt__errmsg_set(err, errlen, MOLT_EROOTEXIT, "root supervisor %s %s; the container stopped",
                          c.root_watch.name, c.root_watch.gave_up ? "gave up" : "exited");
  /* A scrape reads the store and the runtime, which go below. */
  molt__observe_stop(c.observe);
  wait_for_jobs();
  molt__log("stopping release %s %s", c.st.manifest->name, c.st.manifest->version);
  stop_everything(&c);
  molt__control_stop(c.st.control);
  if (c.dev) molt__dev_stop(c.dev);
  if (!molt__commands_wait_jobs(STOP_JOBS_MS))
    molt__log_warn("a command still runs after %u ms; stopping anyway", STOP_JOBS_MS);
  close_wait_loop(&c);
  exit_if_stuck(&c);
  molt__log("stopped");
  goto out_runtime;

out_tree:
  stop_everything(&c);
out_dev:
  if (c.dev) molt__dev_stop(c.dev);
out_wait:
  close_wait_loop(&c);
out_runtime:
  molt__host_stop();
out_code:
  molt__probe_stop();
  molt__code_close();
out_paths:
  molt__store_close(c.st.store);
  molt__manifest_free(c.own_manifest);
  free(c.st.home);
  pthread_mutex_destroy(&c.st.lock);
  return rc;
}
