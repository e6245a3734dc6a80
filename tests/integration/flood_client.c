/* flood_client.c: many TCP connections to one port on 127.0.0.1, held
 * until told to stop, for flood_test.c (issue 18, point 4) and by hand.
 * It is the client side only: it judges nothing about the server.
 *
 *   flood_client --port P [--count N] [--sources K] [--settle-ms MS]
 *   flood_client --check [--count N]
 *
 * Raises its own RLIMIT_NOFILE (soft and hard) to N + 1000. Where it may
 * not (no CAP_SYS_RESOURCE, as in a container that runs as root without
 * it), it spreads the N connections over as many worker processes as its
 * hard limit needs, each within that limit, and sums their figures: the
 * same flood from the server's side. It exits 77 with a "flood: cannot"
 * line only if that needs more than MAX_WORKERS processes. --check does
 * only that much, exiting 0 or 77, and opens nothing.
 * Opens N nonblocking connections, the i-th bound to source address
 * 127.0.0.(2 + i % K) with IP_BIND_ADDRESS_NO_PORT, so the port is chosen
 * at connect() for the whole 4-tuple and N = 100,000 does not run out of
 * the ~28,000 ephemeral ports one source address has. K defaults to 50,
 * not 5: the kernel's search for a free port to one destination grows
 * with the ports already taken from that source, and 100,000 over 5
 * sources took 68 s to issue on Linux 6.18 where over 50 it takes 2 s.
 * Once every connect() is issued and nothing has changed for MS ms
 * (default 1000; at most 10 s), prints one line
 *
 *   flood: attempted=N established=E refused=R failed=F pending=P
 *          peer_closed=C attempts_secs=A secs=S first_error=...   (one line)
 *
 * established: the handshake completed (the server's kernel accepted it,
 * which is not the server process accepting it: the listen backlog holds
 * some); pending: still in SYN_SENT (the backlog is full, the SYN was
 * dropped and is being retried); peer_closed: established, then closed or
 * reset by the server; attempts_secs: how long issuing every connect()
 * took; failed: anything but ECONNREFUSED, first_error the first such.
 * It then holds every connection, tracking closes, until stdin ends or
 * says "stop", or SIGTERM/SIGINT; "report" on stdin prints the line again. Then it closes everything, prints
 * "flood: closed N in S s" and exits 0. Kill it and it takes its workers
 * with it (PR_SET_PDEATHSIG); flood_test.c starts it with the same. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { PENDING, ESTABLISHED, GONE };

#define MAX_WORKERS 64

static volatile sig_atomic_t stop;
static int count = 100000, sources = 50, port, settle_ms = 1000;
/* A worker's share: connections first .. first + n - 1 of the count. */
static int first, n;
static int *fds;
static unsigned char* state;
static int attempted, established, refused, failed, peer_closed;
static char first_error[128] = "none";
static int ep;
static double t0, attempts_secs;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static void note_error(const char* what, int err) {
  if (strcmp(first_error, "none") == 0) snprintf(first_error, sizeof(first_error), "%s:%s", what, strerror(err));
}

static void report(const char* prefix) {
  int pending = attempted - established - refused - failed;
  printf("%sflood: attempted=%d established=%d refused=%d failed=%d pending=%d peer_closed=%d attempts_secs=%.2f "
         "secs=%.2f first_error=%s\n",
         prefix, attempted, established, refused, failed, pending, peer_closed, attempts_secs, now() - t0, first_error);
  fflush(stdout);
}

/* A connection failed before it was established: count it, let it go. */
static void lost(int i, int err) {
  if (err == ECONNREFUSED) {
    refused++;
  } else {
    failed++;
    note_error("connect", err);
  }
  epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
  close(fds[i]);
  fds[i] = -1;
  state[i] = GONE;
}

/* Harvest what epoll has; timeout_ms as epoll_wait. Returns the number of
 * state changes. */
static int harvest(int timeout_ms) {
  struct epoll_event ev[4096];
  int got = epoll_wait(ep, ev, 4096, timeout_ms);
  int changed = 0;
  for (int k = 0; k < got; k++) {
    int i = (int)ev[k].data.u32;
    if (fds[i] < 0) continue;
    if (state[i] == PENDING) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0 && (ev[k].events & EPOLLOUT)) {
        state[i] = ESTABLISHED;
        established++;
        /* From now on only the server's close is of interest. */
        struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_MOD, fds[i], &e);
      } else if (err) {
        lost(i, err);
      } else {
        continue;
      }
      changed++;
    } else if (state[i] == ESTABLISHED) {
      /* Closed or reset by the server (it sends nothing unasked). The fd
       * is kept until stop, as a client that has not noticed would. */
      peer_closed++;
      state[i] = GONE;
      epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
      changed++;
    }
  }
  return changed;
}

static void open_all(void) {
  for (int i = 0; i < n && !stop; i++) {
    attempted++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      failed++;
      note_error("socket", errno);
      fds[i] = -1;
      state[i] = GONE;
      continue;
    }
    fds[i] = fd;
    int on = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on));
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)((first + i) % sources));
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct epoll_event e = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
    if (bind(fd, (struct sockaddr*)&src, sizeof(src)) != 0) {
      int err = errno;
      failed++;
      note_error("bind", err);
      close(fd);
      fds[i] = -1;
      state[i] = GONE;
      continue;
    }
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    if (connect(fd, (struct sockaddr*)&dst, sizeof(dst)) != 0 && errno != EINPROGRESS) {
      lost(i, errno);
      continue;
    }
    if (i % 512 == 511) harvest(0);
  }
}

static int work(void);

/* The figures of a report line, summed over workers. */
typedef struct {
  long attempted, established, refused, failed, peer_closed, closed;
  double secs, attempts_secs;
  char first_error[128];
} tally_t;

static long num(const char* line, const char* key) {
  const char* f = strstr(line, key);
  return f ? atol(f + strlen(key)) : 0;
}

/* One line from fd (blocking), without its newline; false at the end. */
static bool read_line(int fd, char* buf, size_t len) {
  size_t k = 0;
  char c;
  while (k < len - 1 && read(fd, &c, 1) == 1) {
    if (c == '\n') {
      buf[k] = '\0';
      return true;
    }
    buf[k++] = c;
  }
  buf[k] = '\0';
  return false;
}

static void add(tally_t* t, const char* line) {
  t->attempted += num(line, "attempted=");
  t->established += num(line, "established=");
  t->refused += num(line, "refused=");
  t->failed += num(line, "failed=");
  t->peer_closed += num(line, "peer_closed=");
  t->closed += num(line, "closed ");
  const char* s = strstr(line, " secs=");
  double secs = s ? atof(s + 6) : 0;
  if (secs > t->secs) t->secs = secs;
  s = strstr(line, "attempts_secs=");
  secs = s ? atof(s + 14) : 0;
  if (secs > t->attempts_secs) t->attempts_secs = secs;
  const char* e = strstr(line, "first_error=");
  if (e && strcmp(e + 12, "none") != 0 && !t->first_error[0]) snprintf(t->first_error, sizeof(t->first_error), "%s", e + 12);
}

static void print_tally(const char* prefix, const tally_t* t) {
  printf("%sflood: attempted=%ld established=%ld refused=%ld failed=%ld pending=%ld peer_closed=%ld "
         "attempts_secs=%.2f secs=%.2f first_error=%s\n",
         prefix, t->attempted, t->established, t->refused, t->failed,
         t->attempted - t->established - t->refused - t->failed, t->peer_closed, t->attempts_secs, t->secs,
         t->first_error[0] ? t->first_error : "none");
  fflush(stdout);
}

/* Ask every worker for a line and sum them. */
static void gather(int workers, const int* to, const int* from, const char* cmd, tally_t* t) {
  char line[512];
  memset(t, 0, sizeof(*t));
  for (int w = 0; cmd && w < workers; w++) (void)!write(to[w], cmd, strlen(cmd));
  for (int w = 0; w < workers; w++) {
    if (!read_line(from[w], line, sizeof(line))) continue;
    add(t, line);
  }
}

/* Run the flood in workers of at most share connections each, started
 * together, and speak for them: stdin's commands go to each, their report
 * lines come back summed. With one worker this is only a relay. */
static int coordinate(int share) {
  int workers = (count + share - 1) / share;
  int to[MAX_WORKERS], from[MAX_WORKERS];
  pid_t pids[MAX_WORKERS];
  for (int w = 0; w < workers; w++) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) {
      perror("flood_client: pipe");
      return 1;
    }
    pids[w] = fork();
    if (pids[w] < 0) {
      perror("flood_client: fork");
      return 1;
    }
    if (pids[w] == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the coordinator */
      dup2(in[0], 0);
      dup2(out[1], 1);
      for (int k = 0; k < w; k++) {
        close(to[k]);
        close(from[k]);
      }
      close(in[0]);
      close(in[1]);
      close(out[0]);
      close(out[1]);
      first = w * share;
      n = count - first < share ? count - first : share;
      _exit(work());
    }
    close(in[0]);
    close(out[1]);
    to[w] = in[1];
    from[w] = out[0];
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  tally_t t;
  gather(workers, to, from, NULL, &t);
  print_tally("", &t);

  char line[256];
  size_t have = 0;
  bool going = true;
  while (!stop && going) {
    ssize_t r = read(0, line + have, sizeof(line) - 1 - have);
    if (r <= 0) break; /* the caller is gone, or said so by closing; EINTR: a signal */
    have += (size_t)r;
    line[have] = '\0';
    for (char* nl; going && (nl = strchr(line, '\n'));) {
      *nl = '\0';
      if (strcmp(line, "stop") == 0) going = false;
      if (strcmp(line, "report") == 0) {
        gather(workers, to, from, "report\n", &t);
        print_tally("", &t);
      }
      have -= (size_t)(nl + 1 - line);
      memmove(line, nl + 1, have + 1);
    }
    if (have == sizeof(line) - 1) have = 0; /* a line too long to be a command */
  }
  /* Each worker answers stop with its "closing:" report, then "closed N". */
  char l1[512], l2[512];
  tally_t at_stop, closed;
  memset(&at_stop, 0, sizeof(at_stop));
  memset(&closed, 0, sizeof(closed));
  for (int w = 0; w < workers; w++) (void)!write(to[w], "stop\n", 5);
  double c0 = now();
  for (int w = 0; w < workers; w++) {
    if (read_line(from[w], l1, sizeof(l1))) add(&at_stop, l1);
    if (read_line(from[w], l2, sizeof(l2))) closed.closed += num(l2, "closed ");
  }
  print_tally("closing: ", &at_stop);
  int rc = 0;
  for (int w = 0; w < workers; w++) {
    int st = 0;
    waitpid(pids[w], &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) rc = 1;
  }
  printf("flood: closed %ld in %.2f s (%d process%s)\n", closed.closed, now() - c0, workers, workers > 1 ? "es" : "");
  fflush(stdout);
  return rc;
}

int main(int argc, char** argv) {
  bool check = false;
  for (int i = 1; i < argc; i += 2) {
    if (strcmp(argv[i], "--check") == 0) {
      check = true;
      i--;
    } else if (i + 1 == argc) {
      fprintf(stderr, "flood_client: %s needs a value\n", argv[i]);
      return 2;
    } else if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--count") == 0) count = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--sources") == 0) sources = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--settle-ms") == 0) settle_ms = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "flood_client: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (check) port = 1;
  if (port <= 0 || port > 65535 || count <= 0 || sources < 1 || sources > 250) {
    fprintf(stderr, "usage: flood_client --port P [--count N] [--sources K] [--settle-ms MS] | --check [--count N]\n");
    return 2;
  }
  struct rlimit rl = {.rlim_cur = (rlim_t)count + 1000, .rlim_max = (rlim_t)count + 1000};
  struct rlimit cur;
  getrlimit(RLIMIT_NOFILE, &cur);
  if (cur.rlim_max > rl.rlim_max) rl.rlim_max = cur.rlim_max; /* never lower the hard limit */
  int share = count;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    int err = errno;
    cur.rlim_cur = cur.rlim_max;
    setrlimit(RLIMIT_NOFILE, &cur);
    share = cur.rlim_cur > 1200 ? (int)cur.rlim_cur - 200 : 0;
    if (share <= 0 || (count + share - 1) / share > MAX_WORKERS) {
      printf("flood: cannot raise RLIMIT_NOFILE to %d (%s), and %llu per process needs more than %d processes\n",
             count + 1000, strerror(err), (unsigned long long)cur.rlim_cur, MAX_WORKERS);
      return 77;
    }
    fprintf(stderr, "flood_client: cannot raise RLIMIT_NOFILE to %d (%s): %d processes of at most %d\n",
            count + 1000, strerror(err), (count + share - 1) / share, share);
  }
  if (check) return 0;
  signal(SIGPIPE, SIG_IGN);
  return coordinate(share);
}

/* A worker: connections first .. first + n - 1, commands on fd 0 and
 * report lines on fd 1 (pipes from and to the coordinator). */
static int work(void) {
  struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: epoll_wait returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  fds = calloc((size_t)n, sizeof(*fds));
  state = calloc((size_t)n, 1);
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (!fds || !state || ep < 0) {
    fprintf(stderr, "flood_client: %s\n", strerror(errno));
    return 1;
  }
  t0 = now();
  open_all();
  attempts_secs = now() - t0;
  double quiet_since = now(), attempts_done = now();
  while (!stop && (now() - quiet_since) * 1000 < settle_ms && now() - attempts_done < 10) {
    if (harvest(100) > 0) quiet_since = now();
  }
  report("");

  /* Hold: follow the server's closes, and stdin for "report" and "stop". */
  char line[256];
  size_t have = 0;
  bool stdin_open = true;
  while (!stop && stdin_open) {
    struct pollfd p[2] = {{.fd = ep, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
    if (poll(p, 2, 500) <= 0) continue;
    if (p[0].revents) harvest(0);
    if (!p[1].revents) continue;
    ssize_t r = read(0, line + have, sizeof(line) - 1 - have);
    if (r <= 0) break; /* the caller is gone, or said so by closing */
    have += (size_t)r;
    line[have] = '\0';
    for (char* nl; !stop && (nl = strchr(line, '\n'));) {
      *nl = '\0';
      if (strcmp(line, "stop") == 0) stdin_open = false;
      if (strcmp(line, "report") == 0) report("");
      have -= (size_t)(nl + 1 - line);
      memmove(line, nl + 1, have + 1);
    }
    if (have == sizeof(line) - 1) have = 0; /* a line too long to be a command */
  }
  report("closing: ");
  double c0 = now();
  int closed = 0;
  for (int i = 0; i < n; i++)
    if (fds[i] >= 0) {
      close(fds[i]);
      closed++;
    }
  printf("flood: closed %d in %.2f s\n", closed, now() - c0);
  fflush(stdout);
  free(fds);
  free(state);
  close(ep);
  return 0;
}
