/* plan_fuzz.c: libFuzzer target for the upgrade planner (molt__plan_new,
 * runtime/release/upgrade_plan.c) over parsed manifests. The input makes up
 * to four releases in one of two ways:
 *
 *   - text: starts with '{': manifests in source form separated by form
 *     feeds ('\f'), as written by hand (the seed corpus holds the demo's);
 *   - bytes: anything else: a generator reads one byte at a time (0 once
 *     the input runs out) and writes each release: which of four modules
 *     it has, each one's vsn and a salt for its digest, and optional
 *     explicit upgrade/downgrade lists of ops, modules and extras; so every
 *     input reaches the planner with manifests the parser accepts.
 *
 * Those that parse are the known releases; every one of them is planned
 * from every other (and toward an unknown version). A module's state_vsn
 * comes from a hash of its name and vsn and the input's first byte, which
 * may also make module "d" unreadable. A plan must chain from the running
 * release to the target, hop by hop, and describe itself; a refusal must
 * come with a one-line reason. Built by tools/fuzz.sh (-DMOLT_FUZZ=ON). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "molt/errno.h"
#include "upgrade_plan.h"

#define MAXREL 4

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

typedef struct {
  const uint8_t* p;
  size_t n;
} in_t;

static unsigned take(in_t* in) {
  if (in->n == 0) return 0;
  in->n--;
  return *in->p++;
}

static const char* const names[] = {"a", "b", "c", "d"};
static const char* const ops[] = {"update", "soft", "add", "remove"};

static unsigned long hash(const char* a, const char* b, unsigned seed) {
  unsigned long h = 1469598103u ^ seed;

  for (; *a; a++) h = (h ^ (unsigned char)*a) * 16777619u;
  for (; *b; b++) h = (h ^ (unsigned char)*b) * 16777619u;
  return h;
}

/* One explicit list entry: {"from"|"to": other, "steps": [...]}. */
static void gen_steps(FILE* f, in_t* in, const char* key, unsigned other) {
  unsigned n = take(in) % 5;

  fprintf(f, "{\"%s\": \"1.%u.0\", \"steps\": [", key, other);
  for (unsigned s = 0; s < n; s++) {
    unsigned op = take(in) % 4, mod = take(in) % 4;
    fprintf(f, "%s{\"op\": \"%s\", \"module\": \"%s\"", s ? ", " : "", ops[op], names[mod]);
    if (op == 0 && (take(in) & 1)) fprintf(f, ", \"extra\": \"x%u\"", s);
    fputc('}', f);
  }
  fputs("]}", f);
}

/* Release 1.<idx>.0; explicit lists only ever name older releases. */
static char* gen_release(in_t* in, unsigned idx) {
  char* text = NULL;
  size_t len = 0;
  FILE* f = open_memstream(&text, &len);
  unsigned mask = take(in), e;
  bool first = true;

  if (!f) return NULL;
  fprintf(f, "{\"name\": \"fz\", \"version\": \"1.%u.0\", \"modules\": [", idx);
  for (unsigned m = 0; m < 4; m++) {
    if (!(mask & (1u << m))) continue;
    unsigned vsn = take(in) % 3, salt = (mask >> 4) & 1;
    unsigned long h = hash(names[m], "", vsn * 2 + salt);
    fprintf(f,
            "%s{\"name\": \"%s\", \"vsn\": \"1.0.%u\", \"file\": \"%s-%u.so\", \"sha256\": "
            "\"%016lx%016lx%016lx%016lx\"}",
            first ? "" : ", ", names[m], vsn, names[m], vsn, h, h * 3, h * 5, h * 7);
    first = false;
  }
  fputc(']', f);
  e = take(in);
  if (idx > 0 && (e & 1)) {
    fputs(", \"upgrade\": [", f);
    gen_steps(f, in, "from", take(in) % idx);
    fputc(']', f);
  }
  if (idx > 0 && (e & 2)) {
    fputs(", \"downgrade\": [", f);
    gen_steps(f, in, "to", take(in) % idx);
    fputc(']', f);
  }
  fputc('}', f);
  fclose(f);
  return text;
}

static int state_vsn(const molt_manifest_t* m, const molt_manifest_module_t* mod, uint32_t* out,
                     void* arg) {
  unsigned seed = *(const unsigned*)arg;

  if (!molt__manifest_module(m, mod->name)) abort(); /* only modules of that release */
  if ((seed & 0x80) && strcmp(mod->name, "d") == 0) return MOLT_ENOEXEC;
  *out = 1 + (uint32_t)(hash(mod->name, mod->vsn, seed) % 2);
  return 0;
}

static void check_plan(const molt_plan_t* plan, const molt_manifest_t* running,
                       const char* target) {
  char* text = NULL;

  if (plan->nhops == 0 || plan->hops[0].from != running ||
      strcmp(plan->hops[plan->nhops - 1].to->version, target) != 0)
    abort();
  for (size_t h = 0; h < plan->nhops; h++) {
    const molt_plan_hop_t* hop = &plan->hops[h];
    if (h + 1 < plan->nhops && hop->to != plan->hops[h + 1].from) abort();
    for (size_t s = 0; s < hop->nsteps; s++)
      if (!hop->steps[s].module) abort();
  }
  if (molt__plan_describe(plan, &text) != 0 || !text) abort();
  free(text);
}

static void plan_all(molt_manifest_t* const* known, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j <= n; j++) {
      const char* target = j < n ? known[j]->version : "9.9.9";
      molt_plan_t* plan = NULL;
      char err[512] = "";
      /* From the manifests alone (runs NULL): what runs is the container's,
       * and release_drift_test covers planning from it. */
      int rc = molt__plan_new((const molt_manifest_t* const*)known, n, known[i], NULL, target, state_vsn,
                              &seed, &plan, err, sizeof err);
      if (rc == 0) {
        if (i == j || j == n) abort(); /* itself, or a version nobody has */
        check_plan(plan, known[i], target);
        molt__plan_free(plan);
      } else if (plan || !err[0] || strchr(err, '\n') || (j == n && rc != MOLT_ENORELEASE)) {
        abort();
      }
    }
  }
}

/* Known versions are unique (molt__plan_new's precondition, which the
 * release store keeps): a second release of one version is dropped. */
static bool keep(molt_manifest_t** known, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(known[i]->version, known[n]->version) == 0) {
      molt__manifest_free(known[n]);
      known[n] = NULL;
      return false;
    }
  }
  return true;
}

/* The form-feed separated texts of a '{' input, each parsed. */
static size_t from_text(const uint8_t* data, size_t size, molt_manifest_t** known) {
  size_t n = 0, start = 0;

  for (size_t k = 0; k <= size && n < MAXREL; k++) {
    if (k < size && data[k] != '\f') continue;
    char err[512];
    if (molt__manifest_parse((const char*)data + start, k - start, false, &known[n], err,
                             sizeof err) == 0 &&
        keep(known, n))
      n++;
    start = k + 1;
  }
  return n;
}

static size_t from_bytes(in_t* in, molt_manifest_t** known) {
  unsigned nrel = 2 + take(in) % 3;
  size_t n = 0;

  for (unsigned r = 0; r < nrel; r++) {
    char* text = gen_release(in, r);
    char err[512];
    if (text && molt__manifest_parse(text, strlen(text), true, &known[n], err, sizeof err) == 0) n++;
    free(text);
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  molt_manifest_t* known[MAXREL + 1] = {0};
  in_t in = {data, size};
  unsigned seed = size ? data[0] : 0;
  size_t n = size && data[0] == '{' ? from_text(data, size, known) : from_bytes(&in, known);

  plan_all(known, n, seed);
  for (size_t i = 0; i < n; i++) molt__manifest_free(known[i]);
  return 0;
}
