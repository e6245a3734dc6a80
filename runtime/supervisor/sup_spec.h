/* sup_spec.h: what a supervisor is told to run (molt_sup_spec_t, its
 * children and their restart rules) and deep copies of it. The release
 * manifest reads these from JSON; the types are the supervisor's. */
#ifndef MOLT_SUPERVISOR_SUP_SPEC_H
#define MOLT_SUPERVISOR_SUP_SPEC_H

#include <stddef.h>
#include <stdint.h>

typedef enum { MOLT_ONE_FOR_ONE, MOLT_ONE_FOR_ALL, MOLT_REST_FOR_ONE } molt_strategy_t;
typedef enum { MOLT_PERMANENT, MOLT_TRANSIENT, MOLT_TEMPORARY } molt_restart_t;

struct molt_sup_spec;

/* One child of a supervisor: either a worker (module != NULL) or a nested
 * supervisor (sup != NULL). count > 1 starts that many identical workers,
 * ids "<id>.0", "<id>.1", ... */
typedef struct molt_child_spec {
  char* id;
  char* module;
  char* args_json;           /* the "args" object as compact JSON, "{}" if absent */
  molt_restart_t restart;    /* default permanent */
  uint32_t shutdown_ms;      /* default 5000 */
  uint32_t count;            /* default 1 */
  struct molt_sup_spec* sup;
} molt_child_spec_t;

typedef struct molt_sup_spec {
  char* name;                /* registered name, may be NULL */
  molt_strategy_t strategy;  /* default one_for_one */
  uint32_t intensity;        /* max restarts ... default 3 */
  uint32_t period_ms;        /* ... within this period, default 5000 */
  size_t nchildren;
  molt_child_spec_t* children;
} molt_sup_spec_t;


/* A deep copy (molt__alloc), or NULL when out of memory. */
molt_sup_spec_t* molt__sup_spec_copy(const molt_sup_spec_t* from);
/* Free a copy; NULL is fine. */
void molt__sup_spec_free(molt_sup_spec_t* s);

/* The longest shutdown_ms the tree under s gives a worker running module
 * (NULL: any worker), or -1 if it has none. */
int64_t molt__sup_spec_longest_shutdown(const molt_sup_spec_t* s, const char* module);

#endif
