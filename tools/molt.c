/* molt.c: the molt command: `molt run` hosts a container in this process;
 * every other verb is a client of a running container's control socket.
 * Every verb takes --home and --json, and fails with one line on stderr
 * and a non-zero exit status. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container.h"
#include "control.h"
#include "molt/errno.h"
#include "new_module.h"
#include "runtime.h"

#define CALL_TIMEOUT_MS 30000
#define STOP_WAIT_MS 30000

typedef struct opts {
  const char* home;
  const char* release;
  const char* module;
  const char* extra;
  const char* modules[64]; /* every --module, in order (molt dev) */
  int nmodules;
  const char* watch;
  const char* build;
  const char* srcs[16];
  int nsrcs;
  long debounce_ms;
  unsigned schedulers;
  long limit;
  bool json;
  bool hard;
  bool down;
  bool check;
  const char* pos[4]; /* positional arguments after the command */
  int npos;
} opts_t;

static void usage(FILE* f) {
  fputs(
      "usage: molt <command> [options]\n"
      "\n"
      "commands:\n"
      "  run     [--release BUNDLE_DIR] [--schedulers N]  run a container in the foreground: the\n"
      "          home's permanent release (--release is unpacked, and made permanent if none is)\n"
      "  dev     [--release BUNDLE_DIR | --module FILE.so ...] [--watch DIR] [--build CMD --src DIR ...]\n"
      "          [--debounce MS]   run a container that loads every rebuilt module as a new revision\n"
      "          (state kept): DIR (default build/modules) is watched; with --build, a change under\n"
      "          --src runs CMD first. --module runs one actor of each file instead of a release\n"
      "  new-module NAME [DIR]           scaffold a module in DIR/NAME (default DIR: modules):\n"
      "          source, CMakeLists.txt and a Criterion test\n"
      "  status  show the running release, uptime, schedulers, actors and modules\n"
      "  stop    stop the container cleanly (every actor's terminate runs)\n"
      "  load    FILE.so [--extra STR] [--down]   load a module version as a transaction (soft\n"
      "          load, or code_change on every actor when its state layout changed; --down\n"
      "          goes back to an older layout through the running version's code_change)\n"
      "  purge   MODULE [--hard]         drop a module's old version (--hard kills its actors)\n"
      "  ps      [--module NAME] [--limit N]   list actors\n"
      "  unpack  BUNDLE_DIR              verify a release bundle and copy it into the home\n"
      "  releases                        every known release and its state\n"
      "  upgrade VSN [--check]           move to release VSN as one transaction (up or down);\n"
      "          --check only prints the steps\n"
      "  commit                          make the current release permanent\n"
      "  rollback                        back to the previous permanent release\n"
      "  inspect PID|NAME                show one actor and its state\n"
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
    } else if (strcmp(a, "--hard") == 0) {
      o->hard = true;
    } else if (strcmp(a, "--down") == 0) {
      o->down = true;
    } else if (strcmp(a, "--check") == 0) {
      o->check = true;
    } else if (strcmp(a, "--module") == 0 && has_val) {
      o->module = argv[++i];
      if (o->nmodules == 64) return fail("--module: at most %s%s", "64", "");
      o->modules[o->nmodules++] = o->module;
    } else if (strcmp(a, "--watch") == 0 && has_val) {
      o->watch = argv[++i];
    } else if (strcmp(a, "--build") == 0 && has_val) {
      o->build = argv[++i];
    } else if (strcmp(a, "--src") == 0 && has_val) {
      if (o->nsrcs == 16) return fail("--src: at most %s%s", "16", "");
      o->srcs[o->nsrcs++] = argv[++i];
    } else if (strcmp(a, "--debounce") == 0 && has_val) {
      char* end;
      o->debounce_ms = strtol(argv[++i], &end, 10);
      if (*end || o->debounce_ms < 0 || o->debounce_ms > 60000)
        return fail("--debounce: expected 0..60000 ms, found \"%s\"%s", argv[i], "");
    } else if (strcmp(a, "--extra") == 0 && has_val) {
      o->extra = argv[++i];
    } else if (strcmp(a, "--limit") == 0 && has_val) {
      char* end;
      o->limit = strtol(argv[++i], &end, 10);
      if (*end || o->limit < 0) return fail("--limit: expected a count, found \"%s\"%s", argv[i], "");
    } else if (a[0] != '-' && o->npos < 4) {
      o->pos[o->npos++] = a;
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

/* One request (args may be NULL; consumed); on failure prints the one-line
 * reason (JSON with --json). */
static int call_args(const opts_t* o, const char* cmd, cJSON* args, cJSON** result) {
  char err[1024] = "";
  int rc = molt__control_call(o->home, cmd, args, CALL_TIMEOUT_MS, result, err, sizeof(err));
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
    fprintf(stderr, "molt %s: %s\n", cmd, *err ? err : molt_strerror(rc));
  }
  return 1;
}

static int call(const opts_t* o, const char* cmd, cJSON** result) { return call_args(o, cmd, NULL, result); }

static void print_json(const cJSON* v) {
  char* s = cJSON_Print(v);
  printf("%s\n", s);
  cJSON_free(s);
}

static const char* str(const cJSON* o, const char* key, const char* def) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : def;
}

static double num(const cJSON* o, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* One entry of a "drift" array: "blob runs 1.0.0 (rev 3), release 2.0.0
 * has 2.0.0". */
static const char* drift_text(const cJSON* d, const char* release, char* buf, size_t len) {
  char runs[192] = "nothing";
  if (str(d, "running", NULL))
    snprintf(runs, sizeof(runs), "%s (rev %.0f)", str(d, "running", ""), num(d, "revision"));
  if (str(d, "release", NULL))
    snprintf(buf, len, "%s runs %s, release %s has %s", str(d, "module", "?"), runs, release, str(d, "release", ""));
  else
    snprintf(buf, len, "%s runs %s, release %s does not list it", str(d, "module", "?"), runs, release);
  return buf;
}

static void print_status(const cJSON* r) {
  const cJSON* rel = cJSON_GetObjectItemCaseSensitive(r, "release");
  printf("release     %s %s\n", str(rel, "name", "?"), str(rel, "version", "?"));
  const cJSON* d;
  char line[512];
  cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(r, "drift"))
    printf("drift       %s\n", drift_text(d, str(rel, "version", "?"), line, sizeof(line)));
  printf("home        %s (pid %.0f)\n", str(r, "home", "?"), num(r, "os_pid"));
  printf("uptime      %.1f s\n", num(r, "uptime_ms") / 1000.0);
  printf("schedulers  %.0f\n", num(r, "schedulers"));
  printf("actors      %.0f\n", num(r, "actors"));
  printf("modules\n");
  const cJSON* m;
  cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(r, "modules")) {
    char cur[192] = "-", old[192] = "-";
    if (str(m, "current", NULL))
      snprintf(cur, sizeof(cur), "%s (rev %.0f, %.0f actors)", str(m, "current_label", str(m, "current", "")),
               num(m, "current_revision"),
               num(m, "current_actors"));
    if (str(m, "old", NULL))
      snprintf(old, sizeof(old), "%s (rev %.0f, %.0f actors)", str(m, "old_label", str(m, "old", "")),
               num(m, "old_revision"),
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

static int need_pos(const opts_t* o, const char* cmd, const char* what) {
  if (o->npos == 1) return 0;
  fprintf(stderr, "molt %s: expected %s (see molt --help)\n", cmd, what);
  return 2;
}

static int cmd_load(const opts_t* o) {
  if (need_pos(o, "load", "one module file")) return 2;
  char* file = molt__abspath(o->pos[0]); /* the container's cwd is not ours */
  if (!file) return fail("load: %s: %s", o->pos[0], strerror(errno));
  cJSON* args = cJSON_CreateObject();
  cJSON_AddStringToObject(args, "file", file);
  free(file);
  if (o->extra) cJSON_AddStringToObject(args, "extra", o->extra);
  if (o->down) cJSON_AddBoolToObject(args, "down", true);
  cJSON* r = NULL;
  if (call_args(o, "load", args, &r)) return 1;
  if (o->json) {
    print_json(r);
  } else {
    const char* from = str(r, "from", NULL);
    char was[192] = "new module";
    if (from) snprintf(was, sizeof(was), "%s (rev %.0f)", str(r, "from_label", from), num(r, "from_revision"));
    printf("%s %s -> %s (rev %.0f): %s%s, %.0f actors, pause %.2f ms, total %.2f ms\n", str(r, "module", "?"), was,
           str(r, "to_label", str(r, "to", "?")), num(r, "revision"), str(r, "mode", "?"),
           strcmp(str(r, "direction", "up"), "down") == 0 && strcmp(str(r, "mode", ""), "code_change") == 0 ? " down"
                                                                                                           : "",
           num(r, "actors"), num(r, "pause_ms"), num(r, "total_ms"));
  }
  cJSON_Delete(r);
  return 0;
}

static int cmd_purge(const opts_t* o) {
  if (need_pos(o, "purge", "one module name")) return 2;
  cJSON* args = cJSON_CreateObject();
  cJSON_AddStringToObject(args, "module", o->pos[0]);
  cJSON_AddBoolToObject(args, "hard", o->hard);
  cJSON* r = NULL;
  if (call_args(o, "purge", args, &r)) return 1;
  if (o->json)
    print_json(r);
  else if (str(r, "purged", NULL))
    printf("%s: purged %s\n", o->pos[0], str(r, "purged", ""));
  else
    printf("%s: no old version to purge\n", o->pos[0]);
  cJSON_Delete(r);
  return 0;
}

static int cmd_ps(const opts_t* o) {
  cJSON* args = cJSON_CreateObject();
  if (o->module) cJSON_AddStringToObject(args, "module", o->module);
  if (o->limit) cJSON_AddNumberToObject(args, "limit", (double)o->limit);
  cJSON* r = NULL;
  if (call_args(o, "ps", args, &r)) return 1;
  if (o->json) {
    print_json(r);
  } else {
    printf("%-12s %-12s %-14s %4s %-9s %10s %5s  %s\n", "PID", "MODULE", "VSN", "REV", "STATUS", "MESSAGES",
           "SCHED", "NAME");
    const cJSON* a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(r, "actors")) {
      printf("%-12s %-12s %-14s %4.0f %-9s %10.0f %5.0f  %s\n", str(a, "pid", "?"), str(a, "module", "?"),
             str(a, "label", str(a, "vsn", "?")), num(a, "revision"), str(a, "status", "?"), num(a, "messages"), num(a, "scheduler"),
             str(a, "name", "-"));
    }
    int shown = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "actors"));
    if (num(r, "total") > shown) printf("... %d of %.0f shown (--limit N)\n", shown, num(r, "total"));
  }
  cJSON_Delete(r);
  return 0;
}

static int cmd_inspect(const opts_t* o) {
  if (need_pos(o, "inspect", "one pid (<12.1>) or registered name")) return 2;
  cJSON* args = cJSON_CreateObject();
  cJSON_AddStringToObject(args, "actor", o->pos[0]);
  cJSON* r = NULL;
  if (call_args(o, "inspect", args, &r)) return 1;
  print_json(r); /* the state is JSON whichever way */
  cJSON_Delete(r);
  return 0;
}

/* The reply of unpack and commit: one release and its state. Consumes r. */
static int print_release_state(const opts_t* o, cJSON* r) {
  if (o->json)
    print_json(r);
  else
    printf("%s %s: %s\n", str(r, "name", "?"), str(r, "version", "?"), str(r, "state", "?"));
  cJSON_Delete(r);
  return 0;
}

static int cmd_unpack(const opts_t* o) {
  if (need_pos(o, "unpack", "one release bundle directory")) return 2;
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
  } else {
    const cJSON* rel;
    cJSON_ArrayForEach(rel, r) {
      printf("%-10s %-10s %-10s%s\n", str(rel, "name", "?"), str(rel, "version", "?"), str(rel, "state", "?"),
             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rel, "running")) ? "  (running)" : "");
      const cJSON* d;
      char line[512];
      cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(rel, "drift"))
        printf("           differs: %s\n", drift_text(d, str(rel, "version", "?"), line, sizeof(line)));
    }
  }
  cJSON_Delete(r);
  return 0;
}

static int print_change(const opts_t* o, cJSON* r, const char* verb) {
  if (o->json) {
    print_json(r);
  } else {
    printf("%s", str(r, "plan", ""));
    if (str(r, "state", NULL)) /* absent for --check: the plan only */
      printf("%s %s -> %s: %s, %.0f actors switched, pause %.2f ms, total %.2f ms\n", verb, str(r, "from", "?"),
             str(r, "to", "?"), str(r, "state", "?"), num(r, "actors"), num(r, "pause_ms"), num(r, "total_ms"));
  }
  cJSON_Delete(r);
  return 0;
}

static int cmd_upgrade(const opts_t* o) {
  if (need_pos(o, "upgrade", "one release version")) return 2;
  cJSON* args = cJSON_CreateObject();
  cJSON_AddStringToObject(args, "version", o->pos[0]);
  if (o->check) cJSON_AddBoolToObject(args, "check", true);
  cJSON* r = NULL;
  if (call_args(o, "upgrade", args, &r)) return 1;
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

static int cmd_run(const opts_t* o) {
  molt_container_opts_t c = {.home = o->home, .release_dir = o->release, .schedulers = o->schedulers};
  char err[1024] = "";
  int rc = molt__container_run(&c, err, sizeof(err));
  if (rc == 0) return 0;
  fprintf(stderr, "molt run: %s\n", *err ? err : molt_strerror(rc));
  return 1;
}

/* path made absolute against the current directory, whether or not it
 * exists yet (a build directory may not), malloc'd. */
static char* absolute(const char* path) {
  char* real = molt__abspath(path);
  if (real || path[0] == '/') return real ? real : strdup(path);
  char cwd[4096];
  if (!getcwd(cwd, sizeof(cwd))) return NULL;
  size_t n = strlen(cwd) + strlen(path) + 2;
  char* out = malloc(n);
  if (out) snprintf(out, n, "%s/%s", cwd, path);
  return out;
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
  if (o->npos < 1 || o->npos > 2) {
    fprintf(stderr, "molt new-module: expected NAME [DIR] (see molt --help)\n");
    return 2;
  }
  const char* dir = o->npos == 2 ? o->pos[1] : "modules";
  char err[1024];
  if (new_module_create(o->pos[0], dir, err, sizeof(err)) != 0) return fail("new-module: %s%s", err, "");
  char cml[4200];
  snprintf(cml, sizeof(cml), "%s/CMakeLists.txt", dir);
  char* text = slurp(cml);
  bool globbed = text && strstr(text, "*/CMakeLists.txt");
  free(text);
  printf("\nnext:\n");
  if (!globbed)
    printf("  cmake -S <molt source> -B build -DMOLT_MODULE_DIRS=%s   (once: builds every module under it)\n", dir);
  printf("  cmake --build build && ctest --test-dir build -R %s_test\n", o->pos[0]);
  printf("  build/bin/molt dev --module build/modules/%s.so --build \"cmake --build build\" --src %s/%s\n", o->pos[0],
         dir, o->pos[0]);
  return 0;
}

static int cmd_dev(const opts_t* o) {
  if (o->release && o->nmodules) return fail("dev: give --release or --module, not both%s%s", "", "");
  if (o->build && !o->nsrcs) return fail("dev: --build needs --src DIR (the sources to watch)%s%s", "", "");
  if (o->nsrcs && !o->build) return fail("dev: --src needs --build CMD (what to run when they change)%s%s", "", "");
  char* modules[64] = {0};
  char* srcs[16] = {0};
  char* watch = absolute(o->watch ? o->watch : "build/modules");
  int rc = 1;
  for (int i = 0; i < o->nmodules; i++)
    if (!(modules[i] = absolute(o->modules[i]))) goto out; /* may not be built yet */
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
                             .modules = (const char* const*)modules, .nmodules = (size_t)o->nmodules, .dev = &dev};
  char err[1024] = "";
  rc = molt__container_run(&c, err, sizeof(err));
  if (rc) fprintf(stderr, "molt dev: %s\n", *err ? err : molt_strerror(rc));
  rc = rc ? 1 : 0;
out:
  for (int i = 0; i < o->nmodules; i++) free(modules[i]);
  for (int i = 0; i < o->nsrcs; i++) free(srcs[i]);
  free(watch);
  return rc;
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
  bool takes_arg = strcmp(argv[1], "load") == 0 || strcmp(argv[1], "purge") == 0 || strcmp(argv[1], "inspect") == 0 ||
                   strcmp(argv[1], "unpack") == 0 || strcmp(argv[1], "upgrade") == 0 ||
                   strcmp(argv[1], "new-module") == 0;
  if (o.npos > 0 && !takes_arg) {
    fprintf(stderr, "molt %s: unexpected argument \"%s\" (see molt --help)\n", argv[1], o.pos[0]);
    return 2;
  }
  if (strcmp(argv[1], "run") == 0) return cmd_run(&o);
  if (strcmp(argv[1], "dev") == 0) return cmd_dev(&o);
  if (strcmp(argv[1], "new-module") == 0) return cmd_new_module(&o);
  if (strcmp(argv[1], "status") == 0) return cmd_status(&o);
  if (strcmp(argv[1], "stop") == 0) return cmd_stop(&o);
  if (strcmp(argv[1], "load") == 0) return cmd_load(&o);
  if (strcmp(argv[1], "purge") == 0) return cmd_purge(&o);
  if (strcmp(argv[1], "ps") == 0) return cmd_ps(&o);
  if (strcmp(argv[1], "inspect") == 0) return cmd_inspect(&o);
  if (strcmp(argv[1], "unpack") == 0) return cmd_unpack(&o);
  if (strcmp(argv[1], "releases") == 0) return cmd_releases(&o);
  if (strcmp(argv[1], "upgrade") == 0) return cmd_upgrade(&o);
  if (strcmp(argv[1], "commit") == 0) return cmd_commit(&o);
  if (strcmp(argv[1], "rollback") == 0) return cmd_rollback(&o);
  fprintf(stderr, "molt: unknown command \"%s\" (see molt --help)\n", argv[1]);
  return 2;
}
