/* molt.c: the molt command: `molt run` hosts a container in this process;
 * every other verb is a client of a running container's control socket,
 * and `releases` and `remove` read the home itself when none serves it.
 * Each verb takes only its own options (cli_verbs.c), and fails with one
 * line on stderr and a non-zero exit status: 2 for a bad command line,
 * refused before anything is sent, 1 for anything else. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "cli_args.h"
#include "cli_trace.h"
#include "container.h"
#include "control.h"
#include "heart.h"
#include "json_get.h"
#include "log.h"
#include "molt/errno.h"
#include "molt/version.h"
#include "new_module.h"
#include "offline.h"
#include "module_probe.h"
#include "proc_exit.h"
#include "runtime.h"
#include "top.h"
#include "vitals_text.h"

#define CALL_TIMEOUT_MS 30000
/* The container's own stop is bounded by a job still running (30 s), the
 * release tree (10 s) and stray actors (5 s): wait past all of them. */
#define STOP_WAIT_MS 60000

typedef cli_opts_t opts_t;

/* The command line as given, for molt run --heart's child. */
static int main_argc;
static char** main_argv;

static int fail(const char* fmt, const char* a, const char* b) {
  fprintf(stderr, "molt: ");
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr);
  return 1;
}

static bool is_dir(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The client's own "nothing listens" (a container's reply may carry the
 * same code for its runtime): say where we looked and why there. The
 * commands offline.c answers are then answered from the home itself; a
 * home that is not there has nothing to answer from, and is not made. */
static int call_offline(const opts_t* o, const char* cmd, const cJSON* args, cJSON** result, char* err,
                        size_t errlen) {
  cli_not_running(o, err, errlen);
  if (!offline_serves(cmd)) return MOLT_ENOTRUNNING;
  if (!is_dir(o->home)) {
    size_t n = strlen(err);
    snprintf(err + n, errlen - n, ", and there is no home there");
    return MOLT_ENOTRUNNING;
  }
  return offline_call(o->home, cmd, args, result, err, errlen);
}

/* One request (args may be NULL; consumed); on failure prints the one-line
 * reason (JSON with --json), as verb's. */
static int call_within(const opts_t* o, const char* verb, const char* cmd, cJSON* args, uint32_t timeout_ms,
                       cJSON** result) {
  char err[1024] = "";
  int rc = molt__control_call(o->home, cmd, args, timeout_ms, result, err, sizeof(err));
  if (rc == MOLT_ENOTRUNNING && strncmp(err, "no container is running", 23) == 0)
    rc = call_offline(o, cmd, args, result, err, sizeof(err));
  cJSON_Delete(args);
  if (rc == 0) return 0;
  if (o->json) {
    cJSON* e = cJSON_CreateObject();
    cJSON_AddBoolToObject(e, "ok", false);
    cJSON_AddStringToObject(e, "error", molt_err_name(rc));
    cJSON_AddStringToObject(e, "message", *err ? err : molt_strerror(rc));
    char* s = cJSON_PrintUnformatted(e);
    fprintf(stderr, "%s\n", s);
    cJSON_free(s);
    cJSON_Delete(e);
  } else {
    fprintf(stderr, "molt %s: %s\n", verb, *err ? err : molt_strerror(rc));
  }
  return 1;
}

static int call_as(const opts_t* o, const char* verb, const char* cmd, cJSON* args, cJSON** result) {
  return call_within(o, verb, cmd, args, CALL_TIMEOUT_MS, result);
}

static int call_args(const opts_t* o, const char* cmd, cJSON* args, cJSON** result) {
  return call_as(o, cmd, cmd, args, result);
}

static int call(const opts_t* o, const char* cmd, cJSON** result) { return call_args(o, cmd, NULL, result); }

static void print_json(const cJSON* v) {
  char* s = cJSON_Print(v);
  printf("%s\n", s);
  cJSON_free(s);
}


/* One entry of a "drift" array: "blob runs 1.0.0 (rev 3), release 2.0.0
 * has 2.0.0". */
static const char* drift_text(const cJSON* d, const char* release, char* buf, size_t len) {
  char runs[192] = "nothing";
  if (json_str(d, "running", NULL))
    snprintf(runs, sizeof(runs), "%s (rev %.0f)", json_str(d, "running", ""), json_num(d, "revision"));
  if (json_str(d, "release", NULL))
    snprintf(buf, len, "%s runs %s, release %s has %s", json_str(d, "module", "?"), runs, release, json_str(d, "release", ""));
  else
    snprintf(buf, len, "%s runs %s, release %s does not list it", json_str(d, "module", "?"), runs, release);
  return buf;
}

static void print_status(const cJSON* r) {
  const cJSON* rel = cJSON_GetObjectItemCaseSensitive(r, "release");
  printf("release     %s %s\n", json_str(rel, "name", "?"), json_str(rel, "version", "?"));
  const cJSON* d;
  char line[512];
  cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(r, "drift"))
    printf("drift       %s\n", drift_text(d, json_str(rel, "version", "?"), line, sizeof(line)));
  printf("home        %s (pid %.0f)\n", json_str(r, "home", "?"), json_num(r, "os_pid"));
  printf("uptime      %.1f s\n", json_num(r, "uptime_ms") / 1000.0);
  printf("schedulers  %.0f\n", json_num(r, "schedulers"));
  printf("actors      %.0f\n", json_num(r, "actors"));
  const cJSON* s;
  cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(r, "scheduler_load"))
    printf("  sched %-3.0f %5.1f%% busy, run queue %.0f\n", json_num(s, "id"), json_num(s, "utilisation") * 100,
           json_num(s, "run_queue"));
  const cJSON* alarms = cJSON_GetObjectItemCaseSensitive(r, "alarms");
  printf("alarms      %d\n", cJSON_GetArraySize(alarms));
  const cJSON* al;
  cJSON_ArrayForEach(al, alarms) {
    fputs("  ", stdout);
    vt_alarm_line(stdout, al);
  }
  const cJSON* crash = cJSON_GetObjectItemCaseSensitive(r, "last_crash");
  if (crash) /* until a release is committed (README, Crash reports) */
    printf("last crash  %s; report: %s\n", json_str(crash, "summary", "?"), json_str(crash, "path", "?"));
  printf("modules\n");
  const cJSON* m;
  cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(r, "modules")) {
    char cur[192] = "-", old[192] = "-";
    if (json_str(m, "current", NULL))
      snprintf(cur, sizeof(cur), "%s (rev %.0f, %.0f actors)", json_str(m, "current_label", json_str(m, "current", "")),
               json_num(m, "current_revision"),
               json_num(m, "current_actors"));
    if (json_str(m, "old", NULL))
      snprintf(old, sizeof(old), "%s (rev %.0f, %.0f actors)", json_str(m, "old_label", json_str(m, "old", "")),
               json_num(m, "old_revision"),
               json_num(m, "old_actors"));
    printf("  %-12s current %-32s old %s\n", json_str(m, "name", "?"), cur, old);
  }
}

static int cmd_status(const opts_t* o) {
  cJSON* r = NULL;
  if (call(o, "status", &r)) return 1;
  if (o->json)
    print_json(r);
  else
    print_status(r);
  cJSON_Delete(r);
  return 0;
}

/* The stop reply leaves before the container has exited. Its pid, read
 * from a status reply and watched before the stop request is sent (so a
 * reused pid cannot be mistaken for it), tells when it is gone. */
static int cmd_stop(const opts_t* o) {
  cJSON* r = NULL;
  if (call_as(o, "stop", "status", NULL, &r)) return 1;
  pid_t pid = (pid_t)json_num(r, "os_pid");
  cJSON_Delete(r);
  if (pid <= 0) return fail("stop: the container's status names no os_pid to wait for%s%s", "", "");
  proc_exit_t w;
  proc_exit_watch(&w, pid);
  if (call(o, "stop", &r)) {
    proc_exit_close(&w);
    return 1;
  }
  pid_t replied = (pid_t)json_num(r, "os_pid");
  if (replied > 0 && replied != pid) { /* another container took the home in between */
    proc_exit_close(&w);
    proc_exit_watch(&w, pid = replied);
  }
  cJSON_Delete(r);
  int rc = proc_exit_wait(&w, STOP_WAIT_MS);
  proc_exit_close(&w);
  if (rc) {
    char* home = cli_absolute(o->home);
    fprintf(stderr, "molt stop: the container in %s (pid %d) has not exited %d s after it was asked to stop\n",
            home ? home : o->home, (int)pid, STOP_WAIT_MS / 1000);
    molt__free(home);
    return 1;
  }
  if (o->json)
    printf("{\"stopped\":true,\"os_pid\":%d}\n", (int)pid);
  else
    printf("stopped\n");
  return 0;
}

static int cmd_load(const opts_t* o) {
  char* file = molt__abspath(o->pos[0]); /* the container's cwd is not ours */
  if (!file) return fail("load: %s: %s", o->pos[0], strerror(errno));
  cJSON* args = cJSON_CreateObject();
  cJSON_AddStringToObject(args, "file", file);
  free(file);
  if (o->extra) cJSON_AddStringToObject(args, "extra", o->extra);
  if (o->down) cJSON_AddBoolToObject(args, "down", true);
  if (o->no_rehearsal) cJSON_AddBoolToObject(args, "rehearse", false);
  cJSON* r = NULL;
  if (call_args(o, "load", args, &r)) return 1;
  if (o->json) {
    print_json(r);
  } else {
    const char* from = json_str(r, "from", NULL);
    char was[192] = "new module";
    if (from) snprintf(was, sizeof(was), "%s (rev %.0f)", json_str(r, "from_label", from), json_num(r, "from_revision"));
    printf("%s %s -> %s (rev %.0f): %s%s, %.0f actors, pause %.2f ms, total %.2f ms\n", json_str(r, "module", "?"), was,
           json_str(r, "to_label", json_str(r, "to", "?")), json_num(r, "revision"), json_str(r, "mode", "?"),
           strcmp(json_str(r, "direction", "up"), "down") == 0 && strcmp(json_str(r, "mode", ""), "code_change") == 0 ? " down"
                                                                                                           : "",
           json_num(r, "actors"), json_num(r, "pause_ms"), json_num(r, "total_ms"));
  }
  cJSON_Delete(r);
  return 0;
}

static int cmd_purge(const opts_t* o) {
  if (o->hard && o->unload) {
    fprintf(stderr, "molt purge: --unload never kills actors; --hard and --unload go separately\n");
    return 2;
  }
  cJSON* args = cJSON_CreateObject();
  cJSON_AddStringToObject(args, "module", o->pos[0]);
  cJSON_AddBoolToObject(args, "hard", o->hard);
  cJSON_AddBoolToObject(args, "unload", o->unload);
  cJSON* r = NULL;
  if (call_args(o, "purge", args, &r)) return 1;
  if (o->json)
    print_json(r);
  else if (o->unload)
    printf("%s: unloaded %s%s%s\n", o->pos[0], json_str(r, "unloaded", "nothing current"),
           json_str(r, "purged", NULL) ? " and old " : "", json_str(r, "purged", ""));
  else if (json_str(r, "purged", NULL))
    printf("%s: purged %s\n", o->pos[0], json_str(r, "purged", ""));
  else
    printf("%s: no old version to purge\n", o->pos[0]);
  cJSON_Delete(r);
  return 0;
}

static int cmd_ps(const opts_t* o) {
  cJSON* args = cJSON_CreateObject();
  if (o->module) cJSON_AddStringToObject(args, "module", o->module);
  if (o->limit) cJSON_AddNumberToObject(args, "limit", (double)o->limit);
  if (o->sort) cJSON_AddStringToObject(args, "sort", o->sort);
  cJSON* r = NULL;
  if (call_args(o, "ps", args, &r)) return 1;
  if (o->json) {
    print_json(r);
  } else {
    vt_actor_header(stdout);
    const cJSON* a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(r, "actors")) vt_actor_line(stdout, a);
    int shown = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "actors"));
    if (json_num(r, "total") > shown) printf("... %d of %.0f shown (--limit N)\n", shown, json_num(r, "total"));
  }
  cJSON_Delete(r);
  return 0;
}

/* Each line of text indented by two spaces. In cJSON_Print's JSON a tab
 * is only layout (one inside a string is escaped): a leading one becomes
 * two spaces, any other one. */
static void print_indented(const char* text, bool json) {
  bool bol = true;
  fputs("  ", stdout);
  for (const char* p = text; *p; p++) {
    if (*p == '\t' && json)
      fputs(bol ? "  " : " ", stdout);
    else
      putchar(*p);
    if (*p != '\t') bol = *p == '\n';
    if (*p == '\n' && p[1]) fputs("  ", stdout);
  }
  if (*text && text[strlen(text) - 1] != '\n') putchar('\n');
}

/* One actor, a field a line; its state as its module's format_state gave
 * it: JSON indented, other text as is, "-" for none. */
static void print_actor(const cJSON* r) {
  const cJSON* name = cJSON_GetObjectItemCaseSensitive(r, "name");
  printf("pid:        %s\n", json_str(r, "pid", "?"));
  printf("name:       %s\n", cJSON_IsString(name) ? name->valuestring : "-");
  printf("module:     %s %s (rev %.0f)\n", json_str(r, "module", "?"), json_str(r, "label", json_str(r, "vsn", "?")),
         json_num(r, "revision"));
  printf("status:     %s\n", json_str(r, "status", "?"));
  printf("scheduler:  %.0f\n", json_num(r, "scheduler"));
  printf("messages:   %.0f\n", json_num(r, "messages"));
  char b[16], t[16];
  printf("mailbox:    %.0f\n", json_num(r, "mailbox"));
  printf("memory:     %s\n", vt_bytes(json_num(r, "memory"), b, sizeof(b)));
  printf("time:       %s\n", vt_ms(json_num(r, "time_ms"), t, sizeof(t)));
  if (json_str(r, "callback", NULL))
    printf("callback:   %s, for %s\n", json_str(r, "callback", ""), vt_ms(json_num(r, "callback_ms"), t, sizeof(t)));
  else
    printf("callback:   -\n");
  const char* unread = json_str(r, "state_error", NULL);
  if (unread) {
    printf("state:      not read: %s\n", unread);
    return;
  }
  printf("trap_exit:  %s\n", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "trap_exit")) ? "yes" : "no");
  static const char* const sets[] = {"links", "monitors", "monitored_by"};
  static const char* const labels[] = {"links:", "monitors:", "watched by:"};
  for (int k = 0; k < 3; k++) {
    printf("%-12s", labels[k]);
    const cJSON* e;
    int n = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, sets[k])) {
      printf("%s%s", n++ ? " " : "", cJSON_IsString(e) ? e->valuestring : json_str(e, "pid", "?"));
    }
    printf("%s\n", n ? "" : "-");
  }
  printf("timers:     ");
  const cJSON* tm;
  int nt = 0;
  cJSON_ArrayForEach(tm, cJSON_GetObjectItemCaseSensitive(r, "timers"))
    printf("%sdue in %s", nt++ ? ", " : "", vt_ms(json_num(tm, "due_in_ms"), t, sizeof(t)));
  printf("%s\n", nt ? "" : "-");
  const cJSON* state = cJSON_GetObjectItemCaseSensitive(r, "state");
  if (cJSON_IsString(state)) {
    printf("state:\n");
    print_indented(state->valuestring, false);
  } else if (state && !cJSON_IsNull(state)) {
    char* text = cJSON_Print(state);
    printf("state:\n");
    if (text) print_indented(text, true);
    cJSON_free(text);
  } else {
    printf("state:      -\n");
  }
}

static int cmd_inspect(const opts_t* o) {
  cJSON* args = cJSON_CreateObject();
  cJSON_AddStringToObject(args, "actor", o->pos[0]);
  cJSON* r = NULL;
  if (call_args(o, "inspect", args, &r)) return 1;
  if (o->json)
    print_json(r);
  else
    print_actor(r);
  cJSON_Delete(r);
  return 0;
}

/* A change the container made whose record may not survive a power loss
 * (its "warning"): done, so the exit status is 0, but said on stderr. */
static void print_warning(const cJSON* r) {
  const char* w = json_str(r, "warning", NULL);
  if (w) fprintf(stderr, "molt: warning: %s\n", w);
}

/* The reply of unpack and commit: one release and its state. Consumes r. */
static int print_release_state(const opts_t* o, cJSON* r) {
  if (o->json)
    print_json(r);
  else
    printf("%s %s: %s\n", json_str(r, "name", "?"), json_str(r, "version", "?"), json_str(r, "state", "?"));
  print_warning(r);
  cJSON_Delete(r);
  return 0;
}

static int cmd_unpack(const opts_t* o) {
  char* dir = molt__abspath(o->pos[0]);
  if (!dir) return fail("unpack: %s: %s", o->pos[0], strerror(errno));
  cJSON* args = cJSON_CreateObject();
  cJSON_AddStringToObject(args, "bundle", dir);
  free(dir);
  cJSON* r = NULL;
  if (call_args(o, "unpack", args, &r)) return 1;
  return print_release_state(o, r);
}

static int cmd_releases(const opts_t* o) {
  cJSON* r = NULL;
  if (call(o, "releases", &r)) return 1;
  if (o->json) {
    print_json(r);
  } else if (cJSON_GetArraySize(r) == 0) {
    char* home = cli_absolute(o->home);
    printf("no releases in %s\n", home ? home : o->home);
    molt__free(home);
  } else {
    const cJSON* rel;
    cJSON_ArrayForEach(rel, r) {
      char order[32] = ""; /* #N: the order it became permanent in, which rollback walks back */
      if (json_num(rel, "permanent_order") > 0) snprintf(order, sizeof(order), "  #%.0f", json_num(rel, "permanent_order"));
      printf("%-10s %-10s %-10s%s%s%s\n", json_str(rel, "name", "?"), json_str(rel, "version", "?"), json_str(rel, "state", "?"),
             order, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rel, "running")) ? "  (running)" : "",
             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rel, "rollback_target")) ? "  (rollback goes here)" : "");
      const cJSON* d;
      char line[512];
      cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(rel, "drift"))
        printf("           differs: %s\n", drift_text(d, json_str(rel, "version", "?"), line, sizeof(line)));
    }
  }
  cJSON_Delete(r);
  return 0;
}

static int cmd_remove(const opts_t* o) {
  cJSON* args = cJSON_CreateObject();
  cJSON_AddStringToObject(args, "version", o->pos[0]);
  cJSON* r = NULL;
  if (call_args(o, "remove", args, &r)) return 1;
  if (o->json)
    print_json(r);
  else
    printf("%s %s: removed (was %s)\n", json_str(r, "name", "?"), json_str(r, "version", "?"), json_str(r, "state", "?"));
  cJSON_Delete(r);
  return 0;
}

static int print_change(const opts_t* o, cJSON* r, const char* verb) {
  if (o->json) {
    print_json(r);
  } else {
    printf("%s", json_str(r, "plan", ""));
    if (json_str(r, "state", NULL)) /* absent for --check: the plan only */
      printf("%s %s -> %s: %s, %.0f actors switched, pause %.2f ms, total %.2f ms\n", verb, json_str(r, "from", "?"),
             json_str(r, "to", "?"), json_str(r, "state", "?"), json_num(r, "actors"), json_num(r, "pause_ms"), json_num(r, "total_ms"));
    const cJSON* win = cJSON_GetObjectItemCaseSensitive(r, "window");
    if (win)
      printf("window %.0f ms: no crash of the changed modules%s\n", json_num(win, "ms"),
             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(win, "committed")) ? "; committed" : "");
  }
  print_warning(r);
  cJSON_Delete(r);
  return 0;
}

static int cmd_upgrade(const opts_t* o) {
  /* Misused options, refused as the parser refuses them: status 2. */
  if (!o->window_ms && (o->commit_after || o->max_restarts >= 0))
    return fail("upgrade: --commit and --max-restarts go with --window%s%s", "", "") + 1;
  if (o->window_ms && o->check)
    return fail("upgrade: --check changes nothing to watch: drop --window%s%s", "", "") + 1;
  cJSON* args = cJSON_CreateObject();
  cJSON_AddStringToObject(args, "version", o->pos[0]);
  if (o->check) cJSON_AddBoolToObject(args, "check", true);
  if (o->no_rehearsal) cJSON_AddBoolToObject(args, "rehearse", false);
  if (o->window_ms) {
    cJSON_AddNumberToObject(args, "window_ms", (double)o->window_ms);
    cJSON_AddNumberToObject(args, "max_restarts", o->max_restarts >= 0 ? (double)o->max_restarts : 0);
    cJSON_AddBoolToObject(args, "commit", o->commit_after);
  }
  cJSON* r = NULL;
  /* The reply comes once the window has passed. */
  if (call_within(o, "upgrade", "upgrade", args, CALL_TIMEOUT_MS + (uint32_t)o->window_ms, &r)) return 1;
  return print_change(o, r, "upgrade");
}

static int cmd_rollback(const opts_t* o) {
  cJSON* r = NULL;
  if (call(o, "rollback", &r)) return 1;
  return print_change(o, r, "rollback");
}

static int cmd_commit(const opts_t* o) {
  cJSON* r = NULL;
  if (call(o, "commit", &r)) return 1;
  return print_release_state(o, r);
}

/* run and dev: the log's level and format, before anything logs (the
 * heart too, and its child, which gets the same options). */
static void log_config(const opts_t* o) {
  molt__log_config(o->log_level ? (molt_log_level_t)o->log_level : MOLT_LOG_INFO,
                   o->log_json ? MOLT_LOG_JSON : MOLT_LOG_TEXT);
}

static int cmd_run(const opts_t* o) {
  log_config(o);
  if (!o->heart && (o->max_restarts >= 0 || o->restart_window >= 0)) {
    fprintf(stderr, "molt run: --max-restarts and --restart-window go with --heart (see molt run --help)\n");
    return 2;
  }
  if (o->heart) {
    heart_opts_t h = {.max_restarts = o->max_restarts >= 0 ? (int)o->max_restarts : HEART_MAX_RESTARTS,
                      .window_s = o->restart_window > 0 ? (unsigned)o->restart_window : HEART_WINDOW_S,
                      .first_ms = HEART_FIRST_MS, .max_delay_ms = HEART_MAX_DELAY_MS};
    return heart_run(main_argc, main_argv, &h);
  }
  molt_container_opts_t c = {.home = o->home, .release_dir = o->release, .schedulers = o->schedulers,
                             .probe_exe = "/proc/self/exe", .stuck_limit_s = (unsigned)o->stuck_limit_s,
                             .metrics_addr = o->metrics, .observer_addr = o->observer};
  char err[1024] = "";
  int rc = molt__container_run(&c, err, sizeof(err));
  if (rc == 0) return 0;
  molt__log_error("molt run: %s", *err ? err : molt_strerror(rc)); /* a line of the log: journalctl -p err */
  return rc == MOLT_EROOTEXIT ? 3 : 1; /* 3: the root supervisor gave up (README) */
}

/* A small text file's contents, or NULL. */
static char* slurp(const char* path) {
  FILE* f = fopen(path, "r");
  if (!f) return NULL;
  char* buf = calloc(1, 65536);
  if (buf) fread(buf, 1, 65535, f);
  fclose(f);
  return buf;
}

static int cmd_new_module(const opts_t* o) {
  const char* dir = o->npos == 2 ? o->pos[1] : ".";
  const char* name = o->pos[0];
  char err[1024];
  if (new_module_create(name, dir, err, sizeof(err)) != 0) return fail("new-module: %s%s", err, "");
  /* In molt's own tree, modules/CMakeLists.txt builds every module under it. */
  char cml[4200];
  snprintf(cml, sizeof(cml), "%s/CMakeLists.txt", dir);
  char* text = slurp(cml);
  bool globbed = text && strstr(text, "*/CMakeLists.txt");
  free(text);
  printf("\nnext:\n");
  if (globbed) {
    printf("  cmake --build build && ctest --test-dir build -R %s_test\n", name);
    printf("  build/bin/molt dev --module build/modules/%s-0.1.0.so --build \"cmake --build build\" --src %s/%s\n", name,
           dir, name);
    return 0;
  }
  printf("  cd %s/%s\n", dir, name);
  printf("  cmake -S . -B build && cmake --build build && ctest --test-dir build\n");
  printf("  molt dev --module build/modules/%s-0.1.0.so --build \"cmake --build build\" --src .\n", name);
  printf("  molt run --release build/releases/%s\n", name);
  return 0;
}

static int cmd_dev(const opts_t* o) {
  log_config(o);
  const char* wrong = o->release && o->nmodules ? "give --release or --module, not both"
                      : o->build && !o->nsrcs   ? "--build needs --src DIR (the sources to watch)"
                      : o->nsrcs && !o->build   ? "--src needs --build CMD (what to run when they change)"
                                                : NULL;
  if (wrong) {
    fprintf(stderr, "molt dev: %s (see molt dev --help)\n", wrong);
    return 2;
  }
  char* modules[64] = {0}; /* cli_absolute's, molt__free'd */
  char* srcs[16] = {0};    /* molt__abspath's, free'd */
  char* watch = cli_absolute(o->watch ? o->watch : "build/modules");
  int rc = 1;
  for (int i = 0; i < o->nmodules; i++)
    if (!(modules[i] = cli_absolute(o->modules[i]))) goto out; /* may not be built yet */
  for (int i = 0; i < o->nsrcs; i++)
    if (!(srcs[i] = molt__abspath(o->srcs[i]))) {
      fail("dev: --src %s: %s", o->srcs[i], strerror(errno));
      goto out;
    }
  if (!watch) goto out;
  if (o->build) {
    /* Once before anything starts, so that the modules to boot exist and
     * are up to date; its output goes straight to the terminal. */
    printf("molt dev: build: %s (at start)\n", o->build);
    fflush(stdout);
    int st = system(o->build);
    if (st == -1 || WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGINT)) {
      fail("dev: the build at start was interrupted%s%s", "", ""); /* Ctrl-C reached it: the user wants out */
      goto out;
    }
    if (st != 0)
      printf("molt dev: build failed (status %d); starting with the modules already built\n", st);
  }
  molt_dev_opts_t dev = {.watch_dir = watch, .build_cmd = o->build, .src_dirs = (const char* const*)srcs,
                         .nsrc = (size_t)o->nsrcs, .debounce_ms = (uint32_t)o->debounce_ms};
  molt_container_opts_t c = {.home = o->home, .release_dir = o->release, .schedulers = o->schedulers,
                             .modules = (const char* const*)modules, .nmodules = (size_t)o->nmodules, .dev = &dev,
                             .probe_exe = "/proc/self/exe"};
  char err[1024] = "";
  rc = molt__container_run(&c, err, sizeof(err));
  if (rc) molt__log_error("molt dev: %s", *err ? err : molt_strerror(rc));
  rc = rc == MOLT_EROOTEXIT ? 3 : rc ? 1 : 0;
out:
  for (int i = 0; i < o->nmodules; i++) molt__free(modules[i]);
  for (int i = 0; i < o->nsrcs; i++) free(srcs[i]);
  molt__free(watch);
  return rc;
}

typedef int (*verb_fn)(const opts_t* o);

/* What each verb of cli_verbs.c's table does. */
static const verb_fn verbs[CLI_NVERBS] = {
    [CLI_RUN] = cmd_run,           [CLI_DEV] = cmd_dev,           [CLI_NEW_MODULE] = cmd_new_module,
    [CLI_STATUS] = cmd_status,     [CLI_STOP] = cmd_stop,         [CLI_RELEASES] = cmd_releases,
    [CLI_UNPACK] = cmd_unpack,     [CLI_UPGRADE] = cmd_upgrade,   [CLI_COMMIT] = cmd_commit,
    [CLI_ROLLBACK] = cmd_rollback, [CLI_LOAD] = cmd_load,         [CLI_PURGE] = cmd_purge,
    [CLI_PS] = cmd_ps,             [CLI_INSPECT] = cmd_inspect,   [CLI_REMOVE] = cmd_remove,
    [CLI_TRACE] = cli_trace,
    [CLI_TOP] = molt_top,
};

int main(int argc, char** argv) {
  if (argc < 2) {
    cli_usage(stderr);
    return 2;
  }
  /* The container's module probe (loader/module_probe.h): this binary, so that a
   * module links against the same exports here as in the container. */
  if (argc == 2 && strcmp(argv[1], "__probe") == 0) return molt__probe_serve();
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    /* molt help VERB is molt VERB --help */
    if (argc == 2 || strcmp(argv[1], "help") != 0) {
      cli_usage(stdout);
      return 0;
    }
    const cli_verb_t* v = cli_verb(argv[2]);
    if (!v) {
      fprintf(stderr, "molt help: unknown command \"%s\" (see molt --help)\n", argv[2]);
      return 2;
    }
    cli_usage_verb(stdout, v);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("molt %s (module ABI %u)\n", MOLT_VERSION_STRING, MOLT_ABI_VERSION);
    return 0;
  }
  const cli_verb_t* v = cli_verb(argv[1]);
  if (!v) {
    fprintf(stderr, "molt: unknown command \"%s\" (see molt --help)\n", argv[1]);
    return 2;
  }
  opts_t o;
  main_argc = argc;
  main_argv = argv;
  cli_parse_t p = cli_parse(v, argc, argv, &o);
  if (p != CLI_PARSED) return p == CLI_HELP ? 0 : 2;
  return verbs[v - cli_verb_by_id(0)](&o);
}
