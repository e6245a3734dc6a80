/* args.h: the arguments handed to init, private side. */
#ifndef MOLT_ACTOR_ARGS_H
#define MOLT_ACTOR_ARGS_H

#include <cjson/cJSON.h>

#include "molt/module.h"

struct molt_args {
  const char* json;  /* borrowed for the length of init */
  void* internal;    /* builtin modules only (the supervisor's spec) */
  cJSON* tree;       /* parsed on first use, deleted by close */
  int parsed;
};

void molt__args_init(molt_args_t* a, const char* json, void* internal);
void molt__args_close(molt_args_t* a);
void* molt__args_internal(const molt_args_t* a);

#endif
