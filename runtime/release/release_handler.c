/* release_handler.c: a release change as one transaction, in stages that
 * each can be undone: (1) the code changes of every hop, through the
 * code-change engine; (2) modules the target adds, installed; (3) the
 * root supervisor given the target's tree; (4) modules the target drops,
 * purged once their actors have stopped. Everything that can be checked
 * (files, checksums, ELF, ABI, dlopen, the plan) is checked before stage
 * 1; a failure in stage 2 or 3 runs stage 1 backwards, so the container is
 * left as it was. Stage 4 cannot fail the change: a dropped module whose
 * actors outlive the grace period is hard-purged. */
#include "release_handler.h"

#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "code_server.h"
#include "errmsg.h"
#include "log.h"
#include "running_code.h"
#include "runtime.h"
#include "supervisor.h"
#include "upgrade.h"
#include "upgrade_plan.h"

#define CHANGE_TIMEOUT_MS 5000
#define PURGE_GRACE_MS 5000

typedef struct prepared {
  const molt_manifest_t* m;
  const char* module;
  molt_version_t* v;
} prepared_t;

/* The code changes of a move, one per module: ch[i] with its hops across
 * the whole plan (a slice of hops, per long) and from[i], the version it
 * ran before (a reference). Sized by the manifests, so no release is too
 * big: only modules of the running release change, so max is its module
 * count, and a hop names a module at most once (manifest_steps refuses one
 * twice in a list; a derived hop names each once), so per is the plan's
 * hop count. The alternative, fixed tables, dropped the modules past their
 * end without a word. */
typedef struct changes {
  molt_change_t* ch;
  molt_hop_t* hops;
  molt_version_t** from;
  size_t n, max, per;
} changes_t;

typedef struct ctx {
  molt_store_t* store;
  prepared_t* p;
  size_t np, capp;
  char* err;
  size_t errlen;
} ctx_t;

static molt_release_t* release_of(molt_store_t* s, const molt_manifest_t* m) {
  for (size_t i = 0; i < s->nreleases; i++)
    if (s->releases[i]->manifest == m) return s->releases[i];
  return NULL;
}

/* The version of module in release m, opened and checked once. */
static int prepare(ctx_t* c, const molt_manifest_t* m, const char* module, molt_version_t** out) {
  for (size_t i = 0; i < c->np; i++)
    if (c->p[i].m == m && strcmp(c->p[i].module, module) == 0) return *out = c->p[i].v, 0;
  const molt_manifest_module_t* mod = molt__manifest_module(m, module);
  molt_release_t* rel = release_of(c->store, m);
  if (!mod || !rel)
    return molt__errmsg_set(c->err, c->errlen, MOLT_EMANIFEST, "release %s has no module %s", m->version, module);
  if (c->np == c->capp) {
    size_t cap = c->capp ? c->capp * 2 : 8;
    prepared_t* p = molt__realloc(c->p, cap * sizeof(*p));
    if (!p) return molt__errmsg_set(c->err, c->errlen, MOLT_ENOMEM, "%s %s: out of memory", m->version, module);
    c->p = p;
    c->capp = cap;
  }
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/%s", rel->path, mod->file);
  molt_version_t* v = NULL;
  int rc = molt__code_prepare(path, module, &v, c->err, c->errlen);
  if (rc) return rc;
  if (strcmp(v->vsn, mod->vsn) != 0)
    rc = molt__errmsg_set(c->err, c->errlen, MOLT_EMANIFEST, "%s: vsn: release %s says %s, the module says %s", path,
                          m->version, mod->vsn, v->vsn);
  else if (mod->has_state_vsn && v->state_vsn != mod->state_vsn)
    rc = molt__errmsg_set(c->err, c->errlen, MOLT_EMANIFEST, "%s: state_vsn: release %s says %u, the module says %u",
                          path, m->version, (unsigned)mod->state_vsn, (unsigned)v->state_vsn);
  if (rc) {
    molt__version_unref(v);
    return rc;
  }
  c->p[c->np++] = (prepared_t){m, module, v};
  *out = v;
  return 0;
}

static int state_vsn_of(const molt_manifest_t* m, const molt_manifest_module_t* mod, uint32_t* out, void* arg) {
  molt_version_t* v = NULL;
  int rc = prepare(arg, m, mod->name, &v);
  if (rc == 0) *out = v->state_vsn;
  return rc;
}

/* Room for max changes of up to per hops each; 0 or MOLT_ENOMEM.
 * changes_free frees what was allocated either way. */
static int changes_init(changes_t* f, size_t max, size_t per) {
  *f = (changes_t){.max = max, .per = per};
  if (per && max > SIZE_MAX / per) return MOLT_ENOMEM;
  f->ch = molt__calloc(max, sizeof(*f->ch));
  f->hops = molt__calloc(max * per, sizeof(*f->hops));
  f->from = molt__calloc(max, sizeof(*f->from));
  return f->ch && f->hops && f->from ? 0 : MOLT_ENOMEM;
}

static void changes_free(changes_t* f) {
  for (size_t i = 0; f->from && i < f->n; i++)
    if (f->from[i]) molt__version_unref(f->from[i]);
  molt__free(f->ch);
  molt__free(f->hops);
  molt__free(f->from);
  *f = (changes_t){0};
}

/* The index of module's change, a new one if it has none yet; max if
 * there is no room, which the sizing above rules out. */
static size_t change_for(changes_t* f, const char* module) {
  for (size_t i = 0; i < f->n; i++)
    if (strcmp(f->ch[i].module, module) == 0) return i;
  if (f->n == f->max) return f->max;
  f->ch[f->n] = (molt_change_t){module, f->hops + f->n * f->per, 0};
  return f->n++;
}

/* Per module, the hops of its code change across the whole plan. Modules
 * the running release lacks are adds, not changes. */
static int build_changes(ctx_t* c, const molt_plan_t* plan, const molt_manifest_t* running, changes_t* f) {
  for (size_t h = 0; h < plan->nhops; h++) {
    const molt_plan_hop_t* hop = &plan->hops[h];
    for (size_t s = 0; s < hop->nsteps; s++) {
      const molt_plan_step_t* st = &hop->steps[s];
      if (st->op != MOLT_STEP_UPDATE && st->op != MOLT_STEP_SOFT) continue;
      if (!molt__manifest_module(running, st->module)) continue;
      size_t i = change_for(f, st->module);
      if (i == f->max || f->ch[i].nhops == f->per)
        return molt__errmsg_set(c->err, c->errlen, MOLT_EUPGRADE, "%s: named twice in one hop of the plan",
                                st->module);
      molt_version_t* to = NULL;
      int rc = prepare(c, hop->to, st->module, &to);
      if (rc) return rc;
      f->hops[i * f->per + f->ch[i].nhops++] = (molt_hop_t){
          to, st->op == MOLT_STEP_UPDATE, plan->dir == MOLT_PLAN_DOWN ? MOLT_DOWN : MOLT_UP, st->extra};
    }
  }
  return 0;
}

static int apply_changes(const changes_t* f, molt_upgrade_stats_t* st, char* err, size_t errlen) {
  return f->n ? molt__upgrade_apply(f->ch, f->n, CHANGE_TIMEOUT_MS, st, err, errlen) : 0;
}

/* Stage 1 backwards, into back (as big as f): every hop reversed, back to
 * each module's version before the change. Written before stage 1 runs. */
static void reverse_changes(const changes_t* f, changes_t* back) {
  for (size_t i = 0; i < f->n; i++) {
    const molt_hop_t* hops = f->ch[i].hops;
    size_t n = f->ch[i].nhops;
    molt_hop_t* out = back->hops + i * back->per;
    back->ch[i] = (molt_change_t){f->ch[i].module, out, n};
    for (size_t j = 0; j < n; j++) {
      const molt_hop_t* h = &hops[n - 1 - j];
      size_t prev = n - 1 - j;
      out[j] = (molt_hop_t){prev ? hops[prev - 1].to : f->from[i], h->migrate,
                            h->dir == MOLT_UP ? MOLT_DOWN : MOLT_UP, h->extra};
    }
  }
  back->n = f->n;
}

/* The supervisor kills a child still there shutdown_ms after its stop,
 * and goes on without it SUP_ABANDON_MS later: the dropped module's
 * children have left by then, or are stuck in a callback (a terminate
 * that hangs), which no wait here would end. Strays, actors of the module
 * outside the tree, get PURGE_GRACE_MS. Then the hard purge kills what is
 * left; a version whose actors are stuck in it stays mapped until they
 * return, and the change does not wait for that (runtime.c). */
#define SUP_ABANDON_MS 1000
static void purge_dropped(const molt_sup_spec_t* tree, const char* module) {
  char err[256];
  molt__code_make_room(module, NULL, 0);
  if (molt__code_delete(module, err, sizeof(err)) != 0) {
    molt__log_error("release: %s", err);
    return;
  }
  int64_t children_ms = molt__sup_spec_longest_shutdown(tree, module);
  int64_t grace_ms = children_ms < 0 ? PURGE_GRACE_MS : children_ms + SUP_ABANDON_MS;
  for (int64_t waited = 0; waited < grace_ms; waited += 10) {
    if (molt__code_purge(module, false, NULL, 0) == 0) return;
    usleep(10000);
  }
  molt__log_warn("release: %s: actors still running after %" PRId64 " ms; hard purge", module, grace_ms);
  molt__code_purge(module, true, NULL, 0);
}

/* Undo stage 2 for one added module: the slots go back to what they held
 * before. A child of it that failed init, or that the refused tree
 * stopped, may still be on its way out, counted among the version's
 * actors: wait for it, up to the grace period, rather than leave the
 * module loaded with no actor and no release that names it. */
static void unload_added(const char* module) {
  char why[256] = "";
  int rc = MOLT_EBUSY;
  for (int waited = 0; rc == MOLT_EBUSY && waited <= PURGE_GRACE_MS; waited += 1) {
    rc = molt__code_unload_current(module, why, sizeof(why));
    if (rc == MOLT_EBUSY) usleep(1000);
  }
  if (rc) molt__log_warn("release: undoing the install of %s: %s", module, why);
}

/* The way back of a change: the plan `molt rollback` (or an observation
 * window) would run from to back to running, as code changes, and per
 * change of fwd the one of its module on the way back (of[i], or NULL),
 * for the rehearsal. */
typedef struct {
  molt_plan_t* plan;
  changes_t ch;
  const molt_change_t** of;
} way_back_t;

static int way_back_init(ctx_t* c, const molt_manifest_t** known, size_t nknown, const molt_manifest_t* running,
                         const molt_manifest_t* to, const changes_t* fwd, way_back_t* wb) {
  char why[256];
  /* No way back (to lists only other downgrades): there is nothing a
   * rollback could run to rehearse. */
  if (molt__plan_new(known, nknown, to, NULL, running->version, state_vsn_of, c, &wb->plan, why, sizeof(why)) != 0) {
    molt__log_debug("release: no way back from %s to %s to rehearse: %s", to->version, running->version, why);
    return 0;
  }
  int rc = changes_init(&wb->ch, to->nmodules, wb->plan->nhops);
  if (rc == 0 && !(wb->of = molt__calloc(fwd->n ? fwd->n : 1, sizeof(*wb->of)))) rc = MOLT_ENOMEM;
  if (rc) return molt__errmsg_set(c->err, c->errlen, rc, "%s -> %s: out of memory", to->version, running->version);
  if ((rc = build_changes(c, wb->plan, to, &wb->ch))) return rc;
  for (size_t i = 0; i < fwd->n; i++)
    for (size_t j = 0; j < wb->ch.n; j++)
      if (strcmp(wb->ch.ch[j].module, fwd->ch[i].module) == 0) wb->of[i] = &wb->ch.ch[j];
  return 0;
}

static void way_back_free(way_back_t* wb) {
  molt__free(wb->of);
  changes_free(&wb->ch);
  if (wb->plan) molt__plan_free(wb->plan);
  *wb = (way_back_t){0};
}

static const molt_manifest_t** known_manifests(molt_store_t* s) {
  const molt_manifest_t** known = molt__calloc(s->nreleases ? s->nreleases : 1, sizeof(*known));
  for (size_t i = 0; known && i < s->nreleases; i++) known[i] = s->releases[i]->manifest;
  return known;
}

/* Room for everything the move collects, from the manifests' sizes, all
 * taken before anything changes: the undo (back) too, so that running out
 * of memory can only refuse the move, never strand it halfway. */
static int move_alloc(ctx_t* c, const molt_manifest_t* running, const molt_manifest_t* to, const molt_plan_t* plan,
                      changes_t* fwd, changes_t* back, molt_version_t*** adds, const char*** removes) {
  int rc = changes_init(fwd, running->nmodules, plan->nhops);
  if (rc == 0) rc = changes_init(back, running->nmodules, plan->nhops);
  if (rc == 0 && (!(*adds = molt__calloc(to->nmodules, sizeof(**adds))) ||
                  !(*removes = molt__calloc(running->nmodules, sizeof(**removes)))))
    rc = MOLT_ENOMEM;
  if (rc)
    molt__errmsg_set(c->err, c->errlen, rc, "%s (%zu modules) -> %s (%zu modules): out of memory", running->version,
                     running->nmodules, to->version, to->nmodules);
  return rc;
}

int molt__release_move(molt_store_t* store, const char* target, molt_pid_t root, bool check, bool rehearse,
                       molt_release_change_t* out, char* err, size_t errlen) {
  uint64_t t0 = molt__now_ns();
  ctx_t c = {.store = store, .err = err, .errlen = errlen};
  molt_plan_t* plan = NULL;
  changes_t fwd = {0}, back = {0};
  molt_version_t** adds = NULL; /* borrowed from c.p */
  size_t nadds = 0;
  const char** removes = NULL; /* borrowed from the running manifest */
  way_back_t wb = {0};
  size_t nremoves = 0;
  molt_upgrade_stats_t stats = {0};
  molt_running_t runs = {0};
  memset(out, 0, sizeof(*out));

  molt_release_t* running = molt__store_running(store);
  const molt_manifest_t** known = known_manifests(store);
  int rc = 0;
  if (!running)
    rc = molt__errmsg_set(err, errlen, MOLT_ENORELEASE, "no release is running");
  else if (!known)
    rc = molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  if (rc) goto out;
  /* Planned from what the actors run, which a `molt load` since the last
   * release change may have made another vsn or layout than the running
   * release's manifest says. */
  if ((rc = molt__running_read(running->manifest, &runs, err, errlen))) goto out;
  rc = molt__plan_new(known, store->nreleases, running->manifest, &runs, target, state_vsn_of, &c, &plan, err,
                      errlen);
  if (rc) goto out;
  const molt_manifest_t* to = plan->hops[plan->nhops - 1].to;
  out->from = running->manifest->version;
  out->to = to->version;
  out->hops = plan->nhops;
  for (size_t h = 0; h < plan->nhops; h++) out->steps += plan->hops[h].nsteps;
  if ((rc = molt__plan_describe(plan, &out->plan_text))) goto out;
  if (check && !rehearse) goto out;

  /* Every file opened and checked: the changes, the adds, the removes. */
  if ((rc = move_alloc(&c, running->manifest, to, plan, &fwd, &back, &adds, &removes))) goto out;
  if ((rc = build_changes(&c, plan, running->manifest, &fwd))) goto out;
  for (size_t i = 0; i < to->nmodules; i++)
    if (!molt__manifest_module(running->manifest, to->modules[i].name) &&
        (rc = prepare(&c, to, to->modules[i].name, &adds[nadds++])))
      goto out;
  for (size_t i = 0; i < running->manifest->nmodules; i++)
    if (!molt__manifest_module(to, running->manifest->modules[i].name))
      removes[nremoves++] = running->manifest->modules[i].name;
  for (size_t i = 0; i < fwd.n; i++) fwd.from[i] = molt__code_get_current(fwd.ch[i].module);
  reverse_changes(&fwd, &back);

  /* The rehearsal: every code_change of the plan, up and back down, on
   * the actors' real states in a forked copy, before anything freezes
   * for good. With check, that is all. */
  if (rehearse && fwd.n) {
    molt_upgrade_stats_t rs;
    rc = way_back_init(&c, known, store->nreleases, running->manifest, to, &fwd, &wb);
    if (rc == 0) rc = molt__upgrade_rehearse(fwd.ch, fwd.n, wb.of, CHANGE_TIMEOUT_MS, &rs, err, errlen);
    out->rehearsed = rs.actors > 0;
    out->rehearsal_ms = (double)rs.total_ns / 1e6;
    out->rehearsal_pause_ms = (double)rs.pause_ns / 1e6;
    if (rc) goto out;
  }
  if (check) goto out;

  /* Stage 1: the code changes, all or nothing. */
  if ((rc = apply_changes(&fwd, &stats, err, errlen))) goto out;
  /* Stage 2: new modules. */
  for (size_t i = 0; i < nadds; i++) molt__code_make_room(adds[i]->name, NULL, 0);
  rc = molt__code_install_set(adds, nadds, err, errlen);
  /* Stage 3: the target's tree. */
  if (rc == 0 && root != MOLT_PID_NONE && to->sup) {
    rc = molt__supervisor_update(root, to->sup, err, errlen);
    if (rc)
      for (size_t i = 0; i < nadds; i++) unload_added(adds[i]->name);
  }
  if (rc) {
    char undo[512] = "";
    if (apply_changes(&back, NULL, undo, sizeof(undo)) != 0) {
      molt__log_error("release: undoing the code change failed: %s", undo);
      char why[512];
      snprintf(why, sizeof(why), "%s", err ? err : "");
      molt__errmsg_set(err, errlen, rc, "%s; undoing the code change failed too: %s", why, undo);
    }
    goto out;
  }
  /* Stage 4: dropped modules go once their actors have stopped. */
  for (size_t i = 0; i < nremoves; i++) purge_dropped(running->manifest->sup, removes[i]);
  out->actors = stats.actors;
  out->pause_ms = (double)stats.pause_ns / 1e6;

out:
  out->total_ms = (double)(molt__now_ns() - t0) / 1e6;
  way_back_free(&wb);
  changes_free(&back);
  changes_free(&fwd);
  molt__free(removes);
  molt__free(adds);
  for (size_t i = 0; i < c.np; i++) molt__version_unref(c.p[i].v);
  molt__free(c.p);
  molt__free(known);
  if (rc == 0) {
    /* The steps' running vsn points into runs: it goes with the plan. */
    plan->runs = runs;
    runs = (molt_running_t){0};
    out->plan = plan;
    plan = NULL;
  }
  molt__plan_free(plan);
  molt__running_free(&runs);
  if (rc && out->plan_text) {
    free(out->plan_text);
    out->plan_text = NULL;
  }
  return rc;
}
