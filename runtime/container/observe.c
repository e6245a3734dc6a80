/* observe.c: which paths each listener serves, and its start and stop.
 * /metrics on the metrics listener; /, /observer.css, /observer.js and
 * /api/... on the observer's (observer_api.c). */
#include "observe.h"

#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"
#include "metrics_text.h"
#include "observer_api.h"

enum { SERVE_METRICS = 1, SERVE_OBSERVER = 2 };

typedef struct listener {
  molt_observe_t* owner;
  molt_http_server_t* http;
  unsigned serves;
  const char* option;
} listener_t;

struct molt_observe {
  molt_container_state_t* st;
  listener_t l[2];
};

static void handle(const char* path, molt_http_reply_t* r, void* data) {
  listener_t* l = data;
  if ((l->serves & SERVE_METRICS) && strcmp(path, "/metrics") == 0) {
    r->body = molt__metrics_collect(l->owner->st, &r->len);
    r->status = r->body ? 200 : 500;
    r->type = MOLT_METRICS_CONTENT_TYPE;
    return;
  }
  if ((l->serves & SERVE_OBSERVER) && molt__observer_route(l->owner->st, path, r)) return;
  r->status = 404;
  r->body = strdup("Not Found\n");
  r->len = r->body ? strlen(r->body) : 0;
}

static int start_one(listener_t* l, const char* option, const char* addr, char* err, size_t errlen) {
  char why[256];
  l->option = option;
  int rc = molt__http_start(addr, handle, l, &l->http, why, sizeof why);
  if (rc == MOLT_EINVAL) return molt__errmsg_set(err, errlen, rc, "%s: expected ADDR:PORT, got \"%s\"", option, addr);
  if (rc) return molt__errmsg_set(err, errlen, rc, "%s %s: %s", option, addr, molt_strerror(rc));
  return 0;
}

int molt__observe_start(molt_container_state_t* st, const char* metrics_addr, const char* observer_addr,
                        molt_observe_t** out, char* err, size_t errlen) {
  *out = NULL;
  if (!metrics_addr && !observer_addr) return 0;
  molt_observe_t* o = calloc(1, sizeof *o);
  if (!o) return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  o->st = st;
  o->l[0].owner = o->l[1].owner = o;
  int rc = 0;
  bool shared = metrics_addr && observer_addr && strcmp(metrics_addr, observer_addr) == 0;
  if (metrics_addr) {
    o->l[0].serves = SERVE_METRICS | (shared ? SERVE_OBSERVER : 0);
    rc = start_one(&o->l[0], "--metrics", metrics_addr, err, errlen);
  }
  if (rc == 0 && observer_addr && !shared) {
    o->l[1].serves = SERVE_OBSERVER;
    rc = start_one(&o->l[1], "--observer", observer_addr, err, errlen);
  }
  if (rc) {
    molt__observe_stop(o);
    return rc;
  }
  *out = o;
  return 0;
}

void molt__observe_announce(const molt_observe_t* o) {
  for (int i = 0; o && i < 2; i++) {
    const listener_t* l = &o->l[i];
    if (!l->http) continue;
    unsigned port = molt__http_port(l->http);
    if (l->serves & SERVE_METRICS) molt__log("metrics on port %u: GET /metrics", port);
    if (l->serves & SERVE_OBSERVER) molt__log("observer page on port %u: GET /", port);
  }
}

void molt__observe_stop(molt_observe_t* o) {
  if (!o) return;
  for (int i = 0; i < 2; i++) molt__http_stop(o->l[i].http);
  free(o);
}
