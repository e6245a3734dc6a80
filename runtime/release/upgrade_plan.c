/* upgrade_plan.c: the path from the running release to a target version
 * and each hop's steps, explicit or derived. Pure functions of manifests
 * and of what runs (read by the caller); not the runtime that suspends
 * actors and calls code_change. */
#include "upgrade_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpath.h"
#include "errmsg.h"
#include "molt/errno.h"

#define NONE ((size_t)-1)

/* The releases between running and target, in the order of travel:
 * nodes[0] is running, nodes[n - 1] the target. */
typedef struct {
  const molt_manifest_t** nodes;
  size_t n;
  bool up;
} graph_t;

/* The newer release of a hop carries its steps, in the list for the
 * direction of travel. */
static const molt_manifest_steps_t* list_of(const molt_manifest_t* carrier, bool up, size_t* n) {
  *n = up ? carrier->nupgrade : carrier->ndowngrade;
  return up ? carrier->upgrade : carrier->downgrade;
}

/* The explicit entry for a -> b; NULL if there is none. */
static const molt_manifest_steps_t* entry_for(const molt_manifest_t* a, const molt_manifest_t* b,
                                              bool up) {
  const molt_manifest_t *carrier = up ? b : a, *other = up ? a : b;
  const molt_manifest_steps_t* list;
  size_t i, n;

  list = list_of(carrier, up, &n);
  for (i = 0; i < n; i++)
    if (strcmp(list[i].vsn, other->version) == 0) return &list[i];
  return NULL;
}

/* A release that lists its paths in a direction supports only those;
 * one that lists none lets any hop be derived. */
static bool hop_exists(const graph_t* g, size_t i, size_t j) {
  const molt_manifest_t* carrier = g->up ? g->nodes[j] : g->nodes[i];
  size_t n;

  list_of(carrier, g->up, &n);
  return n == 0 || entry_for(g->nodes[i], g->nodes[j], g->up) != NULL;
}

static int toward(const void* a, const void* b) {
  return molt__manifest_version_cmp((*(const molt_manifest_t* const*)a)->version,
                                    (*(const molt_manifest_t* const*)b)->version);
}

static int graph_build(graph_t* g, const molt_manifest_t* const* known, size_t nknown,
                       const molt_manifest_t* running, const char* target, char* err,
                       size_t errlen) {
  const char *lo = g->up ? running->version : target, *hi = g->up ? target : running->version;
  const molt_manifest_t* tmp;
  bool found = false;
  size_t i, k;

  g->nodes = malloc((nknown + 1) * sizeof *g->nodes);
  if (!g->nodes) return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  g->nodes[g->n++] = running;
  for (i = 0; i < nknown; i++) {
    if (molt__manifest_version_cmp(known[i]->version, lo) < 0 ||
        molt__manifest_version_cmp(known[i]->version, hi) > 0 ||
        strcmp(known[i]->version, running->version) == 0)
      continue;
    found = found || strcmp(known[i]->version, target) == 0;
    g->nodes[g->n++] = known[i];
  }
  if (!found)
    return molt__errmsg_set(err, errlen, MOLT_ENORELEASE, "no release %s is unpacked", target);
  qsort(g->nodes, g->n, sizeof *g->nodes, toward);
  if (!g->up)
    for (i = 0, k = g->n - 1; i < k; i++, k--) {
      tmp = g->nodes[i];
      g->nodes[i] = g->nodes[k];
      g->nodes[k] = tmp;
    }
  return 0;
}

/* "3.0.0 upgrades only from 2.0.0, 2.1.0" for each release in mask: what
 * stands in the way, read from the end the path was blocked at (the
 * target going up, running going down). */
static void explain(const graph_t* g, const bool* mask, char* out, size_t outlen) {
  const molt_manifest_steps_t* list;
  size_t i, k, n, o = 0, at;

  out[0] = '\0';
  for (at = 0; at < g->n && o < outlen; at++) {
    i = g->up ? g->n - 1 - at : at;
    if (!mask[i]) continue;
    list = list_of(g->nodes[i], g->up, &n);
    o += (size_t)snprintf(out + o, outlen - o, "%s%s %s only %s ", o ? "; " : "",
                          g->nodes[i]->version, g->up ? "upgrades" : "downgrades",
                          g->up ? "from" : "to");
    for (k = 0; k < n && o < outlen; k++)
      o += (size_t)snprintf(out + o, outlen - o, "%s%s", k ? ", " : "", list[k].vsn);
  }
}

/* Breadth first over the nodes in order of travel: hops only go forward,
 * so the first time the target is reached is by a shortest chain. *path
 * gets the node indices from running to target. */
static int path_find(const graph_t* g, size_t** path, size_t* len, char* err, size_t errlen) {
  size_t *parent = malloc(g->n * sizeof *parent), *queue = malloc(g->n * sizeof *queue);
  bool* mask = calloc(g->n, sizeof *mask);
  size_t head = 0, tail = 0, i, j, k;
  char why[512];
  int rc = 0;

  if (!parent || !queue || !mask) {
    rc = molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
    goto done;
  }
  for (i = 0; i < g->n; i++) parent[i] = NONE;
  queue[tail++] = 0;
  while (head < tail && parent[g->n - 1] == NONE) {
    i = queue[head++];
    for (j = i + 1; j < g->n; j++)
      if (parent[j] == NONE && hop_exists(g, i, j)) {
        parent[j] = i;
        queue[tail++] = j;
      }
  }
  if (parent[g->n - 1] == NONE) {
    /* Every carrier that could have led here lists its paths (one that
     * did not would have given a hop). Up: the releases that reach the
     * target; down: those reached from running. */
    if (g->up) {
      mask[g->n - 1] = true;
      for (i = g->n - 1; i-- > 1;)
        for (j = i + 1; j < g->n && !mask[i]; j++) mask[i] = mask[j] && hop_exists(g, i, j);
    } else {
      for (k = 0; k < tail; k++) mask[queue[k]] = true;
    }
    explain(g, mask, why, sizeof why);
    rc = molt__errmsg_set(err, errlen, MOLT_EUPGRADE, "no %s path from %s to %s (%s)",
                          g->up ? "upgrade" : "downgrade", g->nodes[0]->version,
                          g->nodes[g->n - 1]->version, why);
    goto done;
  }
  for (*len = 1, i = g->n - 1; i != 0; i = parent[i]) (*len)++;
  /* Reuse queue for the path, written backwards from the target. */
  for (k = *len, i = g->n - 1;; i = parent[i]) {
    queue[--k] = i;
    if (i == 0) break;
  }
  *path = queue;
  queue = NULL;
done:
  free(mask);
  free(queue);
  free(parent);
  return rc;
}

typedef struct {
  const molt_manifest_t *a, *b; /* left, entered */
  bool up;
  const molt_running_t* runs; /* what runs: the first hop only, else NULL */
  molt_plan_state_vsn_cb state_vsn;
  void* arg;
  char* err;
  size_t errlen;
} hop_ctx_t;

static bool differs(const molt_manifest_module_t* x, const molt_manifest_module_t* y) {
  return strcmp(x->vsn, y->vsn) != 0 || memcmp(x->sha256, y->sha256, sizeof x->sha256) != 0;
}

/* In the first hop, what runs of a module the left release lists: the
 * step starts from it, not from the manifest's entry, which says what the
 * release installed, not what a `molt load` may have put there since.
 * NULL in later hops (they start from what the hop before installs) and
 * when nothing is known to run. */
static const molt_running_module_t* run_of(const hop_ctx_t* h, const molt_manifest_module_t* ma) {
  const molt_running_module_t* r = ma && h->runs ? molt__running_find(h->runs, ma->name) : NULL;
  return r && r->loaded ? r : NULL;
}

/* Whether the module must change to become mb, from what runs if known. */
static bool changes(const hop_ctx_t* h, const molt_manifest_module_t* ma, const molt_manifest_module_t* mb) {
  const molt_running_module_t* r = run_of(h, ma);

  if (!r) return differs(ma, mb);
  return strcmp(r->vsn, mb->vsn) != 0 || memcmp(r->sha256, mb->sha256, sizeof r->sha256) != 0;
}

/* "running rev 3, not release 2.0.0's 2.0.0" when st, in a hop from
 * release left, starts from code that is not that release's; else "". */
static const char* drift_note(const char* left, const molt_plan_step_t* st, char* buf, size_t len) {
  buf[0] = '\0';
  if (st->release_vsn)
    snprintf(buf, len, "running rev %u, not release %s's %s", st->from_revision, left, st->release_vsn);
  return buf;
}

/* A callback that fails may have written its reason into the planner's
 * err (the release handler's does: the loader's "undefined symbol: ..."),
 * which is then quoted rather than replaced by its code's bare text. */
static int state_of(hop_ctx_t* h, const molt_manifest_t* m, const molt_manifest_module_t* mod,
                    uint32_t* out) {
  char why[1024];
  int rc;

  if (h->err && h->errlen) h->err[0] = '\0';
  rc = h->state_vsn(m, mod, out, h->arg);
  if (rc == 0) return 0;
  rc = rc < 0 ? rc : MOLT_EINVAL;
  snprintf(why, sizeof why, "%s", h->err && *h->err ? h->err : molt_strerror(rc));
  return molt__errmsg_set(h->err, h->errlen, rc, "%s -> %s: state_vsn of %s %s: %s",
                          h->a->version, h->b->version, mod->name, mod->vsn, why);
}

/* Fills st from the two sides, either of which may be NULL; the left one
 * from what runs when that is known. */
static int step_fill(hop_ctx_t* h, molt_plan_step_t* st, molt_step_op_t op,
                     const molt_manifest_module_t* ma, const molt_manifest_module_t* mb) {
  const molt_running_module_t* r = run_of(h, ma);
  char note[160];
  int rc;

  st->op = op;
  st->module = mb ? mb->name : ma->name;
  st->from_vsn = r ? r->label : ma ? ma->vsn : NULL;
  st->to_vsn = mb ? mb->vsn : NULL;
  st->file = mb ? mb->file : NULL;
  st->from_revision = r ? r->revision : 0;
  st->release_vsn = r && r->differs ? ma->vsn : NULL;
  if (op != MOLT_STEP_UPDATE && op != MOLT_STEP_SOFT) return 0;
  if (r)
    st->from_state_vsn = r->state_vsn;
  else if ((rc = state_of(h, h->a, ma, &st->from_state_vsn)))
    return rc;
  if ((rc = state_of(h, h->b, mb, &st->to_state_vsn))) return rc;
  /* Soft means the new code takes the old state as it is; across a
   * layout change that is memory corruption, not an upgrade. */
  if (op == MOLT_STEP_SOFT && st->from_state_vsn != st->to_state_vsn)
    return molt__errmsg_set(h->err, h->errlen, MOLT_EUPGRADE,
                            "%s -> %s: soft %s changes its state_vsn (%u -> %u%s%s); it needs update",
                            h->a->version, h->b->version, st->module, (unsigned)st->from_state_vsn,
                            (unsigned)st->to_state_vsn, st->release_vsn ? "; " : "",
                            drift_note(h->a->version, st, note, sizeof note));
  return 0;
}

static int hop_derive(hop_ctx_t* h, molt_plan_hop_t* hop) {
  const molt_manifest_module_t *ma, *mb;
  molt_plan_step_t* st;
  size_t i;
  int rc;

  hop->steps = calloc(h->a->nmodules + h->b->nmodules + 1, sizeof *hop->steps);
  if (!hop->steps) return molt__errmsg_set(h->err, h->errlen, MOLT_ENOMEM, "out of memory");
  hop->derived = true;
  for (i = 0; i < h->b->nmodules; i++) {
    mb = &h->b->modules[i];
    ma = molt__manifest_module(h->a, mb->name);
    if (ma && !changes(h, ma, mb)) continue;
    st = &hop->steps[hop->nsteps++];
    if (!ma) {
      step_fill(h, st, MOLT_STEP_ADD, NULL, mb);
      continue;
    }
    /* Soft if the layout is the same, else update; state_vsn decides. */
    if ((rc = step_fill(h, st, MOLT_STEP_UPDATE, ma, mb))) return rc;
    if (st->from_state_vsn == st->to_state_vsn) st->op = MOLT_STEP_SOFT;
  }
  for (i = 0; i < h->a->nmodules; i++) {
    ma = &h->a->modules[i];
    if (!molt__manifest_module(h->b, ma->name))
      step_fill(h, &hop->steps[hop->nsteps++], MOLT_STEP_REMOVE, ma, NULL);
  }
  return 0;
}

static int step_misfit(hop_ctx_t* h, const molt_manifest_step_t* es, const char* who,
                       const char* what) {
  return molt__errmsg_set(h->err, h->errlen, MOLT_EUPGRADE, "%s -> %s: %s %s: %s %s module %s",
                          h->a->version, h->b->version, molt__manifest_op_name(es->op), es->module,
                          who, what, es->module);
}

/* An explicit step must fit both releases, which the manifest parser could
 * check only for its own side: update and soft need the module on both,
 * add only on the entered side, remove only on the side left. */
static int step_explicit(hop_ctx_t* h, const molt_manifest_step_t* es, molt_plan_step_t* st) {
  const molt_manifest_module_t* ma = molt__manifest_module(h->a, es->module);
  const molt_manifest_module_t* mb = molt__manifest_module(h->b, es->module);
  bool want_a = es->op != MOLT_STEP_ADD, want_b = es->op != MOLT_STEP_REMOVE;

  if (want_a && !ma) return step_misfit(h, es, h->a->version, "has no");
  if (want_b && !mb) return step_misfit(h, es, h->b->version, "has no");
  if (!want_a && ma) return step_misfit(h, es, h->a->version, "already has");
  if (!want_b && mb) return step_misfit(h, es, h->b->version, "still has");
  st->extra = es->extra;
  return step_fill(h, st, es->op, ma, mb);
}

/* A module that changes and no step names would be left running the old
 * code under the new release's name: refused, not guessed. */
static int coverage_check(hop_ctx_t* h, const molt_plan_hop_t* hop, const molt_manifest_t* side,
                          const molt_manifest_t* other) {
  const molt_manifest_module_t *m, *o, *ma, *mb;
  const molt_running_module_t* r;
  char change[320];
  size_t i, k;

  for (i = 0; i < side->nmodules; i++) {
    m = &side->modules[i];
    o = molt__manifest_module(other, m->name);
    ma = side == h->a ? m : o;
    mb = side == h->a ? o : m;
    if (o && !changes(h, ma, mb)) continue;
    for (k = 0; k < hop->nsteps && strcmp(hop->steps[k].module, m->name) != 0; k++) {
    }
    if (k < hop->nsteps) continue;
    r = run_of(h, ma);
    if (o && r && r->differs)
      snprintf(change, sizeof change, "changes (%s -> %s; running rev %u, not release %s's %s)",
               r->label, mb->vsn, r->revision, h->a->version, ma->vsn);
    else if (o)
      snprintf(change, sizeof change, "changes (%s -> %s)", r ? r->label : ma->vsn, mb->vsn);
    else
      snprintf(change, sizeof change, "is %s %s", side == h->a ? "not in" : "new in",
               h->b->version);
    return molt__errmsg_set(h->err, h->errlen, MOLT_EUPGRADE,
                            "%s -> %s: module %s %s, and the explicit steps do not name it",
                            h->a->version, h->b->version, m->name, change);
  }
  return 0;
}

static int hop_build(hop_ctx_t* h, molt_plan_hop_t* hop) {
  const molt_manifest_steps_t* e = entry_for(h->a, h->b, h->up);
  size_t i;
  int rc;

  hop->from = h->a;
  hop->to = h->b;
  if (!e) return hop_derive(h, hop);
  hop->steps = calloc(e->nsteps + 1, sizeof *hop->steps);
  if (!hop->steps) return molt__errmsg_set(h->err, h->errlen, MOLT_ENOMEM, "out of memory");
  for (i = 0; i < e->nsteps; i++, hop->nsteps++)
    if ((rc = step_explicit(h, &e->steps[i], &hop->steps[i]))) return rc;
  if ((rc = coverage_check(h, hop, h->b, h->a))) return rc;
  return coverage_check(h, hop, h->a, h->b);
}

int molt__plan_new(const molt_manifest_t* const* known, size_t nknown,
                   const molt_manifest_t* running, const molt_running_t* runs, const char* target,
                   molt_plan_state_vsn_cb state_vsn, void* arg, molt_plan_t** out, char* err,
                   size_t errlen) {
  int cmp = molt__manifest_version_cmp(running->version, target);
  hop_ctx_t h = {.state_vsn = state_vsn, .arg = arg, .err = err, .errlen = errlen};
  graph_t g = {.up = cmp < 0};
  molt_plan_t* plan = NULL;
  size_t *path = NULL, len = 0, i;
  int rc;

  if (cmp == 0) return molt__errmsg_set(err, errlen, MOLT_EINVAL, "already running %s", target);
  if ((rc = graph_build(&g, known, nknown, running, target, err, errlen)) ||
      (rc = path_find(&g, &path, &len, err, errlen)))
    goto done;
  plan = calloc(1, sizeof *plan);
  if (plan) plan->hops = calloc(len - 1, sizeof *plan->hops);
  if (!plan || !plan->hops) {
    rc = molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
    goto done;
  }
  plan->dir = g.up ? MOLT_PLAN_UP : MOLT_PLAN_DOWN;
  h.up = g.up;
  for (i = 0; i + 1 < len; i++, plan->nhops++) {
    h.a = g.nodes[path[i]];
    h.b = g.nodes[path[i + 1]];
    h.runs = i == 0 ? runs : NULL;
    if ((rc = hop_build(&h, &plan->hops[i]))) {
      plan->nhops++; /* so its steps are freed */
      goto done;
    }
  }
  *out = plan;
  plan = NULL;
done:
  molt__plan_free(plan);
  free(path);
  free(g.nodes);
  return rc;
}

void molt__plan_free(molt_plan_t* plan) {
  size_t i;

  if (!plan) return;
  for (i = 0; i < plan->nhops; i++) free(plan->hops[i].steps);
  free(plan->hops);
  molt__running_free(&plan->runs);
  free(plan);
}

int molt__plan_describe(const molt_plan_t* plan, char** out) {
  const molt_plan_hop_t* hop;
  const molt_plan_step_t* st;
  char *text = NULL, quoted[80], note[200];
  size_t len = 0, i, k;
  FILE* f = open_memstream(&text, &len);
  bool down = plan->dir == MOLT_PLAN_DOWN;

  if (!f) return MOLT_ENOMEM;
  for (i = 0; i < plan->nhops; i++) {
    hop = &plan->hops[i];
    if (hop->nsteps == 0)
      fprintf(f, "%s -> %s: no module changes\n", hop->from->version, hop->to->version);
    for (k = 0; k < hop->nsteps; k++) {
      st = &hop->steps[k];
      fprintf(f, "%s -> %s: %s %s ", hop->from->version, hop->to->version,
              molt__manifest_op_name(st->op), st->module);
      drift_note(hop->from->version, st, note, sizeof note);
      if (st->op == MOLT_STEP_ADD || st->op == MOLT_STEP_REMOVE) {
        fprintf(f, "%s%s%s%s\n", st->op == MOLT_STEP_ADD ? st->to_vsn : st->from_vsn, *note ? " (" : "",
                note, *note ? ")" : "");
        continue;
      }
      fprintf(f, "%s -> %s (%s", st->from_vsn, st->to_vsn,
              st->op == MOLT_STEP_SOFT ? "soft load"
              : down                   ? "code_change down"
                                       : "code_change");
      if (st->extra) molt__jsonpath_quote(st->extra, quoted, sizeof quoted);
      fprintf(f, "%s%s%s%s)\n", st->extra ? ", extra " : "", st->extra ? quoted : "", *note ? "; " : "", note);
    }
  }
  if (ferror(f) | fclose(f)) {
    free(text);
    return MOLT_ENOMEM;
  }
  *out = text;
  return 0;
}
