/* top.c: see top.h. Each second it asks the container for a sample (one
 * request; the container walks its table once, tools never get a copy of
 * it) and redraws the screen with ANSI escapes. Message rates are the
 * difference between two samples: per module always, per actor for the
 * actors in both. The terminal is in raw mode (no echo, no line
 * buffering) so that q quits at once; it is restored on every way out,
 * SIGINT and SIGTERM included (they only end the loop). */
#include "top.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "json_get.h"
#include "molt/errno.h"
#include "vitals_text.h"

#define SAMPLE_TIMEOUT_MS 10000
#define REFRESH_MS 1000
#define MAX_PREV 4096

static volatile sig_atomic_t quit_signal;

static void on_signal(int sig) { quit_signal = sig; }


static const cJSON* item(const cJSON* o, const char* key) { return cJSON_GetObjectItemCaseSensitive(o, key); }

static int sample(const cli_opts_t* o, long limit, cJSON** r) {
  char err[1024] = "";
  cJSON* args = cJSON_CreateObject();
  cJSON_AddNumberToObject(args, "limit", (double)limit);
  int rc = molt__control_call(o->home, "top", args, SAMPLE_TIMEOUT_MS, r, err, sizeof(err));
  cJSON_Delete(args);
  if (rc == 0) return 0;
  if (rc == MOLT_ENOTRUNNING && strncmp(err, "no container is running", 23) == 0)
    cli_not_running(o, err, sizeof(err));
  if (o->json)
    fprintf(stderr, "{\"ok\":false,\"error\":\"%s\",\"message\":\"%s\"}\n", molt_err_name(rc), *err ? err : molt_strerror(rc));
  else
    fprintf(stderr, "molt top: %s\n", *err ? err : molt_strerror(rc));
  return 1;
}

/* What the previous sample said, for rates. */
typedef struct {
  double time_ms;
  double messages;
  struct {
    char key[80];
    double messages, busy_ms;
  } v[MAX_PREV];
  int n;
} prev_t;

static double prev_of(const prev_t* p, const char* key, bool busy) {
  for (int i = 0; i < p->n; i++)
    if (strcmp(p->v[i].key, key) == 0) return busy ? p->v[i].busy_ms : p->v[i].messages;
  return -1;
}

static void remember(prev_t* p, const char* key, double messages, double busy_ms) {
  if (p->n == MAX_PREV) return;
  snprintf(p->v[p->n].key, sizeof(p->v[p->n].key), "%s", key);
  p->v[p->n].messages = messages;
  p->v[p->n++].busy_ms = busy_ms;
}

static double rate(const prev_t* p, const char* key, double now, double dt_s, bool busy) {
  double was = prev_of(p, key, busy);
  return was < 0 || dt_s <= 0 ? -1 : (now - was) / dt_s;
}

static void print_rate(FILE* f, double r) {
  if (r < 0)
    fprintf(f, "%9s", "-");
  else
    fprintf(f, "%9.0f", r);
}

static void draw(FILE* f, const cJSON* r, const prev_t* p, const char* eol) {
  double dt = p->time_ms ? (json_num(r, "time_ms") - p->time_ms) / 1000 : 0;
  double total_rate = dt > 0 ? (json_num(r, "messages") - p->messages) / dt : -1;
  fprintf(f, "molt top: %.0f actors, ", json_num(r, "actors"));
  if (total_rate >= 0)
    fprintf(f, "%.0f msgs/s", total_rate);
  else
    fprintf(f, "- msgs/s");
  fprintf(f, ", sample %.1f ms%s%s", json_num(r, "scan_ms"), eol, eol);

  fprintf(f, "SCHED   UTIL  RUNQ  %s", eol);
  const cJSON* s;
  cJSON_ArrayForEach(s, item(r, "schedulers")) {
    char key[32];
    snprintf(key, sizeof(key), "sched %.0f", json_num(s, "id"));
    /* Over the interval between our samples when we have two; else the
     * container's last second. */
    double busy = rate(p, key, json_num(s, "busy_ms"), dt, true);
    double util = busy >= 0 ? busy / 1000 : json_num(s, "utilisation");
    if (util > 1) util = 1;
    fprintf(f, "%5.0f %5.1f%% %5.0f%s", json_num(s, "id"), util * 100, json_num(s, "run_queue"), eol);
  }

  const cJSON* alarms = item(r, "alarms");
  fprintf(f, "%sALARMS (%d)%s", eol, cJSON_GetArraySize(alarms), eol);
  const cJSON* a;
  cJSON_ArrayForEach(a, alarms) {
    fputs("  ", f);
    vt_alarm_line(f, a);
  }

  fprintf(f, "%s%-16s %8s %9s %9s %9s %8s %8s%s", eol, "MODULE", "ACTORS", "MSG/S", "MAILBOX", "MAX_MBOX", "MEMORY",
          "TIME", eol);
  const cJSON* m;
  cJSON_ArrayForEach(m, item(r, "modules")) {
    char mem[16], time[16], key[80];
    snprintf(key, sizeof(key), "module %s", json_str(m, "module", "?"));
    fprintf(f, "%-16s %8.0f ", json_str(m, "module", "?"), json_num(m, "actors"));
    print_rate(f, rate(p, key, json_num(m, "messages"), dt, false));
    fprintf(f, " %9.0f %9.0f %8s %8s%s", json_num(m, "mailbox"), json_num(m, "max_mailbox"),
            vt_bytes(json_num(m, "memory"), mem, sizeof(mem)), vt_ms(json_num(m, "time_ms"), time, sizeof(time)), eol);
  }

  static const char* const keys[] = {"mailbox", "memory", "time", "messages"};
  static const char* const titles[] = {"LONGEST MAILBOXES", "MOST MEMORY", "MOST CALLBACK TIME",
                                       "MOST MESSAGES (rate over the last interval)"};
  const cJSON* tops = item(r, "top");
  for (int k = 0; k < 4; k++) {
    fprintf(f, "%s%s%s%-12s %-14s %9s %9s %8s %8s  %s%s", eol, titles[k], eol, "PID", "MODULE", "MAILBOX", "MSG/S",
            "MEMORY", "TIME", "CALLBACK", eol);
    cJSON_ArrayForEach(a, item(tops, keys[k])) {
      char mem[16], time[16], cb[48] = "-", since[16], key[64];
      snprintf(key, sizeof(key), "actor %s", json_str(a, "pid", "?"));
      if (json_str(a, "callback", NULL))
        snprintf(cb, sizeof(cb), "%s %s", json_str(a, "callback", ""), vt_ms(json_num(a, "callback_ms"), since, sizeof(since)));
      fprintf(f, "%-12s %-14s %9.0f ", json_str(a, "pid", "?"), json_str(a, "module", "?"), json_num(a, "mailbox"));
      print_rate(f, rate(p, key, json_num(a, "messages"), dt, false));
      fprintf(f, " %8s %8s  %s%s", vt_bytes(json_num(a, "memory"), mem, sizeof(mem)),
              vt_ms(json_num(a, "time_ms"), time, sizeof(time)), cb, eol);
    }
  }
}

static void keep(prev_t* p, const cJSON* r) {
  p->n = 0;
  p->time_ms = json_num(r, "time_ms");
  p->messages = json_num(r, "messages");
  const cJSON* x;
  cJSON_ArrayForEach(x, item(r, "schedulers")) {
    char key[32];
    snprintf(key, sizeof(key), "sched %.0f", json_num(x, "id"));
    remember(p, key, 0, json_num(x, "busy_ms"));
  }
  cJSON_ArrayForEach(x, item(r, "modules")) {
    char key[80];
    snprintf(key, sizeof(key), "module %s", json_str(x, "module", "?"));
    remember(p, key, json_num(x, "messages"), 0);
  }
  const cJSON* list;
  cJSON_ArrayForEach(list, item(r, "top")) cJSON_ArrayForEach(x, list) {
    char key[64];
    snprintf(key, sizeof(key), "actor %s", json_str(x, "pid", "?"));
    if (prev_of(p, key, false) < 0) remember(p, key, json_num(x, "messages"), 0);
  }
}

static struct termios saved;

static void restore_terminal(void) {
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  fputs("\033[?25h", stdout); /* the cursor back */
  fflush(stdout);
}

static int raw_terminal(void) {
  if (tcgetattr(STDIN_FILENO, &saved) != 0) return -1;
  struct termios raw = saved;
  raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
  raw.c_cc[VMIN] = 0;
  raw.c_cc[VTIME] = 0;
  if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) != 0) return -1;
  fputs("\033[?25l", stdout); /* no cursor while drawing */
  return 0;
}

/* Wait up to ms for a key: true if it was q (or a signal came). */
static bool quit_within(int ms) {
  struct pollfd pf = {.fd = STDIN_FILENO, .events = POLLIN};
  int n = poll(&pf, 1, ms);
  if (quit_signal) return true;
  if (n <= 0) return false;
  char c;
  while (read(STDIN_FILENO, &c, 1) == 1)
    if (c == 'q' || c == 'Q' || c == 3 /* ^C */) return true;
  return false;
}

static int interactive(const cli_opts_t* o, long limit, prev_t* p) {
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
    fprintf(stderr, "molt top: needs a terminal; for scripts use --once (with --json)\n");
    return 1;
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  if (raw_terminal() != 0) {
    fprintf(stderr, "molt top: cannot set the terminal: %s\n", strerror(errno));
    return 1;
  }
  int rc = 0;
  while (!quit_signal) {
    cJSON* r = NULL;
    if (sample(o, limit, &r)) {
      rc = 1;
      break;
    }
    fputs("\033[H\033[2J", stdout);
    draw(stdout, r, p, "\n");
    fputs("\nq quits\n", stdout);
    fflush(stdout);
    keep(p, r);
    cJSON_Delete(r);
    if (quit_within(REFRESH_MS)) break;
  }
  restore_terminal();
  return rc;
}

int molt_top(const cli_opts_t* o) {
  static prev_t prev; /* large: not on the stack */
  bool once = o->once || o->json;
  long limit = o->limit ? o->limit : (once ? 10 : 5);
  if (limit < 1 || limit > 1000) {
    fprintf(stderr, "molt top: --limit: expected 1..1000, found %ld\n", limit);
    return 2;
  }
  if (!once) return interactive(o, limit, &prev);
  cJSON* r = NULL;
  if (sample(o, limit, &r)) return 1;
  if (o->json) {
    char* s = cJSON_Print(r);
    printf("%s\n", s);
    cJSON_free(s);
  } else {
    draw(stdout, r, &prev, "\n");
  }
  cJSON_Delete(r);
  return 0;
}
