/* observer_api.c: the observer page's routes. */
#include "observer_api.h"

bool molt__observer_route(molt_container_state_t* st, const char* path, molt_http_reply_t* r) {
  (void)st;
  (void)path;
  (void)r;
  return false;
}
