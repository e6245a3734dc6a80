/* molt.c: the molt command: `molt run` hosts a container in this process;
 * every other verb is a client of a running container's control socket.
 * Every verb takes --home and --json, and fails with one line on stderr
 * and a non-zero exit status. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "control.h"
#include "molt/errno.h"
#include "runtime.h"

#define CALL_TIMEOUT_MS 30000
#define STOP_WAIT_MS 30000

typedef struct opts {
  const char* home;
  const char* release;
  unsigned schedulers;
  bool json;
} opts_t;

static void usage(FILE* f) {
  fputs(
      "usage: molt <command> [options]\n"
      "\n"
      "commands:\n"
      "  run     [--release BUNDLE_DIR] [--schedulers N]  run a container in the foreground\n"
      "  status  show the running release, uptime, schedulers, actors and modules\n"
      "  stop    stop the container cleanly (every actor's terminate runs)\n"
      "\n"
      "options for every command:\n"
      "  --home DIR   the container's home (default: $MOLT_HOME, else ./molt-home)\n"
      "  --json       machine-readable output\n",
      f);
}

static int fail(const char* fmt, const char* a, const char* b) {
  fprintf(stderr, "molt: ");
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr);
  return 1;
}

static int parse(int argc, char** argv, opts_t* o) {
  const char* env = getenv("MOLT_HOME");
  o->home = env && *env ? env : "./molt-home";
  for (int i = 2; i < argc; i++) {
    const char* a = argv[i];
    bool has_val = i + 1 < argc;
    if (strcmp(a, "--json") == 0) {
      o->json = true;
    } else if (strcmp(a, "--home") == 0 && has_val) {
      o->home = argv[++i];
    } else if (strcmp(a, "--release") == 0 && has_val) {
      o->release = argv[++i];
    } else if (strcmp(a, "--schedulers") == 0 && has_val) {
      char* end;
      long n = strtol(argv[++i], &end, 10);
      if (*end || n < 1 || n > 1024) return fail("--schedulers: expected 1..1024, found \"%s\"%s", argv[i], "");
      o->schedulers = (unsigned)n;
    } else {
      return fail("%s: unknown option or missing value for \"%s\" (see molt --help)", argv[1], a);
    }
  }
  return 0;
}

/* One request; on failure prints the one-line reason (JSON with --json). */
static int call(const opts_t* o, const char* cmd, cJSON** result) {
  char err[512] = "";
  int rc = molt__control_call(o->home, cmd, NULL, CALL_TIMEOUT_MS, result, err, sizeof(err));
  if (rc == 0) return 0;
  if (o->json) {
    cJSON* e = cJSON_CreateObject();
    cJSON_AddBoolToObject(e, "ok", false);
    cJSON_AddStringToObject(e, "error", molt_err_name(rc));
    cJSON_AddStringToObject(e, "message", *err ? err : molt_strerror(rc));
    char* s = cJSON_PrintUnformatted(e);
    fprintf(stderr, "%s\n", s);
    free(s);
    cJSON_Delete(e);
  } else {
    fprintf(stderr, "molt %s: %s\n", cmd, *err ? err : molt_strerror(rc));
  }
  return 1;
}

static void print_json(const cJSON* v) {
  char* s = cJSON_Print(v);
  printf("%s\n", s);
  free(s);
}

static const char* str(const cJSON* o, const char* key, const char* def) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : def;
}

static double num(const cJSON* o, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void print_status(const cJSON* r) {
  const cJSON* rel = cJSON_GetObjectItemCaseSensitive(r, "release");
  printf("release     %s %s\n", str(rel, "name", "?"), str(rel, "version", "?"));
  printf("home        %s (pid %.0f)\n", str(r, "home", "?"), num(r, "os_pid"));
  printf("uptime      %.1f s\n", num(r, "uptime_ms") / 1000.0);
  printf("schedulers  %.0f\n", num(r, "schedulers"));
  printf("actors      %.0f\n", num(r, "actors"));
  printf("modules\n");
  const cJSON* m;
  cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(r, "modules")) {
    char cur[96] = "-", old[96] = "-";
    if (str(m, "current", NULL))
      snprintf(cur, sizeof(cur), "%s (rev %.0f, %.0f actors)", str(m, "current", ""), num(m, "current_revision"),
               num(m, "current_actors"));
    if (str(m, "old", NULL))
      snprintf(old, sizeof(old), "%s (rev %.0f, %.0f actors)", str(m, "old", ""), num(m, "old_revision"),
               num(m, "old_actors"));
    printf("  %-12s current %-32s old %s\n", str(m, "name", "?"), cur, old);
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

static int cmd_stop(const opts_t* o) {
  cJSON* r = NULL;
  if (call(o, "stop", &r)) return 1;
  cJSON_Delete(r);
  /* The reply comes before the container is down: wait for its socket to
   * go, so that `molt stop` returning means stopped. */
  for (int waited = 0; waited < STOP_WAIT_MS; waited += 10) {
    if (molt__control_call(o->home, "status", NULL, 1000, NULL, NULL, 0) == MOLT_ENOTRUNNING) {
      if (o->json)
        printf("{\"stopped\":true}\n");
      else
        printf("stopped\n");
      return 0;
    }
    usleep(10000);
  }
  return fail("stop: the container in %s did not stop within %s", o->home, "30 s");
}

static int cmd_run(const opts_t* o) {
  molt_container_opts_t c = {o->home, o->release, o->schedulers};
  char err[1024] = "";
  int rc = molt__container_run(&c, err, sizeof(err));
  if (rc == 0) return 0;
  fprintf(stderr, "molt run: %s\n", *err ? err : molt_strerror(rc));
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("molt 0.1.0 (module ABI %u)\n", MOLT_ABI_VERSION);
    return 0;
  }
  opts_t o = {0};
  if (parse(argc, argv, &o)) return 2;
  if (strcmp(argv[1], "run") == 0) return cmd_run(&o);
  if (strcmp(argv[1], "status") == 0) return cmd_status(&o);
  if (strcmp(argv[1], "stop") == 0) return cmd_stop(&o);
  fprintf(stderr, "molt: unknown command \"%s\" (see molt --help)\n", argv[1]);
  return 2;
}
