/* http_load.c: molt-http-load, the load generator behind the demo HTTP
 * service's zero-drop proof. N keep-alive connections (split over T
 * threads, each an epoll loop) send requests back to back for D seconds or
 * until SIGINT/SIGTERM, and EVERY response is checked: status 200, a
 * Content-Length, an X-Molt-Version from the allowed set, and a body that
 * names the same version. Not a general HTTP client: it knows the answers
 * of modules/http and nothing else (no chunked bodies, no redirects).
 *
 * Upgrade windows: SIGUSR1 marks the start of one, SIGUSR2 its end (the
 * bench script signals around each `molt upgrade`). A request counts as
 * "during" if a window was open at any moment while it was in flight
 * (sent inside one, or a window edge passed before its answer), else
 * "outside"; each gets its own latency histogram.
 *
 * Prints one line, key=value, and exits 1 if anything failed:
 *   http_load conns=64 threads=2 secs=10.00 requests=... rps=... failed=0
 *   resets=0 eofs=0 timeouts=0 ... p50_ms=... p99_ms=... during_requests=...
 *   during_p99_ms=... outside_p99_ms=... windows=... puts=... versions=1.1.0:...,2.0.0:... */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_VSNS 8
#define MAX_DEPTH 64
#define RBUF 65536
/* Latency histogram: 10 µs buckets up to 2 s, then one overflow bucket. */
#define HIST_US 10
#define HIST_N 200001

typedef struct {
  const char* host;
  int port, conns, threads, depth, put_every;
  double secs;
  const char* vsn[MAX_VSNS];
  int nvsn;
  char* vsn_text; /* what vsn[] points into */
} opts_t;

typedef struct {
  uint64_t requests, failed, resets, eofs, timeouts, connect_errors, puts, during;
  uint64_t by_vsn[MAX_VSNS + 1]; /* the last: versions not in the set */
  uint64_t* hist[2];             /* [0] outside windows, [1] during */
  char first_failure[160];
} stats_t;

typedef struct {
  int fd, id;
  uint64_t sent_ns[MAX_DEPTH];
  unsigned sent_epoch[MAX_DEPTH];
  bool sent_put[MAX_DEPTH];
  int head, inflight; /* ring of requests awaiting answers, oldest at head */
  uint64_t nsent;
  char rbuf[RBUF];
  size_t rlen;
} conn_t;

typedef struct {
  const opts_t* o;
  int ep, n;
  conn_t* c;
  stats_t st;
} worker_t;

static atomic_uint epoch;   /* odd while an upgrade window is open */
static atomic_uint windows; /* windows opened */
static volatile sig_atomic_t stop_now;
static uint64_t deadline_ns;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig) {
  if (sig == SIGUSR1 && atomic_load(&epoch) % 2 == 0) {
    atomic_fetch_add(&epoch, 1);
    atomic_fetch_add(&windows, 1);
  } else if (sig == SIGUSR2 && atomic_load(&epoch) % 2 == 1) {
    atomic_fetch_add(&epoch, 1);
  } else if (sig == SIGINT || sig == SIGTERM) {
    stop_now = 1;
  }
}

static void fail(stats_t* st, const char* what, const conn_t* c) {
  st->failed++;
  if (!st->first_failure[0]) snprintf(st->first_failure, sizeof(st->first_failure), "conn %d: %s", c->id, what);
}

static int dial(const opts_t* o) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr*)&sa, sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  return fd; /* blocking connect, then non-blocking I/O: simpler, and only at start or after an error */
}

static void send_one(worker_t* w, conn_t* c) {
  const opts_t* o = w->o;
  char req[160];
  bool put = o->put_every > 0 && c->nsent % (uint64_t)o->put_every == (uint64_t)o->put_every - 1;
  int n = put ? snprintf(req, sizeof(req), "PUT /keys/load-%d HTTP/1.1\r\nHost: l\r\nContent-Length: 0\r\n\r\n",
                         c->id % 16)
              : snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: l\r\n\r\n");
  /* Requests are tiny and answers are read before more are sent, so the
   * socket buffer always has room: a short write would be a broken
   * connection, and is reported as one. */
  ssize_t wr = send(c->fd, req, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (wr != n) {
    if (wr < 0 && (errno == ECONNRESET || errno == EPIPE)) w->st.resets++;
    else fail(&w->st, "short write", c);
    return;
  }
  int slot = (c->head + c->inflight) % MAX_DEPTH;
  c->sent_ns[slot] = now_ns();
  c->sent_epoch[slot] = atomic_load(&epoch);
  c->sent_put[slot] = put;
  c->inflight++;
  c->nsent++;
}

static void fill(worker_t* w, conn_t* c) {
  while (c->fd >= 0 && c->inflight < w->o->depth && !stop_now && now_ns() < deadline_ns) send_one(w, c);
}

static const char* header(const char* head, size_t len, const char* name, size_t* vlen) {
  size_t nl = strlen(name);
  for (const char* p = head; p + nl < head + len; p++) {
    if ((p == head || p[-1] == '\n') && strncasecmp(p, name, nl) == 0) {
      const char* v = p + nl;
      while (*v == ' ') v++;
      const char* e = v;
      while (e < head + len && *e != '\r') e++;
      *vlen = (size_t)(e - v);
      return v;
    }
  }
  return NULL;
}

static void record(worker_t* w, conn_t* c, int vsn_index) {
  int slot = c->head;
  uint64_t lat_us = (now_ns() - c->sent_ns[slot]) / 1000;
  unsigned e0 = c->sent_epoch[slot], e1 = atomic_load(&epoch);
  bool during = (e0 % 2 == 1) || e1 != e0;
  size_t b = lat_us / HIST_US;
  w->st.hist[during][b < HIST_N - 1 ? b : HIST_N - 1]++;
  w->st.requests++;
  w->st.during += during;
  w->st.puts += c->sent_put[slot];
  w->st.by_vsn[vsn_index]++;
  c->head = (c->head + 1) % MAX_DEPTH;
  c->inflight--;
}

/* One complete response at the front of rbuf: its length, 0 if more bytes
 * are needed, -1 if it is not a valid answer (recorded as a failure). */
static long parse_one(worker_t* w, conn_t* c) {
  const char* end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
  if (!end) return c->rlen >= RBUF ? (fail(&w->st, "header too long", c), -1) : 0;
  size_t hlen = (size_t)(end - c->rbuf) + 4, vl = 0, cl_len = 0;
  const char* cl = header(c->rbuf, hlen, "Content-Length:", &cl_len);
  if (!cl) return fail(&w->st, "no Content-Length", c), -1;
  size_t blen = strtoul(cl, NULL, 10);
  if (hlen + blen > RBUF) return fail(&w->st, "body too long", c), -1;
  if (c->rlen < hlen + blen) return 0;
  if (c->inflight == 0) return fail(&w->st, "an answer nobody asked for", c), -1;
  if (strncmp(c->rbuf, "HTTP/1.1 200 ", 13) != 0) {
    char what[64];
    snprintf(what, sizeof(what), "status %.12s", c->rbuf);
    return fail(&w->st, what, c), -1;
  }
  const char* v = header(c->rbuf, hlen, "X-Molt-Version:", &vl);
  if (!v) return fail(&w->st, "no X-Molt-Version", c), -1;
  int vi = w->o->nvsn ? MAX_VSNS : 0;
  for (int i = 0; i < w->o->nvsn; i++)
    if (strlen(w->o->vsn[i]) == vl && memcmp(v, w->o->vsn[i], vl) == 0) vi = i;
  if (vi == MAX_VSNS) return fail(&w->st, "a version not in the set", c), -1;
  /* The body names the version that answered: header and body agree. */
  char want[32];
  snprintf(want, sizeof(want), "%.*s", (int)(vl < 20 ? vl : 20), v);
  if (!memmem(c->rbuf + hlen, blen, want, strlen(want))) return fail(&w->st, "body names another version", c), -1;
  record(w, c, vi);
  return (long)(hlen + blen);
}

static void drop(worker_t* w, conn_t* c) {
  epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  c->rlen = 0;
  c->inflight = 0;
  c->head = 0;
}

static bool open_conn(worker_t* w, conn_t* c) {
  c->fd = dial(w->o);
  if (c->fd < 0) {
    w->st.connect_errors++;
    return false;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev);
  fill(w, c);
  return true;
}

static void on_readable(worker_t* w, conn_t* c) {
  for (;;) {
    ssize_t r = recv(c->fd, c->rbuf + c->rlen, RBUF - c->rlen, MSG_DONTWAIT);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (r <= 0) {
      if (r == 0) w->st.eofs++;
      else w->st.resets++;
      drop(w, c);
      if (!stop_now && now_ns() < deadline_ns) open_conn(w, c);
      return;
    }
    c->rlen += (size_t)r;
    long n;
    while ((n = parse_one(w, c)) > 0) {
      memmove(c->rbuf, c->rbuf + n, c->rlen - (size_t)n);
      c->rlen -= (size_t)n;
    }
    if (n < 0) {
      drop(w, c);
      if (!stop_now && now_ns() < deadline_ns) open_conn(w, c);
      return;
    }
  }
  fill(w, c);
}

static int busy(worker_t* w) {
  int n = 0;
  for (int i = 0; i < w->n; i++) n += w->c[i].fd >= 0 && w->c[i].inflight > 0;
  return n;
}

static void* run(void* arg) {
  worker_t* w = arg;
  w->ep = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < w->n; i++) open_conn(w, &w->c[i]);
  struct epoll_event evs[64];
  /* After the deadline, answers already asked for still count: wait up to
   * 5 s for them; those that never come are timeouts (lost requests). */
  uint64_t drain_until = 0;
  for (;;) {
    bool sending = !stop_now && now_ns() < deadline_ns;
    if (!sending) {
      if (!drain_until) drain_until = now_ns() + 5000000000ull;
      if (!busy(w) || now_ns() > drain_until) break;
    }
    int n = epoll_wait(w->ep, evs, 64, 50);
    for (int i = 0; i < n; i++) on_readable(w, evs[i].data.ptr);
  }
  for (int i = 0; i < w->n; i++) {
    if (w->c[i].fd < 0) continue;
    w->st.timeouts += (uint64_t)w->c[i].inflight;
    close(w->c[i].fd);
  }
  close(w->ep);
  return NULL;
}

static double percentile(const uint64_t* h, uint64_t total, double q) {
  if (!total) return 0;
  uint64_t want = (uint64_t)(q * (double)total), seen = 0;
  for (size_t i = 0; i < HIST_N; i++) {
    seen += h[i];
    if (seen > want) return (double)((i + 1) * HIST_US) / 1000.0;
  }
  return (double)(HIST_N * HIST_US) / 1000.0;
}

static void usage(void) {
  fprintf(stderr,
          "usage: molt-http-load --port P [--conns N] [--threads T] [--secs D] [--depth K]\n"
          "                      [--put-every M] [--versions V1,V2,...]\n"
          "SIGUSR1/SIGUSR2 open/close an upgrade window; SIGINT/SIGTERM stop early.\n");
  exit(2);
}

static void parse_args(int argc, char** argv, opts_t* o) {
  *o = (opts_t){.host = "127.0.0.1", .conns = 64, .threads = 1, .depth = 1, .secs = 10};
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) usage();
    i++;
    if (!strcmp(a, "--port")) o->port = atoi(v);
    else if (!strcmp(a, "--conns")) o->conns = atoi(v);
    else if (!strcmp(a, "--threads")) o->threads = atoi(v);
    else if (!strcmp(a, "--secs")) o->secs = atof(v);
    else if (!strcmp(a, "--depth")) o->depth = atoi(v);
    else if (!strcmp(a, "--put-every")) o->put_every = atoi(v);
    else if (!strcmp(a, "--versions")) {
      char* copy = o->vsn_text = strdup(v);
      for (char* t = strtok(copy, ","); t && o->nvsn < MAX_VSNS; t = strtok(NULL, ",")) o->vsn[o->nvsn++] = t;
    } else usage();
  }
  if (o->port <= 0 || o->conns <= 0 || o->threads <= 0 || o->depth <= 0 || o->depth > MAX_DEPTH || o->secs <= 0)
    usage();
  if (o->threads > o->conns) o->threads = o->conns;
}

int main(int argc, char** argv) {
  opts_t o;
  parse_args(argc, argv, &o);
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGUSR2, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  conn_t* conns = calloc((size_t)o.conns, sizeof(conn_t));
  worker_t* ws = calloc((size_t)o.threads, sizeof(worker_t));
  pthread_t* th = calloc((size_t)o.threads, sizeof(pthread_t));
  if (!conns || !ws || !th) return 2;
  for (int i = 0; i < o.conns; i++) conns[i] = (conn_t){.fd = -1, .id = i};
  uint64_t t0 = now_ns();
  deadline_ns = t0 + (uint64_t)(o.secs * 1e9);
  for (int t = 0, at = 0; t < o.threads; t++) {
    int n = o.conns / o.threads + (t < o.conns % o.threads);
    ws[t] = (worker_t){.o = &o, .n = n, .c = conns + at};
    ws[t].st.hist[0] = calloc(HIST_N, sizeof(uint64_t));
    ws[t].st.hist[1] = calloc(HIST_N, sizeof(uint64_t));
    at += n;
    pthread_create(&th[t], NULL, run, &ws[t]);
  }
  stats_t all = {.hist = {calloc(HIST_N, sizeof(uint64_t)), calloc(HIST_N, sizeof(uint64_t))}};
  for (int t = 0; t < o.threads; t++) {
    pthread_join(th[t], NULL);
    stats_t* s = &ws[t].st;
    all.requests += s->requests, all.failed += s->failed, all.resets += s->resets, all.eofs += s->eofs;
    all.timeouts += s->timeouts, all.connect_errors += s->connect_errors, all.puts += s->puts;
    all.during += s->during;
    for (int i = 0; i <= MAX_VSNS; i++) all.by_vsn[i] += s->by_vsn[i];
    for (int k = 0; k < 2; k++)
      for (size_t i = 0; i < HIST_N; i++) all.hist[k][i] += s->hist[k][i];
    if (!all.first_failure[0]) memcpy(all.first_failure, s->first_failure, sizeof(all.first_failure));
  }
  double secs = (double)(now_ns() - t0) / 1e9;
  uint64_t* both = calloc(HIST_N, sizeof(uint64_t));
  for (size_t i = 0; i < HIST_N; i++) both[i] = all.hist[0][i] + all.hist[1][i];
  uint64_t outside = all.requests - all.during;
  printf("http_load conns=%d threads=%d depth=%d secs=%.2f requests=%llu rps=%.0f failed=%llu resets=%llu "
         "eofs=%llu timeouts=%llu connect_errors=%llu puts=%llu p50_ms=%.2f p99_ms=%.2f windows=%u "
         "during_requests=%llu during_p99_ms=%.2f outside_requests=%llu outside_p99_ms=%.2f versions=",
         o.conns, o.threads, o.depth, secs, (unsigned long long)all.requests, (double)all.requests / secs,
         (unsigned long long)all.failed, (unsigned long long)all.resets, (unsigned long long)all.eofs,
         (unsigned long long)all.timeouts, (unsigned long long)all.connect_errors, (unsigned long long)all.puts,
         percentile(both, all.requests, 0.50), percentile(both, all.requests, 0.99), atomic_load(&windows),
         (unsigned long long)all.during, percentile(all.hist[1], all.during, 0.99), (unsigned long long)outside,
         percentile(all.hist[0], outside, 0.99));
  for (int i = 0; i < o.nvsn; i++) printf("%s%s:%llu", i ? "," : "", o.vsn[i], (unsigned long long)all.by_vsn[i]);
  if (!o.nvsn) printf("any:%llu", (unsigned long long)all.by_vsn[0]);
  printf("\n");
  if (all.first_failure[0]) fprintf(stderr, "molt-http-load: first failure: %s\n", all.first_failure);
  for (int t = 0; t < o.threads; t++) free(ws[t].st.hist[0]), free(ws[t].st.hist[1]);
  free(all.hist[0]), free(all.hist[1]), free(both), free(conns), free(ws), free(th), free(o.vsn_text);
  bool bad = all.failed || all.resets || all.eofs || all.timeouts || all.connect_errors || !all.requests;
  return bad ? 1 : 0;
}
