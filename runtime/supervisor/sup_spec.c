/* sup_spec.c: deep copies of supervisor specs. A supervisor outlives the
 * manifest its spec came from, so it keeps its own copy. Not the actor. */
#include "sup_spec.h"

#include <string.h>

#include "alloc.h"

static void free_child_spec(molt_child_spec_t* c) {
  molt__free(c->id);
  molt__free(c->module);
  molt__free(c->args_json);
  if (c->sup) molt__sup_spec_free(c->sup);
}

void molt__sup_spec_free(molt_sup_spec_t* s) {
  if (!s) return;
  for (size_t i = 0; i < s->nchildren; i++) free_child_spec(&s->children[i]);
  molt__free(s->children);
  molt__free(s->name);
  molt__free(s);
}

static char* dup_or_null(const char* s) { return s ? molt__strdup(s) : NULL; }

molt_sup_spec_t* molt__sup_spec_copy(const molt_sup_spec_t* from) {
  molt_sup_spec_t* s = molt__calloc(1, sizeof(*s));
  if (!s) return NULL;
  *s = *from;
  s->name = NULL;
  s->children = NULL;
  s->nchildren = 0;
  if (from->name && !(s->name = molt__strdup(from->name))) goto fail;
  if (from->nchildren && !(s->children = molt__calloc(from->nchildren, sizeof(molt_child_spec_t))))
    goto fail;
  for (size_t i = 0; i < from->nchildren; i++, s->nchildren++) {
    const molt_child_spec_t* fc = &from->children[i];
    molt_child_spec_t* c = &s->children[i];
    *c = *fc;
    c->id = dup_or_null(fc->id);
    c->module = dup_or_null(fc->module);
    c->args_json = molt__strdup(fc->args_json ? fc->args_json : "{}");
    c->sup = fc->sup ? molt__sup_spec_copy(fc->sup) : NULL;
    if (!c->id || (fc->module && !c->module) || !c->args_json || (fc->sup && !c->sup)) {
      s->nchildren++;
      goto fail;
    }
  }
  return s;
fail:
  molt__sup_spec_free(s);
  return NULL;
}

int64_t molt__sup_spec_longest_shutdown(const molt_sup_spec_t* s, const char* module) {
  int64_t longest = -1;
  for (size_t i = 0; s && i < s->nchildren; i++) {
    const molt_child_spec_t* k = &s->children[i];
    int64_t ms = k->sup ? molt__sup_spec_longest_shutdown(k->sup, module)
                        : (!module || (k->module && strcmp(k->module, module) == 0) ? (int64_t)k->shutdown_ms : -1);
    if (ms > longest) longest = ms;
  }
  return longest;
}
