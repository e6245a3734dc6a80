/* cli_args.c: reading a molt command line against its verb's table
 * (cli_verbs.c) — only the verb's own options, each once unless it
 * repeats, values checked, the right number of arguments — and printing
 * the usage texts. Nothing here talks to a container. */
#include "cli_args.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "http_server.h"
#include "log.h"

#define DEFAULT_HOME "./molt-home"

/* Every option's spelling, and whether it takes a value (the same for
 * every verb that accepts it). */
static const struct {
  const char* name;
  bool value;
} options[CLI_NOPTS] = {
    [CLI_HOME] = {"--home", true},         [CLI_JSON] = {"--json", false},
    [CLI_RELEASE] = {"--release", true},   [CLI_SCHEDULERS] = {"--schedulers", true},
    [CLI_MODULE] = {"--module", true},     [CLI_WATCH] = {"--watch", true},
    [CLI_BUILD] = {"--build", true},       [CLI_SRC] = {"--src", true},
    [CLI_DEBOUNCE] = {"--debounce", true}, [CLI_EXTRA] = {"--extra", true},
    [CLI_DOWN] = {"--down", false},        [CLI_CHECK] = {"--check", false},
    [CLI_HARD] = {"--hard", false},        [CLI_LIMIT] = {"--limit", true},
    [CLI_UNLOAD] = {"--unload", false},    [CLI_WINDOW] = {"--window", true},
    [CLI_MAX_RESTARTS] = {"--max-restarts", true}, [CLI_COMMIT_AFTER] = {"--commit", false},
    [CLI_HEART] = {"--heart", false},      [CLI_RESTART_WINDOW] = {"--restart-window", true},
    [CLI_STUCK_LIMIT] = {"--stuck-limit", true}, [CLI_NO_REHEARSAL] = {"--no-rehearsal", false},
    [CLI_LOG_LEVEL] = {"--log-level", true}, [CLI_LOG_FORMAT] = {"--log-format", true},
    [CLI_METRICS] = {"--metrics", true},   [CLI_OBSERVER] = {"--observer", true},
    [CLI_MAX] = {"--max", true},           [CLI_DURATION] = {"--duration", true},
    [CLI_RATE] = {"--rate", true},
    [CLI_SORT] = {"--sort", true},         [CLI_ONCE] = {"--once", false},
};
_Static_assert(CLI_NOPTS < 32, "cli_parse's seen bitmask");

static int option_named(const char* a) {
  for (int k = 0; k < CLI_NOPTS; k++)
    if (strcmp(options[k].name, a) == 0) return k;
  return -1;
}

static const cli_use_t* use_of(const cli_verb_t* v, int opt) {
  for (const cli_use_t* u = v->opts; u->help; u++)
    if ((int)u->opt == opt) return u;
  return NULL;
}

/* Only the first problem is reported: after it, what follows may be
 * misread (an unknown option's value taken for an argument). */
static void problem(char* err, size_t len, const char* fmt, ...) {
  if (*err) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, len, fmt, ap);
  va_end(ap);
}

static bool number(const char* s, long lo, long hi, long* out) {
  char* end;
  errno = 0;
  long n = strtol(s, &end, 10);
  if (!*s || *end || errno || n < lo || n > hi) return false;
  *out = n;
  return true;
}

/* "30s", "500ms", "2m", "1h" (a bare number: seconds) in ms; false for
 * anything else or beyond a day. */
static bool duration_ms(const char* text, long* ms) {
  char* end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || !(v >= 0)) return false;
  double unit = strcmp(end, "ms") == 0            ? 1
                : strcmp(end, "s") == 0 || !*end ? 1000
                : strcmp(end, "m") == 0          ? 60000
                : strcmp(end, "h") == 0          ? 3600000
                                                 : -1;
  if (unit < 0 || v * unit > 86400000.0) return false;
  *ms = (long)(v * unit);
  return true;
}

static void set_number(const char* name, const char* val, long lo, long hi, const char* what, long* out,
                       char* err, size_t len) {
  if (!number(val, lo, hi, out)) problem(err, len, "%s: expected %s, found \"%s\"", name, what, val);
}

/* "500" or "500/s": events a second, 1..100000 (the container's bound). */
static void rate(const char* val, long* out, char* err, size_t len) {
  char num[32];
  size_t n = strcspn(val, "/");
  bool ok = n < sizeof(num) && (val[n] == '\0' || strcmp(val + n, "/s") == 0);
  if (ok) {
    memcpy(num, val, n);
    num[n] = '\0';
    ok = number(num, 1, 100000, out);
  }
  if (!ok) problem(err, len, "--rate: expected events a second, 1..100000 (500 or 500/s), found \"%s\"", val);
}

static void set(cli_opts_t* o, cli_opt_t opt, const char* val, char* err, size_t len) {
  long n = 0;
  switch (opt) {
    case CLI_HOME: o->home = val; o->home_from = "--home"; break;
    case CLI_JSON: o->json = true; break;
    case CLI_RELEASE: o->release = val; break;
    case CLI_SCHEDULERS:
      set_number("--schedulers", val, 1, 1024, "1..1024", &n, err, len);
      o->schedulers = (unsigned)n;
      break;
    case CLI_MODULE:
      o->module = val;
      if (o->nmodules == 64) problem(err, len, "--module: at most 64");
      else o->modules[o->nmodules++] = val;
      break;
    case CLI_WATCH: o->watch = val; break;
    case CLI_BUILD: o->build = val; break;
    case CLI_SRC:
      if (o->nsrcs == 16) problem(err, len, "--src: at most 16");
      else o->srcs[o->nsrcs++] = val;
      break;
    case CLI_DEBOUNCE: set_number("--debounce", val, 0, 60000, "0..60000 ms", &o->debounce_ms, err, len); break;
    case CLI_EXTRA: o->extra = val; break;
    case CLI_DOWN: o->down = true; break;
    case CLI_CHECK: o->check = true; break;
    case CLI_NO_REHEARSAL: o->no_rehearsal = true; break;
    case CLI_HARD: o->hard = true; break;
    case CLI_UNLOAD: o->unload = true; break;
    case CLI_WINDOW:
      if (!duration_ms(val, &o->window_ms) || o->window_ms == 0)
        problem(err, len, "--window: expected a duration (30s, 500ms, 2m) of at most a day, found \"%s\"", val);
      break;
    case CLI_MAX_RESTARTS:
      set_number("--max-restarts", val, 0, 1000000, "a count", &o->max_restarts, err, len);
      break;
    case CLI_COMMIT_AFTER: o->commit_after = true; break;
    case CLI_LIMIT: set_number("--limit", val, 0, LONG_MAX, "a count", &o->limit, err, len); break;
    case CLI_HEART: o->heart = true; break;
    case CLI_STUCK_LIMIT:
      set_number("--stuck-limit", val, 1, 86400, "1..86400 s", &o->stuck_limit_s, err, len);
      break;
    case CLI_RESTART_WINDOW:
      set_number("--restart-window", val, 1, 86400, "1..86400 s", &o->restart_window, err, len);
      break;
    case CLI_LOG_LEVEL:
      o->log_level = molt__log_level_parse(val);
      if (o->log_level < 0) {
        o->log_level = 0;
        problem(err, len, "--log-level: expected error, warning, info or debug, found \"%s\"", val);
      }
      break;
    case CLI_LOG_FORMAT:
      if (strcmp(val, "json") == 0) o->log_json = true;
      else if (strcmp(val, "text") != 0) problem(err, len, "--log-format: expected text or json, found \"%s\"", val);
      break;
    case CLI_METRICS:
    case CLI_OBSERVER: {
      struct sockaddr_storage addr;
      const char* name = opt == CLI_METRICS ? "--metrics" : "--observer";
      if (molt__http_addr_parse(val, &addr) != 0)
        problem(err, len, "%s: expected ADDR:PORT, got \"%s\"", name, val);
      *(opt == CLI_METRICS ? &o->metrics : &o->observer) = val;
      break;
    }
    case CLI_MAX: set_number("--max", val, 1, LONG_MAX, "a count of events", &o->max_events, err, len); break;
    case CLI_DURATION:
      if (!duration_ms(val, &o->duration_ms) || o->duration_ms == 0)
        problem(err, len, "--duration: expected a duration (30s, 500ms, 2m) of at most a day, found \"%s\"", val);
      break;
    case CLI_RATE: rate(val, &o->rate, err, len); break;
    case CLI_SORT:
      if (strcmp(val, "mailbox") && strcmp(val, "memory") && strcmp(val, "time") && strcmp(val, "messages"))
        problem(err, len, "--sort: expected mailbox, memory, time or messages, found \"%s\"", val);
      o->sort = val;
      break;
    case CLI_ONCE: o->once = true; break;
    case CLI_NOPTS: break;
  }
}

static bool is_help(const char* a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

/* One option at argv[*i] (a value, if it takes one, at the next). */
static void option(const cli_verb_t* v, int argc, char** argv, int* i, unsigned* seen, cli_opts_t* o, char* err,
                   size_t len) {
  const char* a = argv[*i];
  int k = option_named(a);
  const cli_use_t* u = k >= 0 ? use_of(v, k) : NULL;
  const char* val = NULL;
  if (k < 0) {
    problem(err, len, "unknown option %s", a);
  } else if (!u) {
    problem(err, len, "%s is not an option of %s", a, v->name);
  } else if ((*seen & (1u << k)) && !u->repeat) {
    problem(err, len, "%s given twice", a);
  } else if (options[k].value && *i + 1 >= argc) {
    problem(err, len, "%s needs a value (%s)", a, u->metavar);
  } else {
    *seen |= 1u << k;
    if (options[k].value) val = argv[++*i];
    set(o, (cli_opt_t)k, val, err, len);
  }
}

cli_parse_t cli_parse(const cli_verb_t* v, int argc, char** argv, cli_opts_t* o) {
  char err[512] = "";
  bool help = false;
  unsigned seen = 0;
  const char* env = getenv("MOLT_HOME");
  memset(o, 0, sizeof(*o));
  o->home = env && *env ? env : DEFAULT_HOME;
  o->home_from = env && *env ? "$MOLT_HOME" : "the default " DEFAULT_HOME;
  o->max_restarts = o->restart_window = -1;
  for (int i = 2; i < argc; i++) {
    const char* a = argv[i];
    if (is_help(a))
      help = true;
    else if (*err)
      continue; /* still looking for --help, which wins */
    else if (a[0] == '-' && a[1])
      option(v, argc, argv, &i, &seen, o, err, sizeof(err));
    else if (o->npos < v->max_pos)
      o->pos[o->npos++] = a;
    else
      problem(err, sizeof(err), "unexpected argument \"%s\"", a);
  }
  if (help) {
    cli_usage_verb(stdout, v);
    return CLI_HELP;
  }
  if (o->npos < v->min_pos) problem(err, sizeof(err), "expected %s", v->args);
  if (!*err) return CLI_PARSED;
  fprintf(stderr, "molt %s: %s (see molt %s --help)\n", v->name, err, v->name);
  return CLI_BAD;
}

/* Words of a synopsis, wrapped under the first one's end. */
static void word(FILE* f, const char* w, int indent, int* col) {
  int n = (int)strlen(w);
  if (*col + 1 + n > 78) {
    fprintf(f, "\n%*s", indent, "");
    *col = indent;
  } else {
    fputc(' ', f);
    (*col)++;
  }
  fputs(w, f);
  *col += n;
}

void cli_usage_verb(FILE* f, const cli_verb_t* v) {
  char w[128];
  int col = fprintf(f, "usage: molt %s", v->name), indent = col + 1;
  if (*v->args) word(f, v->args, indent, &col);
  for (const cli_use_t* u = v->opts; u->help; u++) {
    if (u->metavar)
      snprintf(w, sizeof(w), "[%s %s%s]", options[u->opt].name, u->metavar, u->repeat ? " ..." : "");
    else
      snprintf(w, sizeof(w), "[%s]", options[u->opt].name);
    word(f, w, indent, &col);
  }
  fprintf(f, "\n\n%c%s.\n", toupper((unsigned char)v->summary[0]), v->summary + 1);
  if (v->about) fprintf(f, "%s\n", v->about);
  if (v->opts[0].help) fprintf(f, "\noptions:\n");
  for (const cli_use_t* u = v->opts; u->help; u++) {
    snprintf(w, sizeof(w), "%s%s%s", options[u->opt].name, u->metavar ? " " : "", u->metavar ? u->metavar : "");
    fprintf(f, "  %-21s %s\n", w, u->help);
  }
}

void cli_usage(FILE* f) {
  char w[64];
  fputs("usage: molt COMMAND [ARGUMENTS] [OPTIONS]\n\ncommands:\n", f);
  for (int i = 0; i < CLI_NVERBS; i++) {
    const cli_verb_t* v = cli_verb_by_id((cli_verb_id_t)i);
    snprintf(w, sizeof(w), "%s%s%s", v->name, *v->args ? " " : "", v->args);
    fprintf(f, "  %-22s %s\n", w, v->summary);
  }
  fputs("\nmolt COMMAND --help (or molt help COMMAND) shows a command's arguments and\n"
        "options; each command takes only its own. Every command but new-module takes\n"
        "--home DIR (default: $MOLT_HOME, else ./molt-home), and every one but run, dev\n"
        "and new-module --json (machine-readable output). molt --version prints molt's\n"
        "version and its module ABI.\n",
        f);
}

void cli_not_running(const cli_opts_t* o, char* buf, size_t len) {
  char* abs = cli_absolute(o->home);
  const char* other = strcmp(o->home_from, "--home") == 0       ? ""
                      : strcmp(o->home_from, "$MOLT_HOME") == 0 ? "; --home DIR overrides it"
                                                                : "; --home DIR or $MOLT_HOME chooses another";
  snprintf(buf, len, "no container is running in %s (home from %s%s)", abs ? abs : o->home, o->home_from, other);
  molt__free(abs);
}

static char* join(const char* dir, const char* name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char* out = molt__alloc(n);
  if (out) snprintf(out, n, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name);
  return out;
}

/* A path that does not exist yet is most often a new name in a directory
 * that does: resolve that directory, as a later mkdir would see it. */
char* cli_absolute(const char* path) {
  char real[PATH_MAX], dir[PATH_MAX];
  if (realpath(path, real)) return molt__strdup(real);
  const char* slash = strrchr(path, '/');
  if (slash && slash[1] && (size_t)(slash - path) < sizeof(dir)) {
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    if (realpath(*dir ? dir : "/", real)) return join(real, slash + 1);
  } else if (!slash && getcwd(dir, sizeof(dir))) {
    return join(dir, path);
  }
  if (path[0] == '/') return molt__strdup(path);
  if (!getcwd(dir, sizeof(dir))) return NULL;
  return join(dir, path);
}
