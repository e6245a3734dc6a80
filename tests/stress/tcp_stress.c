/* tcp_stress.c: runtime-owned TCP on two schedulers under load, for
 * ThreadSanitizer. An acceptor hands every connection to a worker spawned
 * on any scheduler; client threads echo random-sized chunks through them,
 * and at random ask a worker to pass its connection to another worker
 * (anywhere), to close it gracefully after a last answer, or vanish
 * themselves mid-stream (EOF or reset). Every byte must come back in
 * order, every worker must hear of its peer's end, and runtime_stop must
 * close the connections still open. Exits 1 with a message on failure. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/tcpclient.h"
#include "actor.h"
#include "code_server.h"
#include "host.h"
#include "runtime.h"
#include "version.h"

#define NSCHED 2
#define CLIENTS 8
#define CONNS 40  /* per client, one after another */
#define ROUNDS 30 /* echo rounds per connection */
#define LINGERING 16 /* connections left open for runtime_stop */
#define WAIT_MS 20000

static atomic_int port;
static atomic_long accepted, passes, closed_msgs, graceful, bytes_echoed, errors;

static void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "tcp_stress: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void error(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "tcp_stress: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  atomic_fetch_add(&errors, 1);
}

/* ---- acceptor */

static int acceptor_init(const molt_args_t* args, void** state) {
  molt_tcp_t* l = molt_calloc(1, sizeof(*l));
  if (!l) return MOLT_ENOMEM;
  int rc = molt_tcp_listen("127.0.0.1", 0, l);
  if (rc) {
    molt_free(l);
    return rc;
  }
  atomic_store(&port, molt_tcp_port(*l));
  *state = l;
  return 0;
}

static int hand_to_new_worker(molt_tcp_t conn) {
  molt_pid_t w;
  int rc = molt_spawn_opt("worker", NULL, MOLT_SPAWN_ANY, &w, NULL);
  if (rc == 0) rc = molt_tcp_controlling(conn, w);
  return rc;
}

static int acceptor_handle(void* state, const molt_msg_t* m) {
  if (m->kind != MOLT_MSG_TCP_ACCEPT) return MOLT_OK;
  atomic_fetch_add(&accepted, 1);
  int rc = hand_to_new_worker(m->ref);
  if (rc) error("hand-over from the acceptor: %s", molt_err_name(rc));
  return MOLT_OK;
}

static void free_state(void* state) { molt_free(state); }

/* ---- worker: echoes; "pass" and "bye!" are commands */

static int worker_init(const molt_args_t* args, void** state) {
  *state = molt_calloc(1, 1);
  return *state ? 0 : MOLT_ENOMEM;
}

static int worker_handle(void* state, const molt_msg_t* m) {
  if (m->kind == MOLT_MSG_TCP_CLOSED) {
    atomic_fetch_add(&closed_msgs, 1);
    return MOLT_STOP;
  }
  if (m->kind != MOLT_MSG_TCP_DATA) return MOLT_OK;
  if (m->size == 4 && memcmp(m->data, "pass", 4) == 0) {
    /* Answer first: the client's next bytes then race the hand-over. */
    molt_tcp_write(m->ref, "pass", 4);
    int rc = hand_to_new_worker(m->ref);
    if (rc) error("pass: %s", molt_err_name(rc));
    atomic_fetch_add(&passes, 1);
    return MOLT_STOP; /* the connection must outlive us */
  }
  if (m->size == 4 && memcmp(m->data, "bye!", 4) == 0) {
    molt_tcp_write(m->ref, "bye!", 4);
    int rc = molt_tcp_close(m->ref);
    if (rc) error("close: %s", molt_err_name(rc));
    atomic_fetch_add(&graceful, 1);
    return MOLT_STOP;
  }
  int rc = molt_tcp_write(m->ref, m->data, m->size);
  if (rc && rc != MOLT_ENOTCONN) error("write: %s", molt_err_name(rc));
  atomic_fetch_add(&bytes_echoed, m->size);
  return MOLT_OK;
}

static const molt_module_t modules[] = {
    {.magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 1,
     .name = "acceptor", .vsn = "1", .init = acceptor_init, .handle = acceptor_handle, .free_state = free_state},
    {.magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 1,
     .name = "worker", .vsn = "1", .init = worker_init, .handle = worker_handle, .free_state = free_state},
};

/* ---- clients */

static uint64_t xorshift(uint64_t x) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

typedef enum { END_EOF, END_RESET, END_BYE, END_KEEP } end_t;
static atomic_long expect_closed; /* connections whose worker must see CLOSED */
static int kept[CLIENTS][LINGERING];

static bool echo_round(int fd, uint64_t* rng) {
  static __thread unsigned char out[16384], in[16384];
  *rng = xorshift(*rng);
  size_t n = 1 + (size_t)(*rng % sizeof(out));
  for (size_t i = 0; i < n; i++) out[i] = (unsigned char)(*rng >> (i % 56));
  /* Never a command by accident. */
  if (n == 4) out[0] = 'x';
  return tc_send(fd, out, n) && tc_recv(fd, in, n) && memcmp(in, out, n) == 0;
}

static void* client(void* arg) {
  int id = (int)(intptr_t)arg;
  uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
  int nkept = 0;
  for (int c = 0; c < CONNS; c++) {
    int fd = tc_connect(atomic_load(&port));
    if (fd < 0) {
      error("client %d: connect", id);
      continue;
    }
    bool ok = true;
    for (int r = 0; r < ROUNDS && ok; r++) {
      rng = xorshift(rng);
      if (rng % 10 == 0) {
        char ack[4];
        ok = tc_send(fd, "pass", 4) && tc_recv(fd, ack, 4) && memcmp(ack, "pass", 4) == 0;
      } else {
        ok = echo_round(fd, &rng);
      }
    }
    if (!ok) {
      error("client %d conn %d: echo broke", id, c);
      close(fd);
      continue;
    }
    end_t end = c < LINGERING / 2 ? END_KEEP : (end_t)((rng >> 8) % 3);
    if (end == END_KEEP && nkept < LINGERING) {
      kept[id][nkept++] = fd;
      continue;
    }
    if (end == END_BYE) {
      char ack[4];
      if (!tc_send(fd, "bye!", 4) || !tc_recv(fd, ack, 4) || !tc_closed_by_peer(fd))
        error("client %d conn %d: no graceful close", id, c);
      close(fd);
      continue;
    }
    /* Gone mid-request: half a chunk in flight. */
    tc_send(fd, "half a chunk", 12);
    if (end == END_RESET) {
      struct linger lg = {1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    atomic_fetch_add(&expect_closed, 1);
    close(fd);
  }
  return NULL;
}

static void wait_for(atomic_long* v, long n, const char* what) {
  for (int ms = 0; ms < WAIT_MS && atomic_load(v) < n; ms++) usleep(1000);
  if (atomic_load(v) != n) fail("%s: %ld, expected %ld", what, atomic_load(v), n);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  char home[] = "/tmp/molt-tcp-stress.XXXXXX", code[64], err[256];
  if (!mkdtemp(home)) fail("mkdtemp");
  snprintf(code, sizeof(code), "%s/code", home);
  if (molt__code_init(code) != 0) fail("code server");
  if (molt__host_start(NSCHED, err, sizeof(err)) != 0) fail("start: %s", err);
  for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
    molt_version_t* v = NULL;
    if (molt__version_builtin(&modules[i], &v) || molt__code_install_builtin(v)) fail("install");
    molt__version_unref(v);
  }
  molt_pid_t acceptor;
  int rc = molt__runtime_spawn("acceptor", NULL, &acceptor);
  if (rc) fail("acceptor: %s", molt_strerror(rc));

  pthread_t t[CLIENTS];
  for (int i = 0; i < CLIENTS; i++) pthread_create(&t[i], NULL, client, (void*)(intptr_t)i);
  for (int i = 0; i < CLIENTS; i++) pthread_join(t[i], NULL);

  wait_for(&accepted, (long)CLIENTS * CONNS, "accepted");
  wait_for(&closed_msgs, atomic_load(&expect_closed), "CLOSED messages");
  if (atomic_load(&passes) == 0 || atomic_load(&graceful) == 0) fail("no pass or no graceful close");
  if (atomic_load(&errors)) fail("%ld errors", atomic_load(&errors));

  /* Still open: runtime_stop must close them and kill their workers. */
  long want = (long)CLIENTS * LINGERING / 2 + 1; /* and the acceptor */
  for (int ms = 0; ms < WAIT_MS && (long)molt__actor_count() != want; ms++) usleep(1000);
  long open_workers = (long)molt__actor_count() - 1;
  if (open_workers != (long)CLIENTS * LINGERING / 2)
    fail("%ld workers alive, expected %d", open_workers, CLIENTS * LINGERING / 2);
  molt__host_stop();
  for (int i = 0; i < CLIENTS; i++)
    for (int k = 0; k < LINGERING / 2; k++) {
      if (!tc_closed_by_peer(kept[i][k])) fail("a connection outlived runtime_stop");
      close(kept[i][k]);
    }
  molt__code_close();
  rmdir(code);
  rmdir(home);
  printf("tcp_stress: ok (%ld connections, %ld passes, %ld bytes echoed)\n", atomic_load(&accepted),
         atomic_load(&passes), atomic_load(&bytes_echoed));
  return 0;
}
