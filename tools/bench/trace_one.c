/* trace_one.c: molt-bench's --trace-one: one actor of a workload traced
 * as `molt trace PID` would trace it (a session at the default rate, read
 * every 100 ms by a thread of its own, as the command polls), to measure
 * what tracing costs the traced actor and the others. Not the workloads. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "trace.h"

static uint64_t session;
static pthread_t reader;
static atomic_bool reading;
static uint64_t events, dropped;

static void* read_loop(void* arg) {
  (void)arg;
  /* On the heap: 64 KB of static buffer here moved the runtime's globals,
   * and that alone cost ping-pong 2 ns a round trip. */
  molt_trace_event_t* ev = malloc(256 * sizeof(*ev));
  if (!ev) return NULL;
  bool gone = false;
  while (!gone && atomic_load(&reading)) {
    uint32_t n = 0;
    uint64_t d;
    bool done;
    do {
      gone = molt__trace_read(session, ev, 256, &n, &d, &done) != 0;
      if (gone) break;
      events += n;
      dropped += d;
    } while (n == 256);
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
  }
  free(ev);
  return NULL;
}

int bench_trace_one(molt_pid_t pid) {
  molt_trace_spec_t spec = {pid, NULL, MOLT_TRACE_RATE_DEFAULT, 0};
  unsigned busy;
  char err[256];
  int rc = molt__trace_start(&spec, &session, &busy, err, sizeof(err));
  if (rc) {
    fprintf(stderr, "molt-bench: --trace-one: %s\n", err);
    return -1;
  }
  atomic_store(&reading, true);
  if (pthread_create(&reader, NULL, read_loop, NULL) != 0) {
    molt__trace_stop(session);
    fprintf(stderr, "molt-bench: --trace-one: no reader thread\n");
    return -1;
  }
  return 0;
}

void bench_trace_end(void) {
  atomic_store(&reading, false);
  pthread_join(reader, NULL);
  molt__trace_stop(session);
  fprintf(stderr, "molt-bench: --trace-one: %llu events read, %llu dropped over %u/s\n",
          (unsigned long long)events, (unsigned long long)dropped, MOLT_TRACE_RATE_DEFAULT);
}
