/* bench.c: the harness behind bench.h. The sink is a builtin module (as
 * the supervisor is): the one piece of molt-bench that must reach the host
 * thread, which a .so module cannot (it sees only the public molt_* API).
 * The workloads themselves are ordinary .so modules, loaded through the
 * code server as a user's modules are. */
#include "bench.h"

#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actor.h"
#include "code_server.h"
#include "host.h"
#include "runtime.h"
#include "sched.h"
#include "version.h"

static const bench_cfg_t* cfg;
static char* scratch;
static molt_pid_t sink_pid;

/* ---- the sink: every USER message it gets is queued for bench_recv. */

typedef struct qmsg {
  struct qmsg* next;
  bench_msg_t m;
} qmsg_t;

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond;
static qmsg_t *q_head, *q_tail;

static int sink_init(const molt_args_t* args, void** state) {
  *state = molt_alloc(1);
  return *state ? 0 : MOLT_ENOMEM;
}

static int sink_handle(void* state, const molt_msg_t* msg) {
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  qmsg_t* q = calloc(1, sizeof(*q));
  void* data = malloc(msg->size ? msg->size : 1);
  if (!q || !data) {
    fprintf(stderr, "molt-bench: out of memory in the sink\n");
    exit(1);
  }
  memcpy(data, msg->data, msg->size);
  q->m = (bench_msg_t){msg->tag, msg->size, data};
  pthread_mutex_lock(&q_lock);
  if (q_tail)
    q_tail->next = q;
  else
    q_head = q;
  q_tail = q;
  pthread_cond_signal(&q_cond);
  pthread_mutex_unlock(&q_lock);
  return MOLT_OK;
}

static void sink_free_state(void* state) { molt_free(state); }

static const molt_module_t sink_module = {
    .magic = MOLT_MAGIC,
    .abi = MOLT_ABI_VERSION,
    .size = sizeof(molt_module_t),
    .state_vsn = 1,
    .name = "bench_sink",
    .vsn = "1.0.0",
    .init = sink_init,
    .handle = sink_handle,
    .free_state = sink_free_state,
};

int bench_recv(bench_msg_t* m, unsigned timeout_ms) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&q_lock);
  while (!q_head)
    if (pthread_cond_timedwait(&q_cond, &q_lock, &until) != 0) break;
  qmsg_t* q = q_head;
  if (q) {
    q_head = q->next;
    if (!q_head) q_tail = NULL;
  }
  pthread_mutex_unlock(&q_lock);
  if (!q) return -1;
  *m = q->m;
  free(q);
  return 0;
}

int bench_expect(uint32_t tag, void* out, size_t size, unsigned timeout_ms) {
  bench_msg_t m;
  if (bench_recv(&m, timeout_ms) != 0) {
    fprintf(stderr, "molt-bench: no report (tag %u) within %u ms\n", tag, timeout_ms);
    return -1;
  }
  int rc = 0;
  if (m.tag != tag || m.size < size) {
    fprintf(stderr, "molt-bench: expected report tag %u of %zu bytes, got tag %u of %zu\n", tag, size, m.tag,
            m.size);
    rc = -1;
  } else {
    memcpy(out, m.data, size);
  }
  free(m.data);
  return rc;
}

/* ---- runtime */

static int rm_one(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
  remove(path);
  return 0;
}

int bench_start(const bench_cfg_t* c) {
  cfg = c;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&q_cond, &ca);
  pthread_condattr_destroy(&ca);
  char tmpl[] = "/tmp/molt-bench.XXXXXX";
  if (!mkdtemp(tmpl)) {
    perror("molt-bench: mkdtemp");
    return -1;
  }
  scratch = strdup(tmpl);
  char code[4096], err[512];
  snprintf(code, sizeof(code), "%s/code", scratch);
  int rc = molt__code_init(code);
  if (rc) {
    fprintf(stderr, "molt-bench: code server: %s\n", molt_strerror(rc));
    return -1;
  }
  rc = molt__host_start(c->sched, err, sizeof(err));
  if (rc) {
    fprintf(stderr, "molt-bench: %s\n", err);
    return -1;
  }
  molt_version_t* v = NULL;
  if ((rc = molt__version_builtin(&sink_module, &v)) || (rc = molt__code_install_builtin(v))) {
    fprintf(stderr, "molt-bench: sink: %s\n", molt_strerror(rc));
    return -1;
  }
  molt__version_unref(v);
  /* The last scheduler: the workloads' main actors start on the first. */
  rc = bench_spawn_on(molt__rt.nsched - 1, "bench_sink", NULL, &sink_pid);
  if (rc) {
    fprintf(stderr, "molt-bench: sink: %s\n", molt_strerror(rc));
    return -1;
  }
  return 0;
}

void bench_stop(void) {
  molt__host_stop();
  molt__code_close();
  if (scratch) nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(scratch);
  scratch = NULL;
  bench_msg_t m;
  while (bench_recv(&m, 0) == 0) free(m.data);
}

unsigned bench_nsched(void) { return molt__rt.nsched; }

molt_pid_t bench_sink(void) { return sink_pid; }

const char* bench_module_path(const char* name, const char* vsn, char* buf, size_t len) {
  snprintf(buf, len, "%s/%s-%s.so", cfg->module_dir, name, vsn);
  return buf;
}

int bench_load(const char* name, const char* vsn) {
  char path[4096], err[512];
  int rc = molt__code_load(bench_module_path(name, vsn, path, sizeof(path)), name, NULL, err, sizeof(err));
  if (rc) fprintf(stderr, "molt-bench: load %s: %s\n", path, err);
  return rc;
}

typedef struct {
  molt_version_t* v;
  const char* args;
  molt_pid_t pid;
  int rc;
} spawn_req;

static void spawn_here(void* arg) {
  spawn_req* r = arg;
  r->rc = molt__actor_spawn(r->v, r->args, NULL, 0, molt__sched_current(), &r->pid, NULL);
}

/* molt__runtime_spawn picks the scheduler round robin; the benchmarks
 * need to know which one (ping-pong on one scheduler or across two), so
 * they post the spawn to the one they want. */
int bench_spawn_on(unsigned sched, const char* module, const char* args_json, molt_pid_t* pid) {
  molt_version_t* v = molt__code_get_current(module);
  if (!v) return MOLT_ENOMODULE;
  spawn_req r = {v, args_json, MOLT_PID_NONE, 0};
  int rc = molt__sched_call(&molt__rt.scheds[sched % molt__rt.nsched], spawn_here, &r);
  molt__version_unref(v);
  if (rc) return rc;
  if (r.rc == 0) *pid = r.pid;
  return r.rc;
}

/* ---- output and measurement */

void bench_emit(const char* name, const char* fmt, ...) {
  printf("molt %s sched=%u ", name, molt__rt.nsched);
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

double bench_pct(double* v, size_t n, double p) {
  if (n == 0) return 0;
  qsort(v, n, sizeof(*v), cmp_double);
  long k = lround(p / 100.0 * (double)n + 0.5 - 1e-9);
  if (k < 1) k = 1;
  if (k > (long)n) k = (long)n;
  return v[k - 1];
}

uint64_t bench_now_ns(void) { return molt__now_ns(); }

long bench_rss(void) {
  FILE* f = fopen("/proc/self/statm", "r");
  long size = 0, rss = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &size, &rss) != 2) rss = 0;
    fclose(f);
  }
  return rss * sysconf(_SC_PAGESIZE);
}
