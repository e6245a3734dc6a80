/* log.c: one line per event on stderr, written with a single write(2) so
 * lines from several schedulers never interleave. Knows no actor: the
 * actor room says who writes (actor_log.c). Never allocates: it reports
 * running out of memory too. */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int quiet;
static atomic_int threshold = MOLT_LOG_INFO;
static atomic_int format = MOLT_LOG_TEXT;
static atomic_bool journal;

void molt__log_quiet(int q) { atomic_store(&quiet, q); }

/* JOURNAL_STREAM is "dev:ino" of the stream systemd connected; stderr is
 * the journal only if it is still that file (a redirect in a unit's
 * script leaves the variable set), as sd-daemon(3) says to check. */
static bool stderr_is_journal(void) {
  const char* js = getenv("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;
  if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void molt__log_config(molt_log_level_t level, molt_log_format_t fmt) {
  atomic_store(&threshold, (int)level);
  atomic_store(&format, (int)fmt);
  atomic_store(&journal, stderr_is_journal());
}

static const struct {
  const char* name;
  molt_log_level_t level;
} names[] = {{"error", MOLT_LOG_ERROR}, {"warning", MOLT_LOG_WARNING}, {"info", MOLT_LOG_INFO},
             {"debug", MOLT_LOG_DEBUG}};

int molt__log_level_parse(const char* name) {
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strcmp(names[i].name, name) == 0) return (int)names[i].level;
  return -1;
}

const char* molt__log_level_name(molt_log_level_t level) {
  switch (level) {
    case MOLT_LOG_ERROR: return "error";
    case MOLT_LOG_WARNING: return "warning";
    case MOLT_LOG_INFO: return "info";
    case MOLT_LOG_DEBUG: return "debug";
  }
  return "info";
}

bool molt__log_enabled(molt_log_level_t level) {
  return !atomic_load(&quiet) && (int)level <= atomic_load(&threshold);
}

/* Appending to a line of fixed size: what does not fit is cut. */
typedef struct {
  char* p;
  size_t n, cap;
} out_t;

static void put(out_t* o, const char* s, size_t len) {
  if (len > o->cap - o->n) len = o->cap - o->n;
  memcpy(o->p + o->n, s, len);
  o->n += len;
}

static void puts_(out_t* o, const char* s) { put(o, s, strlen(s)); }

/* s as the inside of a JSON string: quote, backslash and control
 * characters escaped; other bytes as they are (UTF-8 passes through). */
static void put_json(out_t* o, const char* s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\', esc[1] = (char)c;
      put(o, esc, 2);
    } else if (c == '\n') {
      put(o, "\\n", 2);
    } else if (c == '\t') {
      put(o, "\\t", 2);
    } else if (c == '\r') {
      put(o, "\\r", 2);
    } else if (c < 0x20 || c == 0x7f) {
      snprintf(esc, sizeof(esc), "\\u%04x", c);
      put(o, esc, 6);
    } else {
      put(o, (const char*)&c, 1);
    }
  }
}

static void put_field(out_t* o, const char* key, const char* val) {
  puts_(o, ",\"");
  puts_(o, key);
  puts_(o, "\":\"");
  put_json(o, val);
  puts_(o, "\"");
}

/* "2026-12-07T15:20:46.123Z" */
static void now_rfc3339(char* buf, size_t len) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void molt__log_v(molt_log_level_t level, const molt_log_who_t* who, const char* fmt, va_list ap) {
  if (!molt__log_enabled(level)) return;
  char msg[1024];
  int m = vsnprintf(msg, sizeof(msg), fmt, ap);
  if (m < 0) return;
  char when[40];
  now_rfc3339(when, sizeof(when));
  const char* lvl = molt__log_level_name(level);
  /* Room for the whole message escaped (at worst 6 bytes a byte) and the
   * rest; the last 3 bytes are kept for "}\n", so a JSON line always
   * closes its object. */
  char line[8192];
  out_t o = {line, 0, sizeof(line) - 3};
  if (atomic_load(&journal)) {
    char pri[8];
    snprintf(pri, sizeof(pri), "<%d>", (int)level);
    puts_(&o, pri);
  }
  const char* pid = who ? who->pid : NULL;
  const char* module = who ? who->module : NULL;
  const char* vsn = who ? who->vsn : NULL;
  if (atomic_load(&format) == MOLT_LOG_JSON) {
    puts_(&o, "{\"time\":\"");
    puts_(&o, when);
    puts_(&o, "\"");
    put_field(&o, "level", lvl);
    if (pid) put_field(&o, "pid", pid);
    if (module) put_field(&o, "module", module);
    if (vsn) put_field(&o, "vsn", vsn);
    put_field(&o, "msg", msg);
    line[o.n++] = '}';
  } else {
    puts_(&o, when);
    puts_(&o, " ");
    puts_(&o, lvl);
    puts_(&o, " ");
    if (pid) {
      puts_(&o, pid);
      puts_(&o, " ");
    }
    if (module) {
      puts_(&o, module);
      puts_(&o, ": ");
    }
    puts_(&o, msg);
  }
  line[o.n++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, o.n);
  (void)w;
}

void molt__log_who(molt_log_level_t level, const molt_log_who_t* who, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  molt__log_v(level, who, fmt, ap);
  va_end(ap);
}

void molt__log_at(molt_log_level_t level, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  molt__log_v(level, NULL, fmt, ap);
  va_end(ap);
}

void molt__log(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  molt__log_v(MOLT_LOG_INFO, NULL, fmt, ap);
  va_end(ap);
}
