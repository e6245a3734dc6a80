/* observer_api.h: the observer page (HTML, CSS and JavaScript compiled
 * into molt) and the JSON it polls, which is what the molt command's
 * --json prints for the same command. */
#ifndef MOLT_CONTAINER_OBSERVER_API_H
#define MOLT_CONTAINER_OBSERVER_API_H

#include <stdbool.h>

#include "commands.h"
#include "http_server.h"

/* Fill r and return true if path is the page's or its API's; else false. */
bool molt__observer_route(molt_container_state_t* st, const char* path, molt_http_reply_t* r);

#endif
