/* sup_spec.h: deep copies of supervisor specs (molt_sup_spec_t). */
#ifndef MOLT_RUNTIME_SUP_SPEC_H
#define MOLT_RUNTIME_SUP_SPEC_H

#include "manifest.h"

/* A deep copy (molt__alloc), or NULL when out of memory. */
molt_sup_spec_t* molt__sup_spec_copy(const molt_sup_spec_t* from);
/* Free a copy; NULL is fine. */
void molt__sup_spec_free(molt_sup_spec_t* s);

#endif
