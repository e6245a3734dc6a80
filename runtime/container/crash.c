/* crash.c: the report of a fatal signal, written from the signal handler,
 * and the next run's reading of it. Not a debugger: the report says where
 * (actor, module, callback, backtrace) and the process dies as it would
 * have without it.
 *
 * The handler may run with any lock of the process held (malloc's, stdio's,
 * the loader's), so it uses only what POSIX lists as async-signal-safe:
 * plain loads, write, open, fsync, close, rename, read, raise, and
 * libunwind's local unwinding, which its manual states is signal-safe. No
 * snprintf, no malloc: numbers are formatted by hand into a static buffer,
 * which is safe because only one thread ever gets past the busy flag.
 *
 * Symbolization (function, file and line) is not signal-safe (dladdr takes
 * the loader's lock, libdw allocates), so the report keeps, per frame, the
 * address, the file mapped there (from /proc/self/maps, read with read(2))
 * and the offset into that file's load address: exactly what `addr2line
 * -e FILE OFFSET` needs. The next `molt run` in the home runs addr2line on
 * each frame before it clears <home>/code, where the module copies live,
 * and rewrites the report with the results. */
#include "crash.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "actor.h"
#include "callsite.h"
#include "fs.h"
#include "log.h"
#include "version.h"

#define MAX_FRAMES 48
#define REPORT_MAX 32768
#define SYMBOLIZED_MARK "(symbolized with addr2line by the next run)\n"

static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

/* Set once at install, read by the handler: paths of the report. */
static char tmp_path[PATH_MAX];
static char final_path[PATH_MAX];

/* The handler's working memory: static, not on the (alternate) stack. */
static char report[REPORT_MAX];
static size_t report_len;
typedef struct {
  uintptr_t ip, base;
  char path[256];
} frame_t;
static frame_t frames[MAX_FRAMES];
static int nframes;

/* ---- formatting without libc's formatters ---- */

static void put_n(const char* s, size_t n) {
  if (n > REPORT_MAX - 1 - report_len) n = REPORT_MAX - 1 - report_len;
  memcpy(report + report_len, s, n); /* memcpy and strlen are async-signal-safe since POSIX 2016 */
  report_len += n;
}

static void put(const char* s) { put_n(s, strlen(s)); }

static void put_dec(unsigned long v) {
  char b[24];
  int i = sizeof(b);
  do b[--i] = (char)('0' + v % 10);
  while ((v /= 10) && i > 0);
  put_n(b + i, sizeof(b) - (size_t)i);
}

static void put_hex(uintptr_t v) {
  char b[2 + 2 * sizeof(v)];
  int i = sizeof(b);
  do b[--i] = "0123456789abcdef"[v & 15];
  while ((v >>= 4) && i > 2);
  b[--i] = 'x';
  b[--i] = '0';
  put_n(b + i, sizeof(b) - (size_t)i);
}

static const char* sig_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    default: return "signal";
  }
}

/* The signals whose si_addr is the faulting address; SIGABRT's is not. */
static bool has_fault_addr(int sig) { return sig != SIGABRT; }

/* ---- the backtrace ---- */

static void unwind(void* uc) {
  unw_cursor_t c;
  nframes = 0;
#if defined(__x86_64__) || defined(__aarch64__)
  /* The kernel's ucontext is libunwind's context on these: unwinding
   * starts at the faulting instruction, not in this handler. */
  if (unw_init_local2(&c, (unw_context_t*)uc, UNW_INIT_SIGNAL_FRAME) != 0) return;
#else
  unw_context_t ctx;
  if (unw_getcontext(&ctx) != 0 || unw_init_local(&c, &ctx) != 0) return;
#endif
  do {
    unw_word_t ip = 0;
    if (unw_get_reg(&c, UNW_REG_IP, &ip) != 0 || ip == 0) break;
    frames[nframes].ip = (uintptr_t)ip;
    frames[nframes].base = 0;
    frames[nframes].path[0] = '\0';
    nframes++;
  } while (nframes < MAX_FRAMES && unw_step(&c) > 0);
}

static uintptr_t parse_hex(const char** p) {
  uintptr_t v = 0;
  for (;; (*p)++) {
    char ch = **p;
    if (ch >= '0' && ch <= '9') v = v * 16 + (uintptr_t)(ch - '0');
    else if (ch >= 'a' && ch <= 'f') v = v * 16 + (uintptr_t)(ch - 'a' + 10);
    else return v;
  }
}

static void skip_field(const char** p) {
  while (**p && **p != ' ') (*p)++;
  while (**p == ' ') (*p)++;
}

/* One line of /proc/self/maps: "start-end perms offset dev inode path".
 * A file's load address is the start of its mapping at offset 0, the one
 * before its others (the kernel lists mappings by address). */
static void map_line(const char* line) {
  static char base_path[sizeof(frames[0].path)];
  static uintptr_t base;
  const char* p = line;
  uintptr_t start = parse_hex(&p);
  if (*p++ != '-') return;
  uintptr_t end = parse_hex(&p);
  skip_field(&p);
  skip_field(&p);
  uintptr_t off = parse_hex(&p);
  while (*p == ' ') p++;
  skip_field(&p);
  skip_field(&p);
  if (*p != '/') return; /* anonymous, [stack], [vdso]... */
  size_t n = strlen(p);
  if (n >= sizeof(base_path)) n = sizeof(base_path) - 1;
  if (off == 0) {
    memcpy(base_path, p, n);
    base_path[n] = '\0';
    base = start;
  }
  for (int i = 0; i < nframes; i++) {
    frame_t* f = &frames[i];
    if (f->ip < start || f->ip >= end) continue;
    memcpy(f->path, p, n);
    f->path[n] = '\0';
    f->base = strcmp(base_path, f->path) == 0 ? base : start - off;
  }
}

static void resolve_frames(void) {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[4096], line[1024];
  size_t len = 0;
  ssize_t got;
  while ((got = read(fd, buf, sizeof(buf))) > 0) {
    for (ssize_t i = 0; i < got; i++) {
      if (buf[i] != '\n') {
        if (len < sizeof(line) - 1) line[len++] = buf[i];
        continue;
      }
      line[len] = '\0';
      map_line(line);
      len = 0;
    }
  }
  close(fd);
}

/* ---- the report ---- */

static void put_pid(const molt_actor_t* a) {
  molt_pid_t pid = molt__actor_pid(a);
  put("<");
  put_dec(MOLT__PID_INDEX(pid));
  put(".");
  put_dec(MOLT__PID_GEN(pid));
  put(">");
}

/* The first line, which the next run and status repeat: "SIGSEGV in
 * counter 1.0.0 (handle) of actor <64.1> "counter" at 0x0". */
static void put_summary(int sig, const siginfo_t* si, const molt_callsite_t* s, uintptr_t pc) {
  const molt_actor_t* a = s->actor;
  put(sig_name(sig));
  if (s->version) {
    put(" in ");
    put(s->version->name);
    put(" ");
    put(s->version->label);
    put(" (");
    put(s->callback);
    put(")");
  } else if (s->callback) {
    put(" in the ");
    put(s->callback);
    put(" of ");
    put(s->file ? s->file : "a module");
  } else {
    put(" in the runtime, outside module code");
  }
  if (a) {
    put(" of actor ");
    put_pid(a);
    if (a->ext && a->ext->name) {
      put(" \"");
      put(a->ext->name);
      put("\"");
    }
  }
  if (has_fault_addr(sig)) {
    put(" at ");
    put_hex((uintptr_t)si->si_addr);
  } else {
    put(" at pc ");
    put_hex(pc);
  }
}

static void build_report(int sig, const siginfo_t* si, void* uc) {
  molt_callsite_t s = molt__callsite;
  report_len = 0;
  unwind(uc);
  resolve_frames();
  uintptr_t pc = nframes ? frames[0].ip : 0;
  put("molt crash: ");
  put_summary(sig, si, &s, pc);
  put("\nsignal     ");
  put(sig_name(sig));
  put(" (");
  put_dec((unsigned long)sig);
  put("), si_code ");
  put_dec((unsigned long)(unsigned)si->si_code);
  if (has_fault_addr(sig)) {
    put(", fault address ");
    put_hex((uintptr_t)si->si_addr);
  }
  put("\nos pid     ");
  put_dec((unsigned long)getpid());
  struct timespec now;
  if (clock_gettime(CLOCK_REALTIME, &now) == 0) {
    put("\ntime       ");
    put_dec((unsigned long)now.tv_sec);
    put(" (unix seconds)");
  }
  const molt_actor_t* a = s.actor;
  put("\nactor      ");
  if (a) {
    put_pid(a);
    if (a->ext && a->ext->name) {
      put(" \"");
      put(a->ext->name);
      put("\"");
    }
  } else {
    put("-");
  }
  put("\nmodule     ");
  if (s.version) {
    const molt_version_t* v = s.version;
    put(v->name);
    put(" ");
    put(v->vsn);
    put(" (label ");
    put(v->label);
    put(", revision ");
    put_dec(v->revision);
    put(")\ncode file  ");
    put(v->priv_path ? v->priv_path : "-");
    put("\nsource     ");
    put(v->src_path ? v->src_path : "-");
  } else {
    put(s.file ? s.file : "-");
  }
  put("\ncallback   ");
  put(s.callback ? s.callback : "-");
  put("\nbacktrace  (frame, address, file +offset for addr2line -e file; callers' offsets are return addresses)\n");
  for (int i = 0; i < nframes; i++) {
    put("  #");
    put_dec((unsigned long)i);
    put(" ");
    put_hex(frames[i].ip);
    put(" ");
    if (frames[i].path[0]) {
      put(frames[i].path);
      put(" +");
      put_hex(frames[i].ip - frames[i].base);
    } else {
      put("?");
    }
    put("\n");
  }
  if (!nframes) put("  (none: the stack could not be unwound)\n");
}

static void on_fatal(int sig, siginfo_t* si, void* uc) {
  static atomic_flag busy = ATOMIC_FLAG_INIT;
  int saved = errno;
  if (atomic_flag_test_and_set(&busy)) {
    /* Another thread is writing the report (of another signal: this one's
     * handler was reset). It ends the process; wait for that. */
    for (;;) pause();
  }
  build_report(sig, si, uc);
  /* molt__fs_write_all is write(2) in a loop: async-signal-safe. Nobody
   * to tell of a failure. */
  (void)molt__fs_write_all(2, "\n", 1);
  (void)molt__fs_write_all(2, report, report_len);
  if (tmp_path[0]) {
    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      (void)molt__fs_write_all(fd, report, report_len);
      fsync(fd);
      close(fd);
      /* Whole or not at all: the next run never reads half a report. */
      rename(tmp_path, final_path);
    }
  }
  errno = saved;
  /* SA_RESETHAND restored the default action; the signal is blocked
   * while this handler runs, so it lands, and kills, as the handler
   * returns. A fault would recur anyway; raise covers the rest. */
  signal(sig, SIG_DFL);
  raise(sig);
}

/* ---- after the fact: the next run, status, commit ---- */

static char* read_text(const char* path) {
  FILE* f = fopen(path, "r");
  if (!f) return NULL;
  char* buf = malloc(REPORT_MAX * 2 + 1);
  size_t n = buf ? fread(buf, 1, REPORT_MAX * 2, f) : 0;
  fclose(f);
  if (buf) buf[n] = '\0';
  return buf;
}

/* "FUNC at FILE:LINE" (or the part addr2line knew) for offset off of
 * file, into out; false if it knew nothing. */
static bool addr2line(const char* file, uintptr_t off, char* out, size_t len) {
  int p[2];
  if (pipe(p) != 0) return false;
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return false;
  }
  if (pid == 0) {
    char a[32];
    snprintf(a, sizeof(a), "0x%lx", (unsigned long)off);
    dup2(p[1], 1);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 2);
    close(p[0]);
    execlp("addr2line", "addr2line", "-f", "-e", file, a, (char*)NULL);
    _exit(127);
  }
  close(p[1]);
  char buf[1024];
  size_t n = 0;
  ssize_t got;
  while (n < sizeof(buf) - 1 && (got = read(p[0], buf + n, sizeof(buf) - 1 - n)) > 0) n += (size_t)got;
  buf[n] = '\0';
  close(p[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  char* nl = strchr(buf, '\n');
  if (!nl) return false;
  *nl = '\0';
  char* where = nl + 1;
  where[strcspn(where, "\n")] = '\0';
  /* "file:line (discriminator N)": the discriminator is noise here. */
  char* disc = strstr(where, " (discriminator");
  if (disc) *disc = '\0';
  bool fn = *buf && strcmp(buf, "??") != 0;
  bool at = *where && strncmp(where, "??", 2) != 0;
  if (!fn && !at) return false;
  snprintf(out, len, "%s%s%s", fn ? buf : "??", at ? " at " : "", at ? where : "");
  return true;
}

/* One backtrace line, "  #N 0xADDR FILE +0xOFF", with what addr2line
 * says appended. Callers' addresses are return addresses: the call is
 * the byte before. */
static void symbolize_line(const char* line, FILE* out) {
  unsigned idx;
  int at = 0;
  if (sscanf(line, "  #%u 0x%*x %n", &idx, &at) != 1 || !at) {
    fputs(line, out);
    return;
  }
  const char* file = line + at;
  const char* plus = strstr(file, " +0x");
  char sym[1200];
  if (plus) {
    char path[PATH_MAX];
    size_t n = (size_t)(plus - file);
    if (n < sizeof(path)) {
      memcpy(path, file, n);
      path[n] = '\0';
      uintptr_t off = (uintptr_t)strtoull(plus + 4, NULL, 16);
      if (idx > 0 && off > 0) off--;
      if (access(path, R_OK) == 0 && addr2line(path, off, sym, sizeof(sym))) {
        fprintf(out, "%.*s in %s\n", (int)strcspn(line, "\n"), line, sym);
        return;
      }
    }
  }
  fputs(line, out);
}

/* Rewrite the report at path with its backtrace symbolized, atomically. */
static void symbolize(const char* path, const char* text) {
  char tmp[PATH_MAX + 8];
  snprintf(tmp, sizeof(tmp), "%s.sym", path);
  FILE* out = fopen(tmp, "w");
  if (!out) return;
  for (const char* p = text; *p;) {
    size_t n = strcspn(p, "\n");
    char line[PATH_MAX + 128];
    size_t k = n + 1 < sizeof(line) - 1 ? n + 1 : sizeof(line) - 1;
    memcpy(line, p, k);
    line[k] = '\0';
    if (strncmp(line, "  #", 3) == 0)
      symbolize_line(line, out);
    else
      fputs(line, out);
    p += n + (p[n] == '\n');
  }
  fputs(SYMBOLIZED_MARK, out);
  if (fflush(out) == 0 && fsync(fileno(out)) == 0 && fclose(out) == 0)
    rename(tmp, path);
  else
    unlink(tmp);
}

/* The summary: the report's first line without "molt crash: ", into out. */
static void summary_of(const char* text, char* out, size_t len) {
  const char* p = strncmp(text, "molt crash: ", 12) == 0 ? text + 12 : text;
  snprintf(out, len, "%.*s", (int)strcspn(p, "\n"), p);
}

void molt__crash_start(const char* home) {
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/" MOLT_CRASH_FILE, home);
  char* text = read_text(path);
  if (text && !strstr(text, SYMBOLIZED_MARK)) {
    symbolize(path, text);
    char line[1024];
    summary_of(text, line, sizeof(line));
    molt__log_warn("molt run: the previous run crashed: %s; report: %s", line, path);
  }
  free(text);

  int n = snprintf(tmp_path, sizeof(tmp_path), "%s/crash.%ld.tmp", home, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof(tmp_path) ||
      (size_t)snprintf(final_path, sizeof(final_path), "%s", path) >= sizeof(final_path))
    tmp_path[0] = '\0'; /* too long a home: stderr only */
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = on_fatal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) sigaddset(&sa.sa_mask, fatal[i]);
  for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) sigaction(fatal[i], &sa, NULL);
}

cJSON* molt__crash_json(const char* home) {
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/" MOLT_CRASH_FILE, home);
  char* text = read_text(path);
  if (!text) return NULL;
  char line[1024];
  summary_of(text, line, sizeof(line));
  cJSON* o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "summary", line);
  cJSON_AddStringToObject(o, "path", path);
  cJSON_AddStringToObject(o, "report", text);
  free(text);
  return o;
}

void molt__crash_retire(const char* home) {
  char from[PATH_MAX], to[PATH_MAX];
  snprintf(from, sizeof(from), "%s/" MOLT_CRASH_FILE, home);
  snprintf(to, sizeof(to), "%s/" MOLT_CRASH_OLD_FILE, home);
  rename(from, to);
}
