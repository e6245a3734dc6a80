/* cli_trace.c: `molt trace`: starts a trace session in the container,
 * polls it every POLL_MS for the events since the last poll (the control
 * protocol is request and reply, it has no stream), prints them one a
 * line, and stops the session on Ctrl-C, --max or --duration. A client
 * killed without stopping leaves nothing on: the container ends a session
 * nobody read for 5 s by itself. */
#include "cli_trace.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "control.h"
#include "json_get.h"
#include "molt/errno.h"

#define POLL_MS 100
#define CALL_TIMEOUT_MS 5000
/* trace_start waits for the actor's turn (1 s) or each scheduler's (0.5 s). */
#define START_TIMEOUT_MS 30000

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
  (void)sig;
  interrupted = 1;
}

/* Without SA_RESTART: Ctrl-C ends the sleep between two polls at once. */
static void catch_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

static int report(const cli_opts_t* o, int rc, const char* err) {
  const char* msg = *err ? err : molt_strerror(rc);
  if (o->json) {
    cJSON* e = cJSON_CreateObject();
    cJSON_AddBoolToObject(e, "ok", false);
    cJSON_AddStringToObject(e, "error", molt_err_name(rc));
    cJSON_AddStringToObject(e, "message", msg);
    char* s = cJSON_PrintUnformatted(e);
    fprintf(stderr, "%s\n", s);
    cJSON_free(s);
    cJSON_Delete(e);
  } else {
    fprintf(stderr, "molt trace: %s\n", msg);
  }
  return 1;
}


/* 2026-12-07T18:40:01.123456Z */
static void format_time(double ts_us, char* buf, size_t len) {
  unsigned long long us = (unsigned long long)ts_us;
  time_t secs = (time_t)(us / 1000000u);
  struct tm tm;
  gmtime_r(&secs, &tm);
  size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, len - n, ".%06lluZ", us % 1000000u);
}

/* What happened, after the time and the actor (doc/molt.1.scd lists every
 * form). */
static void print_what(const cJSON* e) {
  const char* ev = json_str(e, "event", "?");
  const char* peer = json_str(e, "peer", "-");
  if (strcmp(ev, "recv") == 0) {
    const char* kind = json_str(e, "msg", "user");
    if (strcmp(kind, "exit") == 0 || strcmp(kind, "down") == 0)
      printf("recv %s from %s reason %s", kind, peer, json_str(e, "reason", "?"));
    else
      printf("recv%s%s from %s tag %.0f size %.0f", strcmp(kind, "user") ? " " : "", strcmp(kind, "user") ? kind : "",
             peer, json_num(e, "tag"), json_num(e, "size"));
  } else if (strcmp(ev, "sent") == 0) {
    printf("sent to %s tag %.0f size %.0f", peer, json_num(e, "tag"), json_num(e, "size"));
  } else if (strcmp(ev, "spawn") == 0) {
    printf("spawn %s %s", peer, json_str(e, "peer_module", "?"));
  } else if (strcmp(ev, "spawned") == 0) {
    printf("spawned by %s", json_str(e, "peer", "the runtime"));
  } else if (strcmp(ev, "exit") == 0) {
    printf("exit %s", json_str(e, "reason", "?"));
  } else if (strcmp(ev, "code_change") == 0) {
    printf("code_change %s -> %s", json_str(e, "from", "?"), json_str(e, "to", "?"));
  } else if (strcmp(ev, "exit_signal") == 0) {
    printf("exit_signal from %s reason %s", peer, json_str(e, "reason", "?"));
  } else if (strcmp(ev, "link") == 0) {
    printf("link to %s", peer);
  } else if (strcmp(ev, "linked") == 0 || strcmp(ev, "unlinked") == 0 || strcmp(ev, "monitored") == 0 ||
             strcmp(ev, "demonitored") == 0) {
    printf("%s by %s", ev, peer);
  } else {
    printf("%s %s", ev, peer); /* unlink, monitor, demonitor */
  }
}

static void print_event(const cli_opts_t* o, const cJSON* e) {
  if (o->json) {
    char* s = cJSON_PrintUnformatted(e);
    printf("%s\n", s);
    cJSON_free(s);
    return;
  }
  char when[48];
  format_time(json_num(e, "ts_us"), when, sizeof(when));
  printf("%s %s %s", when, json_str(e, "pid", "?"), json_str(e, "module", "?"));
  const char* name = json_str(e, "name", NULL);
  if (name) printf(" \"%s\"", name);
  putchar(' ');
  print_what(e);
  putchar('\n');
}

static void print_dropped(const cli_opts_t* o, double dropped, long rate) {
  if (o->json) {
    printf("{\"dropped\":%.0f}\n", dropped);
  } else {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[48];
    format_time((double)ts.tv_sec * 1e6 + (double)(ts.tv_nsec / 1000), when, sizeof(when));
    printf("%s dropped %.0f events (over %ld/s, --rate)\n", when, dropped, rate);
  }
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL); /* a signal cuts it short: we look at the flag next */
}

typedef struct {
  long printed;
  double dropped;
  bool done; /* --max reached, or the container said so */
} tally_t;

/* One poll: print what came; 0, or the failure. */
static int poll_once(const cli_opts_t* o, cJSON* id_args, long rate, tally_t* t, bool* more) {
  cJSON* r = NULL;
  char err[1024] = "";
  int rc = molt__control_call(o->home, "trace_read", id_args, CALL_TIMEOUT_MS, &r, err, sizeof(err));
  if (rc) return report(o, rc, err);
  const cJSON* e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "events")) {
    if (o->max_events && t->printed >= o->max_events) break;
    print_event(o, e);
    t->printed++;
  }
  double dropped = json_num(r, "dropped");
  if (dropped > 0) {
    print_dropped(o, dropped, rate);
    t->dropped += dropped;
  }
  fflush(stdout);
  *more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "more"));
  t->done = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "done")) ||
            (o->max_events && t->printed >= o->max_events);
  cJSON_Delete(r);
  return 0;
}

static int start(const cli_opts_t* o, long rate, double* id) {
  if ((o->npos == 1) == (o->module != NULL)) {
    fprintf(stderr, "molt trace: give an actor (PID or NAME) or --module NAME, not %s (see molt trace --help)\n",
            o->npos ? "both" : "neither");
    return 2;
  }
  cJSON* args = cJSON_CreateObject();
  if (o->module)
    cJSON_AddStringToObject(args, "module", o->module);
  else
    cJSON_AddStringToObject(args, "actor", o->pos[0]);
  cJSON_AddNumberToObject(args, "rate", (double)rate);
  if (o->max_events) cJSON_AddNumberToObject(args, "max", (double)o->max_events);
  cJSON* r = NULL;
  char err[1024] = "";
  int rc = molt__control_call(o->home, "trace_start", args, START_TIMEOUT_MS, &r, err, sizeof(err));
  cJSON_Delete(args);
  /* As every verb says it: where it looked and what chose that home. */
  if (rc == MOLT_ENOTRUNNING && (!*err || strncmp(err, "no container is running", 23) == 0))
    cli_not_running(o, err, sizeof(err));
  if (rc) return report(o, rc, err);
  *id = json_num(r, "id");
  if (!o->json) {
    fprintf(stderr, "molt trace: tracing %s%s, at most %ld events/s; Ctrl-C stops\n", o->module ? "module " : "",
            o->module ? o->module : json_str(r, "pid", "?"), rate);
    if (json_num(r, "busy_schedulers") > 0)
      fprintf(stderr, "molt trace: %.0f scheduler(s) busy in one handler: their actors are not traced\n",
              json_num(r, "busy_schedulers"));
  }
  cJSON_Delete(r);
  return 0;
}

int cli_trace(const cli_opts_t* o) {
  long rate = o->rate ? o->rate : 500;
  double id;
  int rc = start(o, rate, &id);
  if (rc) return rc;
  catch_signals();
  cJSON* id_args = cJSON_CreateObject();
  cJSON_AddNumberToObject(id_args, "id", id);
  uint64_t deadline = o->duration_ms ? molt__now_ns() + (uint64_t)o->duration_ms * 1000000u : 0;
  tally_t t = {0, 0, false};
  while (!interrupted && !t.done && (!deadline || molt__now_ns() < deadline)) {
    bool more = false;
    if (poll_once(o, id_args, rate, &t, &more) != 0) {
      rc = interrupted ? 0 : 1; /* Ctrl-C during a poll: not a failure */
      break;
    }
    if (!more && !t.done) sleep_ms(POLL_MS);
  }
  /* The last events, unless a poll just failed. */
  bool more = false;
  if (rc == 0 && !t.done) poll_once(o, id_args, rate, &t, &more);
  molt__control_call(o->home, "trace_stop", id_args, CALL_TIMEOUT_MS, NULL, NULL, 0);
  cJSON_Delete(id_args);
  if (o->json)
    printf("{\"events\":%ld,\"dropped\":%.0f}\n", t.printed, t.dropped);
  else
    fprintf(stderr, "molt trace: %ld events, %.0f dropped\n", t.printed, t.dropped);
  return rc;
}
