/* running_code.c: what a release's modules actually run, against what its
 * manifest lists. A release change plans from this (the manifest of the
 * release the container believes it runs says nothing about a module
 * loaded by hand since), and status and releases show the difference. */
#include "running_code.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "code_server.h"
#include "errmsg.h"
#include "molt/errno.h"

/* The code server's current versions, each with a reference taken, so
 * they can be hashed after its lock is let go. */
typedef struct {
  molt_version_t** v;
  size_t n, cap;
  bool nomem;
} current_t;

static void take_current(const char* name, molt_version_t* cur, molt_version_t* old, void* arg) {
  current_t* c = arg;
  if (!cur || cur->builtin || c->nomem) return;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 16;
    molt_version_t** v = molt__realloc(c->v, cap * sizeof(*v));
    if (!v) {
      c->nomem = true;
      return;
    }
    c->v = v;
    c->cap = cap;
  }
  molt__version_ref(cur);
  c->v[c->n++] = cur;
}

static molt_version_t* current_of(const current_t* c, const char* name) {
  for (size_t i = 0; i < c->n; i++)
    if (strcmp(c->v[i]->name, name) == 0) return c->v[i];
  return NULL;
}

/* Fills e from v (NULL: nothing of the module runs) and mod (NULL: the
 * release does not list it). */
static int describe(molt_running_module_t* e, const char* name, molt_version_t* v, const molt_manifest_module_t* mod,
                    char* err, size_t errlen) {
  snprintf(e->name, sizeof(e->name), "%s", name);
  e->release_vsn = mod ? mod->vsn : NULL;
  e->differs = true;
  if (!v) return 0;
  e->loaded = true;
  snprintf(e->vsn, sizeof(e->vsn), "%s", v->vsn);
  snprintf(e->label, sizeof(e->label), "%s", v->label);
  e->revision = v->revision;
  e->state_vsn = v->state_vsn;
  int rc = molt__version_sha256(v, e->sha256);
  if (rc)
    return molt__errmsg_set(err, errlen, rc, "%s: the running code (%s, rev %u) cannot be hashed: %s", name, v->label,
                            v->revision, molt__errmsg_strerror(rc));
  /* The bytes decide, not the label: the release's own file loaded again
   * is still the release's code, and a rebuild that kept the vsn is not. */
  e->differs = !mod || !mod->has_sha256 || strcmp(v->vsn, mod->vsn) != 0 ||
               memcmp(e->sha256, mod->sha256, sizeof(e->sha256)) != 0;
  return 0;
}

int molt__running_read(const molt_manifest_t* m, molt_running_t* out, char* err, size_t errlen) {
  current_t cur = {0};
  int rc = 0;
  *out = (molt_running_t){0};
  molt__code_foreach(take_current, &cur);
  size_t max = m->nmodules + cur.n;
  if (cur.nomem || !(out->mods = molt__calloc(max ? max : 1, sizeof(*out->mods)))) {
    rc = molt__errmsg_set(err, errlen, MOLT_ENOMEM, "what runs: out of memory");
    goto done;
  }
  for (size_t i = 0; i < m->nmodules && rc == 0; i++) {
    const molt_manifest_module_t* mod = &m->modules[i];
    rc = describe(&out->mods[out->n++], mod->name, current_of(&cur, mod->name), mod, err, errlen);
  }
  for (size_t i = 0; i < cur.n && rc == 0; i++)
    if (!molt__manifest_module(m, cur.v[i]->name))
      rc = describe(&out->mods[out->n++], cur.v[i]->name, cur.v[i], NULL, err, errlen);
done:
  for (size_t i = 0; i < cur.n; i++) molt__version_unref(cur.v[i]);
  molt__free(cur.v);
  if (rc) molt__running_free(out);
  return rc;
}

void molt__running_free(molt_running_t* r) {
  molt__free(r->mods);
  *r = (molt_running_t){0};
}

const molt_running_module_t* molt__running_find(const molt_running_t* r, const char* name) {
  for (size_t i = 0; r && i < r->n; i++)
    if (strcmp(r->mods[i].name, name) == 0) return &r->mods[i];
  return NULL;
}

size_t molt__running_drift(const molt_running_t* r) {
  size_t n = 0;
  for (size_t i = 0; i < r->n; i++) n += r->mods[i].differs;
  return n;
}
