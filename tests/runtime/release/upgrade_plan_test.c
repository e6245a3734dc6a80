/* upgrade_plan_test.c: planning upgrade and downgrade transactions
 * (runtime/upgrade_plan.c) from manifests alone: derived and explicit
 * steps, chains through intermediate releases, and every refusal. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "molt/errno.h"
#include "sha256.h"
#include "upgrade_plan.h"

static molt_manifest_t* made[16];
static size_t nmade;

static void fini(void) {
  while (nmade) molt__manifest_free(made[--nmade]);
}

TestSuite(upgrade_plan, .fini = fini, .timeout = 30);

/* A digest that depends only on the spec "name:vsn[:salt]", so equal
 * specs are identical modules and a salt makes the same vsn differ. */
static void digest(const char* spec, char hex[65]) {
  unsigned long long h = 1469598103934665603ull;
  int i;

  for (; *spec; spec++) h = (h ^ (unsigned char)*spec) * 1099511628211ull;
  for (i = 0; i < 4; i++) snprintf(hex + 16 * i, 17, "%016llx", h * (unsigned long long)(i + 3));
}

/* Release demo-<vsn> with modules "name:vsn[:salt] ..." and extra members
 * ("" or ", 'upgrade': [...]", ' for "). */
static const molt_manifest_t* mf(const char* vsn, const char* mods, const char* extra) {
  char *text = NULL, *c, name[64], mvsn[64], spec[160], hex[65];
  size_t len = 0;
  FILE* f = open_memstream(&text, &len);
  const char* p = mods;
  molt_manifest_t* m = NULL;
  char err[512] = "";
  int used, first = 1;

  fprintf(f, "{'name': 'demo', 'version': '%s', 'modules': [", vsn);
  while (sscanf(p, " %159s%n", spec, &used) == 1) {
    cr_assert_eq(sscanf(spec, "%63[^:]:%63[^:]", name, mvsn), 2, "bad spec %s", spec);
    digest(spec, hex);
    fprintf(f, "%s{'name': '%s', 'vsn': '%s', 'file': 'modules/%s-%s.so', 'sha256': '%s'}",
            first ? "" : ", ", name, mvsn, name, mvsn, hex);
    first = 0;
    p += used;
  }
  fprintf(f, "]%s}", extra);
  fclose(f);
  for (c = text; *c; c++)
    if (*c == '\'') *c = '"';
  cr_assert_eq(molt__manifest_parse(text, strlen(text), true, &m, err, sizeof err), 0, "%s\n%s",
               err, text);
  free(text);
  cr_assert_lt(nmade, sizeof made / sizeof *made);
  made[nmade++] = m;
  return m;
}

/* state_vsn: 2 for counter from 2.0.0 on, 1 for everything else; a
 * module named "broken" cannot be read. Counts its calls. */
static int calls;

static int state_vsn(const molt_manifest_t* m, const molt_manifest_module_t* mod, uint32_t* out,
                     void* arg) {
  calls++;
  cr_assert_eq(arg, &calls);
  cr_assert_not_null(molt__manifest_module(m, mod->name));
  if (strcmp(mod->name, "broken") == 0) return MOLT_ENOEXEC;
  *out = strcmp(mod->name, "counter") == 0 && molt__manifest_version_cmp(mod->vsn, "2.0.0") >= 0
             ? 2
             : 1;
  return 0;
}

static const molt_manifest_t* V100(void) {
  return mf("1.0.0", "counter:1.0.0 driver:1.0.0 heartbeat:1.0.0", "");
}
static const molt_manifest_t* V110(void) {
  return mf("1.1.0", "counter:1.1.0 driver:1.0.0 heartbeat:1.0.0", "");
}

static molt_plan_t* plan_ok(const molt_manifest_t* const* known, size_t n,
                            const molt_manifest_t* running, const char* target) {
  molt_plan_t* plan = NULL;
  char err[512] = "";

  cr_assert_eq(molt__plan_new(known, n, running, NULL, target, state_vsn, &calls, &plan, err, sizeof err),
               0, "%s", err);
  cr_assert_not_null(plan);
  return plan;
}

static void refuse(const molt_manifest_t* const* known, size_t n, const molt_manifest_t* running,
                   const char* target, int want_rc, const char* want) {
  molt_plan_t* sentinel = (molt_plan_t*)&sentinel;
  molt_plan_t* plan = sentinel;
  char err[512] = "";
  int rc = molt__plan_new(known, n, running, NULL, target, state_vsn, &calls, &plan, err, sizeof err);

  cr_assert_eq(rc, want_rc, "rc %d (%s)", rc, err);
  cr_assert_str_eq(err, want);
  cr_assert_eq(plan, sentinel);
}

static void described(const molt_plan_t* plan, const char* want) {
  char* text = NULL;

  cr_assert_eq(molt__plan_describe(plan, &text), 0);
  cr_assert_str_eq(text, want);
  free(text);
}

static void step_is(const molt_plan_step_t* st, molt_step_op_t op, const char* module,
                    const char* from, const char* to) {
  cr_assert_eq(st->op, op, "%s: op %d", module, st->op);
  cr_assert_str_eq(st->module, module);
  if (from)
    cr_assert_str_eq(st->from_vsn, from);
  else
    cr_assert_null(st->from_vsn);
  if (to)
    cr_assert_str_eq(st->to_vsn, to);
  else
    cr_assert_null(st->to_vsn);
}

Test(upgrade_plan, derived_update_soft_add_remove) {
  const molt_manifest_t *a = V110(), *b = mf("2.0.0", "counter:2.0.0 driver:2.0.0 stats:1.0.0", "");
  const molt_manifest_t* known[] = {a, b};
  molt_plan_t* plan = plan_ok(known, 2, a, "2.0.0");
  const molt_plan_hop_t* hop = &plan->hops[0];

  cr_assert_eq(plan->dir, MOLT_PLAN_UP);
  cr_assert_eq(plan->nhops, 1);
  cr_assert_eq(hop->from, a);
  cr_assert_eq(hop->to, b);
  cr_assert(hop->derived);
  cr_assert_eq(hop->nsteps, 4);
  step_is(&hop->steps[0], MOLT_STEP_UPDATE, "counter", "1.1.0", "2.0.0");
  cr_assert_eq(hop->steps[0].from_state_vsn, 1);
  cr_assert_eq(hop->steps[0].to_state_vsn, 2);
  cr_assert_str_eq(hop->steps[0].file, "modules/counter-2.0.0.so");
  cr_assert_null(hop->steps[0].extra);
  step_is(&hop->steps[1], MOLT_STEP_SOFT, "driver", "1.0.0", "2.0.0");
  step_is(&hop->steps[2], MOLT_STEP_ADD, "stats", NULL, "1.0.0");
  cr_assert_str_eq(hop->steps[2].file, "modules/stats-1.0.0.so");
  step_is(&hop->steps[3], MOLT_STEP_REMOVE, "heartbeat", "1.0.0", NULL);
  cr_assert_null(hop->steps[3].file);
  /* state_vsn is asked only of modules on both sides: two each. */
  cr_assert_eq(calls, 4);
  described(plan,
            "1.1.0 -> 2.0.0: update counter 1.1.0 -> 2.0.0 (code_change)\n"
            "1.1.0 -> 2.0.0: soft driver 1.0.0 -> 2.0.0 (soft load)\n"
            "1.1.0 -> 2.0.0: add stats 1.0.0\n"
            "1.1.0 -> 2.0.0: remove heartbeat 1.0.0\n");
  molt__plan_free(plan);
}

Test(upgrade_plan, identical_modules_give_no_steps) {
  const molt_manifest_t *a = V100(),
                        *b = mf("1.0.1", "driver:1.0.0 heartbeat:1.0.0 counter:1.0.0", "");
  const molt_manifest_t* known[] = {a, b};
  molt_plan_t* plan = plan_ok(known, 2, a, "1.0.1");

  cr_assert_eq(plan->hops[0].nsteps, 0);
  cr_assert_eq(calls, 0);
  described(plan, "1.0.0 -> 1.0.1: no module changes\n");
  molt__plan_free(plan);
}

/* The same vsn with other bytes is still another module version. */
Test(upgrade_plan, same_vsn_other_digest_is_a_change) {
  const molt_manifest_t *a = V100(),
                        *b = mf("1.0.1", "counter:1.0.0:rebuilt driver:1.0.0 heartbeat:1.0.0", "");
  const molt_manifest_t* known[] = {a, b};
  molt_plan_t* plan = plan_ok(known, 2, a, "1.0.1");

  cr_assert_eq(plan->hops[0].nsteps, 1);
  step_is(&plan->hops[0].steps[0], MOLT_STEP_SOFT, "counter", "1.0.0", "1.0.0");
  molt__plan_free(plan);
}

static const char UP_FROM_110[] =
    ", 'upgrade': [{'from': '1.1.0', 'steps': [\n"
    "  {'op': 'remove', 'module': 'heartbeat'}, {'op': 'add', 'module': 'stats'},\n"
    "  {'op': 'update', 'module': 'driver', 'extra': 'migrate'},\n"
    "  {'op': 'update', 'module': 'counter'}]}]";

Test(upgrade_plan, explicit_steps_override_derived) {
  const molt_manifest_t *a = V110(),
                        *b = mf("2.0.0", "counter:2.0.0 driver:2.0.0 stats:1.0.0", UP_FROM_110);
  const molt_manifest_t* known[] = {b, a};
  molt_plan_t* plan = plan_ok(known, 2, a, "2.0.0");
  const molt_plan_hop_t* hop = &plan->hops[0];

  cr_assert_not(hop->derived);
  cr_assert_eq(hop->nsteps, 4);
  /* The manifest's order, and update where derivation would say soft. */
  step_is(&hop->steps[0], MOLT_STEP_REMOVE, "heartbeat", "1.0.0", NULL);
  step_is(&hop->steps[1], MOLT_STEP_ADD, "stats", NULL, "1.0.0");
  step_is(&hop->steps[2], MOLT_STEP_UPDATE, "driver", "1.0.0", "2.0.0");
  cr_assert_str_eq(hop->steps[2].extra, "migrate");
  cr_assert_eq(hop->steps[2].from_state_vsn, hop->steps[2].to_state_vsn);
  step_is(&hop->steps[3], MOLT_STEP_UPDATE, "counter", "1.1.0", "2.0.0");
  described(plan,
            "1.1.0 -> 2.0.0: remove heartbeat 1.0.0\n"
            "1.1.0 -> 2.0.0: add stats 1.0.0\n"
            "1.1.0 -> 2.0.0: update driver 1.0.0 -> 2.0.0 (code_change, extra \"migrate\")\n"
            "1.1.0 -> 2.0.0: update counter 1.1.0 -> 2.0.0 (code_change)\n");
  molt__plan_free(plan);
}

/* 2.0.0 upgrades only from 1.1.0; from 1.0.0 the plan goes through it,
 * the first hop derived (1.1.0 lists nothing), as one plan. */
Test(upgrade_plan, chains_through_an_intermediate_release) {
  const molt_manifest_t *a = V100(), *m = V110(),
                        *b = mf("2.0.0", "counter:2.0.0 driver:2.0.0 stats:1.0.0", UP_FROM_110);
  const molt_manifest_t* known[] = {b, m, a};
  molt_plan_t* plan = plan_ok(known, 3, a, "2.0.0");

  cr_assert_eq(plan->nhops, 2);
  cr_assert_eq(plan->hops[0].from, a);
  cr_assert_eq(plan->hops[0].to, m);
  cr_assert(plan->hops[0].derived);
  cr_assert_eq(plan->hops[1].from, m);
  cr_assert_eq(plan->hops[1].to, b);
  cr_assert_not(plan->hops[1].derived);
  described(plan,
            "1.0.0 -> 1.1.0: soft counter 1.0.0 -> 1.1.0 (soft load)\n"
            "1.1.0 -> 2.0.0: remove heartbeat 1.0.0\n"
            "1.1.0 -> 2.0.0: add stats 1.0.0\n"
            "1.1.0 -> 2.0.0: update driver 1.0.0 -> 2.0.0 (code_change, extra \"migrate\")\n"
            "1.1.0 -> 2.0.0: update counter 1.1.0 -> 2.0.0 (code_change)\n");
  molt__plan_free(plan);
}

/* A direct hop wins over a chain, and the shortest chain over longer. */
Test(upgrade_plan, shortest_path) {
  const molt_manifest_t *a = V100(), *m = V110(),
                        *b = mf("2.0.0", "counter:2.0.0 driver:2.0.0", ""),
                        *c = mf("3.0.0", "counter:3.0.0 driver:3.0.0", "");
  const molt_manifest_t* known[] = {a, m, b, c};
  molt_plan_t* plan = plan_ok(known, 4, a, "3.0.0");

  cr_assert_eq(plan->nhops, 1);
  molt__plan_free(plan);
}

Test(upgrade_plan, no_path) {
  const molt_manifest_t *a = V100(),
                        *b = mf("2.0.0", "counter:2.0.0 driver:2.0.0 stats:1.0.0", UP_FROM_110),
                        *c = mf("3.0.0", "counter:3.0.0",
                                ", 'upgrade': [{'from': '2.0.0', 'steps': []}, "
                                "{'from': '2.5.0', 'steps': []}]");
  const molt_manifest_t* known[] = {a, b, c};

  refuse(known, 2, a, "2.0.0", MOLT_EUPGRADE,
         "no upgrade path from 1.0.0 to 2.0.0 (2.0.0 upgrades only from 1.1.0)");
  refuse(known, 3, a, "3.0.0", MOLT_EUPGRADE,
         "no upgrade path from 1.0.0 to 3.0.0 (3.0.0 upgrades only from 2.0.0, 2.5.0; 2.0.0 "
         "upgrades only from 1.1.0)");
}

static const char DOWN_TO_110[] =
    ", 'downgrade': [{'to': '1.1.0', 'steps': [\n"
    "  {'op': 'update', 'module': 'counter', 'extra': 'back'},\n"
    "  {'op': 'soft', 'module': 'driver'}, {'op': 'remove', 'module': 'stats'},\n"
    "  {'op': 'add', 'module': 'heartbeat'}]}]";

/* Down, the newer release (the one left) carries the steps. */
Test(upgrade_plan, downgrade_uses_the_newer_release_list) {
  const molt_manifest_t *old = V110(),
                        *cur = mf("2.0.0", "counter:2.0.0 driver:2.0.0:s stats:1.0.0", DOWN_TO_110);
  const molt_manifest_t* known[] = {old, cur};
  molt_plan_t* plan = plan_ok(known, 2, cur, "1.1.0");
  const molt_plan_hop_t* hop = &plan->hops[0];

  cr_assert_eq(plan->dir, MOLT_PLAN_DOWN);
  cr_assert_eq(hop->from, cur);
  cr_assert_eq(hop->to, old);
  cr_assert_not(hop->derived);
  step_is(&hop->steps[0], MOLT_STEP_UPDATE, "counter", "2.0.0", "1.1.0");
  cr_assert_eq(hop->steps[0].from_state_vsn, 2);
  cr_assert_eq(hop->steps[0].to_state_vsn, 1);
  cr_assert_str_eq(hop->steps[0].file, "modules/counter-1.1.0.so");
  step_is(&hop->steps[3], MOLT_STEP_ADD, "heartbeat", NULL, "1.0.0");
  described(plan,
            "2.0.0 -> 1.1.0: update counter 2.0.0 -> 1.1.0 (code_change down, extra \"back\")\n"
            "2.0.0 -> 1.1.0: soft driver 2.0.0 -> 1.0.0 (soft load)\n"
            "2.0.0 -> 1.1.0: remove stats 1.0.0\n"
            "2.0.0 -> 1.1.0: add heartbeat 1.0.0\n");
  molt__plan_free(plan);
}

Test(upgrade_plan, derived_downgrade) {
  const molt_manifest_t *old = V110(), *cur = mf("2.0.0", "counter:2.0.0 stats:1.0.0", "");
  const molt_manifest_t* known[] = {old, cur};
  molt_plan_t* plan = plan_ok(known, 2, cur, "1.1.0");

  described(plan,
            "2.0.0 -> 1.1.0: update counter 2.0.0 -> 1.1.0 (code_change down)\n"
            "2.0.0 -> 1.1.0: add driver 1.0.0\n"
            "2.0.0 -> 1.1.0: add heartbeat 1.0.0\n"
            "2.0.0 -> 1.1.0: remove stats 1.0.0\n");
  molt__plan_free(plan);
}

Test(upgrade_plan, downgrade_chain_and_no_path) {
  const molt_manifest_t *a = V100(), *m = V110(),
                        *cur = mf("2.0.0", "counter:2.0.0 driver:2.0.0:s stats:1.0.0", DOWN_TO_110);
  const molt_manifest_t* known[] = {a, cur, m};
  molt_plan_t* plan = plan_ok(known, 3, cur, "1.0.0");

  cr_assert_eq(plan->nhops, 2);
  cr_assert_eq(plan->hops[0].to, m);
  cr_assert_eq(plan->hops[1].to, a);
  cr_assert(plan->hops[1].derived);
  molt__plan_free(plan);
  refuse(known, 2, cur, "1.0.0", MOLT_EUPGRADE,
         "no downgrade path from 2.0.0 to 1.0.0 (2.0.0 downgrades only to 1.1.0)");
}

Test(upgrade_plan, same_version_and_unknown_target) {
  const molt_manifest_t *a = V110(), *known[] = {a};

  refuse(known, 1, a, "1.1.0", MOLT_EINVAL, "already running 1.1.0");
  refuse(known, 1, a, "9.0.0", MOLT_ENORELEASE, "no release 9.0.0 is unpacked");
  refuse(known, 1, a, "0.9.0", MOLT_ENORELEASE, "no release 0.9.0 is unpacked");
}

/* "1.10.0" is after "1.9.0": an upgrade, and 1.9.0 lies on the way. */
Test(upgrade_plan, numeric_version_order) {
  const molt_manifest_t *a = mf("1.2.0", "ctr:1", ""), *m = mf("1.9.0", "ctr:2", ""),
                        *b = mf("1.10.0", "ctr:3",
                                ", 'upgrade': [{'from': '1.9.0', 'steps': "
                                "[{'op': 'soft', 'module': 'ctr'}]}]");
  const molt_manifest_t* known[] = {b, m, a};
  molt_plan_t* plan = plan_ok(known, 3, a, "1.10.0");

  cr_assert_eq(plan->dir, MOLT_PLAN_UP);
  cr_assert_eq(plan->nhops, 2);
  cr_assert_eq(plan->hops[0].to, m);
  molt__plan_free(plan);
  plan = plan_ok(known, 3, b, "1.9.0");
  cr_assert_eq(plan->dir, MOLT_PLAN_DOWN);
  cr_assert_eq(plan->nhops, 1);
  molt__plan_free(plan);
}

/* Running need not be among the known releases. */
Test(upgrade_plan, running_outside_known) {
  const molt_manifest_t *a = V100(), *b = V110(), *known[] = {b};
  molt_plan_t* plan = plan_ok(known, 1, a, "1.1.0");

  cr_assert_eq(plan->hops[0].from, a);
  molt__plan_free(plan);
}

static void misfit(const char* steps, const char* want) {
  char* extra = NULL;
  const molt_manifest_t *a = V110(), *b;

  cr_assert_geq(asprintf(&extra, ", 'upgrade': [{'from': '1.1.0', 'steps': [%s]}]", steps), 0);
  b = mf("2.0.0", "counter:2.0.0 driver:1.0.0 stats:1.0.0", extra);
  const molt_manifest_t* known[] = {a, b};
  refuse(known, 2, a, "2.0.0", MOLT_EUPGRADE, want);
  free(extra);
}

static const char REST[] =
    ", {'op': 'add', 'module': 'stats'}, {'op': 'remove', 'module': 'heartbeat'}";

Test(upgrade_plan, explicit_step_that_does_not_fit_the_older_release) {
  char steps[512];

  misfit("{'op': 'update', 'module': 'stats'}",
         "1.1.0 -> 2.0.0: update stats: 1.1.0 has no module stats");
  misfit("{'op': 'add', 'module': 'counter'}",
         "1.1.0 -> 2.0.0: add counter: 1.1.0 already has module counter");
  misfit("{'op': 'remove', 'module': 'zzz'}",
         "1.1.0 -> 2.0.0: remove zzz: 1.1.0 has no module zzz");
  snprintf(steps, sizeof steps, "{'op': 'soft', 'module': 'counter'}%s", REST);
  misfit(steps, "1.1.0 -> 2.0.0: soft counter changes its state_vsn (1 -> 2); it needs update");
}

Test(upgrade_plan, change_no_step_names) {
  char steps[512];

  snprintf(steps, sizeof steps,
           "{'op': 'add', 'module': 'stats'}, {'op': 'remove', 'module': "
           "'heartbeat'}");
  misfit(steps,
         "1.1.0 -> 2.0.0: module counter changes (1.1.0 -> 2.0.0), and the explicit steps do not "
         "name it");
  misfit("{'op': 'update', 'module': 'counter'}, {'op': 'remove', 'module': 'heartbeat'}",
         "1.1.0 -> 2.0.0: module stats is new in 2.0.0, and the explicit steps do not name it");
  misfit("{'op': 'update', 'module': 'counter'}, {'op': 'add', 'module': 'stats'}",
         "1.1.0 -> 2.0.0: module heartbeat is not in 2.0.0, and the explicit steps do not name it");
}

/* Naming an unchanged module is allowed: a code_change forced on purpose. */
Test(upgrade_plan, explicit_step_may_name_an_unchanged_module) {
  const molt_manifest_t *a = V110(),
                        *b = mf("2.0.0", "counter:2.0.0 driver:1.0.0 stats:1.0.0",
                                ", 'upgrade': [{'from': '1.1.0', 'steps': ["
                                "{'op': 'update', 'module': 'driver', 'extra': 'reindex'}, "
                                "{'op': 'update', 'module': 'counter'}, "
                                "{'op': 'add', 'module': 'stats'}, "
                                "{'op': 'remove', 'module': 'heartbeat'}]}]");
  const molt_manifest_t* known[] = {a, b};
  molt_plan_t* plan = plan_ok(known, 2, a, "2.0.0");

  cr_assert_eq(plan->hops[0].nsteps, 4);
  step_is(&plan->hops[0].steps[0], MOLT_STEP_UPDATE, "driver", "1.0.0", "1.0.0");
  molt__plan_free(plan);
}

Test(upgrade_plan, downgrade_step_that_does_not_fit) {
  const molt_manifest_t *old = V110(), *cur = mf("2.0.0", "counter:2.0.0",
                                                 ", 'downgrade': [{'to': '1.1.0', 'steps': [\n"
                                                 " {'op': 'update', 'module': 'counter'},\n"
                                                 " {'op': 'add', 'module': 'zzz'}]}]");
  const molt_manifest_t* known[] = {old, cur};

  refuse(known, 2, cur, "1.1.0", MOLT_EUPGRADE, "2.0.0 -> 1.1.0: add zzz: 1.1.0 has no module zzz");
}

Test(upgrade_plan, state_vsn_failure_is_passed_up) {
  const molt_manifest_t *a = mf("1.0.0", "broken:1", ""), *b = mf("2.0.0", "broken:2", "");
  const molt_manifest_t* known[] = {a, b};

  refuse(known, 2, a, "2.0.0", MOLT_ENOEXEC,
         "1.0.0 -> 2.0.0: state_vsn of broken 1: exec format error");
}

/* ---- planned from what runs (the first hop starts from the code the
 * actors run, which a `molt load` may have made other than the running
 * release's). */

/* What runs of the modules of running, every one as its manifest says but
 * those in specs, "name:vsn[:salt]:state_vsn:revision", which run that
 * code (its digest as mf gives the same spec). */
static molt_running_t runs_of(const molt_manifest_t* running, molt_running_module_t* buf, size_t cap,
                              const char* specs) {
  molt_running_t r = {0, buf};
  char name[64], vsn[64], spec[160], hex[65];
  unsigned sv, rev;
  int used;

  for (size_t i = 0; i < running->nmodules; i++) {
    const molt_manifest_module_t* mod = &running->modules[i];
    cr_assert_lt(r.n, cap);
    molt_running_module_t* e = &buf[r.n++];
    *e = (molt_running_module_t){.release_vsn = mod->vsn, .loaded = true, .revision = 1};
    snprintf(e->name, sizeof e->name, "%s", mod->name);
    snprintf(e->vsn, sizeof e->vsn, "%s", mod->vsn);
    snprintf(e->label, sizeof e->label, "%s", mod->vsn);
    memcpy(e->sha256, mod->sha256, sizeof e->sha256);
    cr_assert_eq(state_vsn(running, mod, &e->state_vsn, &calls), 0);
  }
  for (const char* p = specs; sscanf(p, " %159s%n", spec, &used) == 1; p += used) {
    char* last = strrchr(spec, ':');
    cr_assert(last && sscanf(last + 1, "%u", &rev) == 1, "bad run %s", spec);
    *last = '\0';
    last = strrchr(spec, ':');
    cr_assert(last && sscanf(last + 1, "%u", &sv) == 1, "bad run %s", spec);
    *last = '\0';
    cr_assert_eq(sscanf(spec, "%63[^:]:%63[^:]", name, vsn), 2, "bad run %s", spec);
    molt_running_module_t* e = (molt_running_module_t*)molt__running_find(&r, name);
    cr_assert_not_null(e, "%s does not run", name);
    digest(spec, hex);
    cr_assert_eq(molt__sha256_parse(hex, e->sha256), 0);
    snprintf(e->vsn, sizeof e->vsn, "%s", vsn);
    snprintf(e->label, sizeof e->label, "%s", vsn);
    e->state_vsn = sv;
    e->revision = rev;
    e->differs = true;
  }
  calls = 0;
  return r;
}

static molt_plan_t* plan_runs_ok(const molt_manifest_t* const* known, size_t n, const molt_manifest_t* running,
                                 const molt_running_t* runs, const char* target) {
  molt_plan_t* plan = NULL;
  char err[512] = "";

  cr_assert_eq(molt__plan_new(known, n, running, runs, target, state_vsn, &calls, &plan, err, sizeof err), 0,
               "%s", err);
  return plan;
}

/* The case: 2.0.0 runs counter 1.0.0 (layout 1) by hand, and
 * 3.0.0's counter has layout 2 like 2.0.0's: from the manifests alone that
 * is a soft load onto a layout-1 state; from what runs, a code_change from
 * 1.0.0. */
Test(upgrade_plan, the_first_hop_starts_from_what_runs) {
  const molt_manifest_t *a = mf("2.0.0", "counter:2.0.0 driver:1.0.0", ""),
                        *b = mf("3.0.0", "counter:3.0.0 driver:1.0.0", "");
  const molt_manifest_t* known[] = {a, b};
  molt_running_module_t buf[4];
  molt_running_t runs = runs_of(a, buf, 4, "counter:1.0.0:1:3");
  molt_plan_t* plan = plan_runs_ok(known, 2, a, &runs, "3.0.0");
  const molt_plan_step_t* st = &plan->hops[0].steps[0];

  cr_assert_eq(plan->hops[0].nsteps, 1);
  step_is(st, MOLT_STEP_UPDATE, "counter", "1.0.0", "3.0.0");
  cr_assert_eq(st->from_state_vsn, 1);
  cr_assert_eq(st->to_state_vsn, 2);
  cr_assert_eq(st->from_revision, 3);
  cr_assert_str_eq(st->release_vsn, "2.0.0");
  /* What runs is known: only the entered side's layout is asked for. */
  cr_assert_eq(calls, 1);
  described(plan, "2.0.0 -> 3.0.0: update counter 1.0.0 -> 3.0.0 (code_change; running rev 3, not release "
                  "2.0.0's 2.0.0)\n");
  molt__plan_free(plan);

  /* Without what runs, the manifests alone: the defect it replaces. */
  plan = plan_ok(known, 2, a, "3.0.0");
  described(plan, "2.0.0 -> 3.0.0: soft counter 2.0.0 -> 3.0.0 (soft load)\n");
  molt__plan_free(plan);
}

/* What runs already is the target's code: nothing to do for it. */
Test(upgrade_plan, what_runs_already_the_targets_code_needs_no_step) {
  const molt_manifest_t *a = V100(), *b = V110();
  const molt_manifest_t* known[] = {a, b};
  molt_running_module_t buf[4];
  molt_running_t runs = runs_of(a, buf, 4, "counter:1.1.0:1:2");
  molt_plan_t* plan = plan_runs_ok(known, 2, a, &runs, "1.1.0");

  described(plan, "1.0.0 -> 1.1.0: no module changes\n");
  molt__plan_free(plan);
}

/* Where the manifests agree but what runs differs, the step is there. */
Test(upgrade_plan, what_runs_is_changed_where_the_manifests_agree) {
  const molt_manifest_t *a = mf("2.0.0", "counter:2.0.0 driver:1.0.0", ""),
                        *b = mf("2.1.0", "counter:2.0.0 driver:1.1.0", "");
  const molt_manifest_t* known[] = {a, b};
  molt_running_module_t buf[4];
  molt_running_t runs = runs_of(a, buf, 4, "counter:1.0.0:1:3");
  molt_plan_t* plan = plan_runs_ok(known, 2, a, &runs, "2.1.0");

  described(plan,
            "2.0.0 -> 2.1.0: update counter 1.0.0 -> 2.0.0 (code_change; running rev 3, not release 2.0.0's 2.0.0)\n"
            "2.0.0 -> 2.1.0: soft driver 1.0.0 -> 1.1.0 (soft load)\n");
  molt__plan_free(plan);
}

/* Only the first hop starts from what runs: the next starts from what the
 * first installs. And the same code loaded again (another label, the same
 * bytes) is the release's code. */
Test(upgrade_plan, only_the_first_hop_starts_from_what_runs) {
  const molt_manifest_t *a = mf("2.0.0", "counter:2.0.0 driver:1.0.0", ""),
                        *m = mf("2.1.0", "counter:2.1.0 driver:1.0.0", ""),
                        *b = mf("3.0.0", "counter:3.0.0 driver:1.0.0",
                                ", 'upgrade': [{'from': '2.1.0', 'steps': [{'op': 'soft', 'module': 'counter'}]}]");
  const molt_manifest_t* known[] = {a, m, b};
  molt_running_module_t buf[4];
  molt_running_t runs = runs_of(a, buf, 4, "counter:1.0.0:1:3");
  snprintf(buf[1].label, sizeof buf[1].label, "1.0.0+dev.1");
  buf[1].revision = 2;
  molt_plan_t* plan = plan_runs_ok(known, 3, a, &runs, "3.0.0");

  described(plan,
            "2.0.0 -> 2.1.0: update counter 1.0.0 -> 2.1.0 (code_change; running rev 3, not release 2.0.0's 2.0.0)\n"
            "2.1.0 -> 3.0.0: soft counter 2.1.0 -> 3.0.0 (soft load)\n");
  molt__plan_free(plan);
}

/* An explicit list written for the manifests: a soft load over what runs
 * in another layout, or a module it does not name because the manifests
 * agree on it, is refused naming what runs and what the release said. */
Test(upgrade_plan, explicit_steps_are_held_against_what_runs) {
  const molt_manifest_t *a = mf("2.0.0", "counter:2.0.0 driver:1.0.0", ""),
                        *b = mf("3.0.0", "counter:3.0.0 driver:1.0.0",
                                ", 'upgrade': [{'from': '2.0.0', 'steps': [{'op': 'soft', 'module': 'counter'}]}]"),
                        *c = mf("2.1.0", "counter:2.0.0 driver:1.1.0",
                                ", 'upgrade': [{'from': '2.0.0', 'steps': [{'op': 'soft', 'module': 'driver'}]}]");
  const molt_manifest_t* known[] = {a, b, c};
  molt_running_module_t buf[4];
  molt_running_t runs = runs_of(a, buf, 4, "counter:1.0.0:1:3");
  molt_plan_t* plan = NULL;
  char err[512] = "";

  cr_assert_eq(molt__plan_new(known, 3, a, &runs, "3.0.0", state_vsn, &calls, &plan, err, sizeof err),
               MOLT_EUPGRADE);
  cr_assert_str_eq(err, "2.0.0 -> 3.0.0: soft counter changes its state_vsn (1 -> 2; running rev 3, not release "
                        "2.0.0's 2.0.0); it needs update");
  cr_assert_eq(molt__plan_new(known, 3, a, &runs, "2.1.0", state_vsn, &calls, &plan, err, sizeof err),
               MOLT_EUPGRADE);
  cr_assert_str_eq(err, "2.0.0 -> 2.1.0: module counter changes (1.0.0 -> 2.0.0; running rev 3, not release "
                        "2.0.0's 2.0.0), and the explicit steps do not name it");
  cr_assert_null(plan);
}
