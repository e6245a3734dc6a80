/* code_server.c: the current and old slot of every module, as Erlang's code
 * server keeps them. Not the loading of a file (version.c) nor the actors. */
#include "code_server.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"

/* A module name's slots. Entries are kept, even empty, until
 * molt__code_close: the revision counter must survive a module's absence so
 * that a revision number is never handed out twice. */
typedef struct {
  char* name;
  molt_version_t* current;
  molt_version_t* old;
  unsigned revisions; /* handed out so far for this name */
} entry_t;

/* One lock for the whole table. Every operation under it is a few pointer
 * moves; the slow parts (reading the file, dlopen, dlclose, the kill hook)
 * run outside it, so a scheduler asking for a module's current version never
 * waits for a load. Entries are sorted by name: lookups bisect, and foreach
 * lists modules in the order status output wants. */
static struct {
  pthread_mutex_t lock;
  char* copy_dir; /* NULL until molt__code_init, and again after close */
  entry_t* entries;
  size_t n, cap;
  molt_code_kill_cb kill;
  void* kill_arg;
} cs = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Index of name, or where it would go. */
static size_t lower_bound(const char* name) {
  size_t lo = 0, hi = cs.n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(cs.entries[mid].name, name) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static entry_t* find(const char* name) {
  size_t i = lower_bound(name);
  return i < cs.n && strcmp(cs.entries[i].name, name) == 0 ? &cs.entries[i] : NULL;
}

static entry_t* find_or_add(const char* name) {
  size_t i = lower_bound(name);
  if (i < cs.n && strcmp(cs.entries[i].name, name) == 0) return &cs.entries[i];
  if (cs.n == cs.cap) {
    size_t cap = cs.cap ? cs.cap * 2 : 16;
    entry_t* bigger = realloc(cs.entries, cap * sizeof *bigger);
    if (!bigger) return NULL;
    cs.entries = bigger;
    cs.cap = cap;
  }
  char* copy = strdup(name);
  if (!copy) return NULL;
  memmove(&cs.entries[i + 1], &cs.entries[i], (cs.n - i) * sizeof cs.entries[0]);
  cs.entries[i] = (entry_t){.name = copy};
  cs.n++;
  return &cs.entries[i];
}

static int not_running(char* err, size_t errlen) {
  return molt__errmsg_set(err, errlen, MOLT_EINVAL,
                          "code server: not initialised (molt__code_init)");
}

static int no_module(const char* name, const char* what, char* err, size_t errlen) {
  return molt__errmsg_set(err, errlen, MOLT_ENOMODULE, "%s: %s", name, what);
}

static int old_loaded(const entry_t* e, char* err, size_t errlen) {
  return molt__errmsg_set(err, errlen, MOLT_EOLDCODE,
                          "%s: old version %s (revision %u) is still loaded; purge it first",
                          e->name, e->old->vsn, e->old->revision);
}

static int old_running(const entry_t* e, long actors, const char* why, char* err,
                       size_t errlen) {
  return molt__errmsg_set(err, errlen, MOLT_EOLDCODE,
                          "%s: old version %s (revision %u) still runs %ld actors; %s",
                          e->name, e->old->vsn, e->old->revision, actors, why);
}

/* A reload of the vsn that runs is the next dev build of it. */
static void set_label(molt_version_t* v, const molt_version_t* current) {
  v->dev = current && strcmp(current->vsn, v->vsn) == 0 ? current->dev + 1 : 0;
  if (v->dev)
    snprintf(v->label, sizeof(v->label), "%s+dev.%u", v->vsn, v->dev);
  else
    snprintf(v->label, sizeof(v->label), "%s", v->vsn);
}

/* Under the lock: make v current, current old, and give v the next revision
 * of its name. The caller hands over the slot's reference. On refusal nothing
 * has changed. */
static int install(molt_version_t* v, char* err, size_t errlen) {
  if (!cs.copy_dir) return not_running(err, errlen);
  entry_t* e = find_or_add(v->name);
  if (!e) return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "%s: out of memory", v->name);
  if (e->old) return old_loaded(e, err, errlen);
  v->revision = ++e->revisions;
  set_label(v, e->current);
  e->old = e->current;
  e->current = v;
  return 0;
}

int molt__code_init(const char* copy_dir) {
  if (mkdir(copy_dir, 0700) != 0 && errno != EEXIST) return -errno;
  struct stat st;
  if (stat(copy_dir, &st) != 0) return -errno;
  if (!S_ISDIR(st.st_mode)) return MOLT_ENOTDIR;
  /* Between writing a private copy and dlopen'ing it, only the directory's
   * permissions keep someone else from replacing it: refuse a directory
   * another user owns or can write to. */
  if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) return MOLT_EPERM;
  char* copy = strdup(copy_dir);
  if (!copy) return MOLT_ENOMEM;
  pthread_mutex_lock(&cs.lock);
  int rc = cs.copy_dir ? MOLT_EBUSY : 0;
  if (rc == 0) cs.copy_dir = copy;
  pthread_mutex_unlock(&cs.lock);
  if (rc != 0) free(copy);
  return rc;
}

void molt__code_close(void) {
  pthread_mutex_lock(&cs.lock);
  entry_t* entries = cs.entries;
  size_t n = cs.n;
  free(cs.copy_dir);
  cs.copy_dir = NULL;
  cs.entries = NULL;
  cs.n = cs.cap = 0;
  cs.kill = NULL;
  cs.kill_arg = NULL;
  pthread_mutex_unlock(&cs.lock);
  /* dlclose runs module destructors: not under our lock. */
  for (size_t i = 0; i < n; i++) {
    if (entries[i].current) molt__version_unref(entries[i].current);
    if (entries[i].old) molt__version_unref(entries[i].old);
    free(entries[i].name);
  }
  free(entries);
}

void molt__code_set_kill_hook(molt_code_kill_cb cb, void* arg) {
  pthread_mutex_lock(&cs.lock);
  cs.kill = cb;
  cs.kill_arg = arg;
  pthread_mutex_unlock(&cs.lock);
}

int molt__code_load(const char* path, const char* expect_name, molt_version_t** out,
                    char* err, size_t errlen) {
  int rc = 0;
  char* copy_dir = NULL;
  pthread_mutex_lock(&cs.lock);
  entry_t* e = expect_name ? find(expect_name) : NULL;
  if (!cs.copy_dir) {
    rc = not_running(err, errlen);
  } else if (e && e->old) {
    /* Known to be refused: do not even dlopen, which would run the new
     * module's constructors for nothing. Without expect_name the name is
     * only known once the file is open; install() checks again anyway. */
    rc = old_loaded(e, err, errlen);
  } else if (!(copy_dir = strdup(cs.copy_dir))) {
    rc = molt__errmsg_set(err, errlen, MOLT_ENOMEM, "%s: out of memory", path);
  }
  pthread_mutex_unlock(&cs.lock);
  if (rc != 0) return rc;

  molt_version_t* v = NULL;
  rc = molt__version_open(path, expect_name, copy_dir, &v, err, errlen);
  free(copy_dir);
  if (rc != 0) return rc;
  pthread_mutex_lock(&cs.lock);
  rc = install(v, err, errlen);
  pthread_mutex_unlock(&cs.lock);
  if (rc != 0) {
    molt__version_unref(v);
    return rc;
  }
  if (out) *out = v;
  return 0;
}

int molt__code_prepare(const char* path, const char* expect_name, molt_version_t** out,
                       char* err, size_t errlen) {
  char* copy_dir = NULL;
  pthread_mutex_lock(&cs.lock);
  int rc = !cs.copy_dir ? not_running(err, errlen)
           : !(copy_dir = strdup(cs.copy_dir))
               ? molt__errmsg_set(err, errlen, MOLT_ENOMEM, "%s: out of memory", path)
               : 0;
  pthread_mutex_unlock(&cs.lock);
  if (rc != 0) return rc;
  rc = molt__version_open(path, expect_name, copy_dir, out, err, errlen);
  free(copy_dir);
  return rc;
}

int molt__code_make_room(const char* name, char* err, size_t errlen) {
  pthread_mutex_lock(&cs.lock);
  entry_t* e = find(name);
  molt_version_t* v = e ? e->old : NULL;
  long actors = v ? atomic_load(&v->actors) : 0;
  int rc = actors > 0 ? old_running(e, actors, "purge it first (molt purge --hard kills them)", err, errlen) : 0;
  if (rc == 0 && v) e->old = NULL;
  pthread_mutex_unlock(&cs.lock);
  if (rc == 0 && v) molt__version_unref(v);
  return rc;
}

int molt__code_install_set(molt_version_t* const* v, size_t n, char* err, size_t errlen) {
  int rc = 0;
  pthread_mutex_lock(&cs.lock);
  /* Check every slot first, so a refusal changes nothing. */
  for (size_t i = 0; i < n && rc == 0; i++) {
    entry_t* e = find(v[i]->name);
    if (!cs.copy_dir) rc = not_running(err, errlen);
    else if (e && e->old) rc = old_loaded(e, err, errlen);
    for (size_t j = 0; j < i && rc == 0; j++)
      if (strcmp(v[i]->name, v[j]->name) == 0)
        rc = molt__errmsg_set(err, errlen, MOLT_EINVAL, "%s: named twice in one install", v[i]->name);
  }
  /* Entries are created before anything moves, so running out of memory
   * here also leaves the slots as they were. */
  for (size_t i = 0; i < n && rc == 0; i++)
    if (!find_or_add(v[i]->name)) rc = molt__errmsg_set(err, errlen, MOLT_ENOMEM, "%s: out of memory", v[i]->name);
  for (size_t i = 0; i < n && rc == 0; i++) {
    install(v[i], NULL, 0); /* cannot fail now */
    molt__version_ref(v[i]);
  }
  pthread_mutex_unlock(&cs.lock);
  return rc;
}

int molt__code_install_builtin(molt_version_t* v) {
  pthread_mutex_lock(&cs.lock);
  int rc = install(v, NULL, 0);
  if (rc == 0) molt__version_ref(v); /* the slot's own; the caller keeps theirs */
  pthread_mutex_unlock(&cs.lock);
  return rc;
}

int molt__code_unload_current(const char* name, char* err, size_t errlen) {
  int rc = 0;
  molt_version_t* dropped = NULL;
  pthread_mutex_lock(&cs.lock);
  entry_t* e = find(name);
  if (!e || !e->current) {
    rc = no_module(name, "no current version to unload", err, errlen);
  } else if (atomic_load(&e->current->actors) > 0) {
    /* Its actors would keep running code that no slot holds, out of reach
     * of any purge. An aborted upgrade moves them back first. */
    rc = molt__errmsg_set(err, errlen, MOLT_EBUSY,
                          "%s: version %s (revision %u) already runs %ld actors", name,
                          e->current->vsn, e->current->revision,
                          atomic_load(&e->current->actors));
  } else {
    dropped = e->current;
    e->current = e->old;
    e->old = NULL;
  }
  pthread_mutex_unlock(&cs.lock);
  if (dropped) molt__version_unref(dropped);
  return rc;
}

/* The slot of e whose version actors run, or NULL. */
static molt_version_t* busy_slot(const entry_t* e, long* actors) {
  molt_version_t* slots[] = {e->current, e->old};
  for (size_t i = 0; i < 2; i++)
    if (slots[i] && (*actors = atomic_load(&slots[i]->actors)) > 0) return slots[i];
  return NULL;
}

int molt__code_unload(const char* name, char* err, size_t errlen) {
  molt_version_t *cur = NULL, *old = NULL, *busy;
  long actors = 0;
  int rc = 0;
  pthread_mutex_lock(&cs.lock);
  entry_t* e = find(name);
  if (!e || (!e->current && !e->old)) {
    rc = no_module(name, "no such module", err, errlen);
  } else if ((busy = busy_slot(e, &actors))) {
    rc = molt__errmsg_set(err, errlen, MOLT_EBUSY, "%s: version %s (revision %u) runs %ld actors", name,
                          busy->vsn, busy->revision, actors);
  } else {
    cur = e->current;
    old = e->old;
    e->current = e->old = NULL;
  }
  pthread_mutex_unlock(&cs.lock);
  if (cur) molt__version_unref(cur);
  if (old) molt__version_unref(old);
  return rc;
}

int molt__code_delete(const char* name, char* err, size_t errlen) {
  int rc = 0;
  pthread_mutex_lock(&cs.lock);
  entry_t* e = find(name);
  if (!e || !e->current) {
    rc = no_module(name, "no current version to delete", err, errlen);
  } else if (e->old) {
    rc = old_loaded(e, err, errlen);
  } else {
    e->old = e->current;
    e->current = NULL;
  }
  pthread_mutex_unlock(&cs.lock);
  return rc;
}

int molt__code_purge(const char* name, bool hard, char* err, size_t errlen) {
  int rc = 0;
  molt_code_kill_cb kill = NULL;
  void* kill_arg = NULL;
  pthread_mutex_lock(&cs.lock);
  entry_t* e = find(name);
  molt_version_t* v = e ? e->old : NULL;
  long actors = v ? atomic_load(&v->actors) : 0;
  if (!e) {
    rc = no_module(name, "no such module", err, errlen);
  } else if (actors > 0 && !hard) {
    rc = old_running(e, actors, "a hard purge would kill them", err, errlen);
  } else if (actors > 0 && !cs.kill) {
    rc = old_running(e, actors, "no kill hook is set to stop them", err, errlen);
  } else {
    e->old = NULL;
    kill = cs.kill;
    kill_arg = cs.kill_arg;
  }
  pthread_mutex_unlock(&cs.lock);
  /* The hook reaches into the runtime, which may ask the code server for a
   * current version (a supervisor restarting a killed child does), so it
   * runs unlocked. The version outlives the slot's reference through the
   * ones its actors hold, and closes when the last of them exits. */
  if (rc != 0 || !v) return rc;
  if (actors > 0) kill(v, kill_arg);
  molt__version_unref(v);
  return 0;
}

molt_version_t* molt__code_get_current(const char* name) {
  pthread_mutex_lock(&cs.lock);
  entry_t* e = find(name);
  molt_version_t* v = e ? e->current : NULL;
  if (v) molt__version_ref(v);
  pthread_mutex_unlock(&cs.lock);
  return v;
}

void molt__code_foreach(molt_code_visit_cb cb, void* arg) {
  pthread_mutex_lock(&cs.lock);
  for (size_t i = 0; i < cs.n; i++) {
    const entry_t* e = &cs.entries[i];
    if (e->current || e->old) cb(e->name, e->current, e->old, arg);
  }
  pthread_mutex_unlock(&cs.lock);
}
