/* tcp_test.c: runtime-owned TCP with real sockets on 127.0.0.1: echo,
 * ownership (owner death, hand-over across schedulers), peers that vanish
 * mid-request, back-pressure against a peer that does not read, the write
 * queue's hard cap, 10,000 idle connections, and connections that keep
 * working across a soft load and a code_change up and back down. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "code_server.h"
#include "rt.h"
#include "runtime.h"
#include "tcp.h"
#include "tcpclient.h"
#include "upgrade.h"

enum { T_QUIT = 1, T_SPAWN = 2 };

static atomic_int g_port, g_accepts, g_closed, g_data_msgs;
static atomic_int g_ports[8], g_nports;

/* state_vsn 1 */
typedef struct {
  molt_tcp_t listener;
  bool worker, handoff;
  int64_t echoed;
} echo1_t;

static atomic_long g_sunk, g_max_data;
/* state_vsn 2: another layout */
typedef struct {
  int64_t echoed;
  char tag[8];
  molt_tcp_t listener;
  bool worker, handoff;
} echo2_t;

static int echo_init(const molt_args_t* args, void** state) {
  echo1_t* e = molt_calloc(1, sizeof(*e));
  if (!e) return MOLT_ENOMEM;
  e->worker = molt_args_int(args, "worker", 0) != 0;
  e->handoff = molt_args_int(args, "handoff", 0) != 0;
  if (!e->worker) {
    int rc = molt_tcp_listen(molt_args_str(args, "address", "127.0.0.1"), (int)molt_args_int(args, "port", 0),
                             &e->listener);
    if (rc) {
      rt_note("listen failed: %s", molt_err_name(rc));
      molt_free(e);
      return rc;
    }
    int64_t max_conns = molt_args_int(args, "max_conns", 0);
    if (max_conns) rt_note("max_conns=%s", molt_err_name(molt_tcp_max_conns(e->listener, (uint32_t)max_conns)));
    atomic_store(&g_port, molt_tcp_port(e->listener));
    int i = atomic_fetch_add(&g_nports, 1);
    if (i < 8) atomic_store(&g_ports[i], molt_tcp_port(e->listener));
    rt_note("listening on %d", molt_tcp_port(e->listener));
  }
  *state = e;
  return 0;
}

/* Write 1 MiB chunks until the queue refuses one. */
static void flood(molt_tcp_t conn) {
  static char chunk[1 << 20];
  int n = 0, rc;
  while ((rc = molt_tcp_write(conn, chunk, sizeof(chunk))) == 0 && n < 100) n++;
  rt_note("flood accepted=%d then %s", n, molt_err_name(rc));
}

#define BURST (2u << 20)

static unsigned char pattern(size_t i) { return (unsigned char)((i * 7 + i / 251) & 0xff); }

/* Queue BURST bytes and close at once: the close must flush them. */
static void burst(molt_tcp_t conn) {
  static unsigned char buf[BURST];
  for (size_t i = 0; i < BURST; i++) buf[i] = pattern(i);
  int w = molt_tcp_write(conn, buf, sizeof(buf));
  int c = molt_tcp_close(conn);
  rt_note("burst write=%s close=%s again=%s", molt_err_name(w), molt_err_name(c),
          molt_err_name(molt_tcp_write(conn, "x", 1)));
}

/* Another actor holding the handle may not use it. */
static int prober_init(const molt_args_t* args, void** state) {
  molt_tcp_t conn = (molt_tcp_t)molt_args_int(args, "conn", 0);
  molt_pid_t owner = (molt_pid_t)molt_args_int(args, "owner", 0);
  rt_note("probe write=%s close=%s ctl=%s owner=%s", molt_err_name(molt_tcp_write(conn, "x", 1)),
          molt_err_name(molt_tcp_close(conn)), molt_err_name(molt_tcp_controlling(conn, molt_self())),
          molt_tcp_owner(conn) == owner ? "right" : "wrong");
  *state = molt_calloc(1, 1);
  return *state ? 0 : MOLT_ENOMEM;
}

static void probe(molt_tcp_t conn) {
  char args[128];
  snprintf(args, sizeof(args), "{\"conn\":%llu,\"owner\":%llu}", (unsigned long long)conn,
           (unsigned long long)molt_self());
  molt_pid_t p;
  molt_spawn("prober", args, &p);
  rt_note("probe nobody=%s", molt_err_name(molt_tcp_controlling(conn, ((uint64_t)1 << 32) | 999999u)));
  molt_tcp_write(conn, "probed", 6);
}

typedef void (*transform_fn)(char* buf, size_t n);

static bool on_accept(bool handoff, const molt_msg_t* m) {
  atomic_fetch_add(&g_accepts, 1);
  if (!handoff) return true;
  molt_pid_t w;
  int rc = molt_spawn_opt("echo", "{\"worker\":1}", MOLT_SPAWN_ANY, &w, NULL);
  if (rc == 0) rc = molt_tcp_controlling(m->ref, w);
  if (rc) rt_note("handoff failed: %s", molt_err_name(rc));
  return rc == 0;
}

/* The echo all versions share; transform is what changes between them. */
static int echo_common(bool handoff, int64_t* echoed, const molt_msg_t* m, transform_fn transform) {
  switch (m->kind) {
    case MOLT_MSG_TCP_ACCEPT:
      on_accept(handoff, m);
      return MOLT_OK;
    case MOLT_MSG_TCP_DATA: {
      atomic_fetch_add(&g_data_msgs, 1);
      if (m->size == 5 && memcmp(m->data, "flood", 5) == 0) {
        flood(m->ref);
        return MOLT_OK;
      }
      if (m->size == 10 && memcmp(m->data, "floodclose", 10) == 0) {
        flood(m->ref);
        rt_note("floodclose handle=%llu close=%s", (unsigned long long)m->ref, molt_err_name(molt_tcp_close(m->ref)));
        return MOLT_OK;
      }
      if (m->size == 5 && memcmp(m->data, "burst", 5) == 0) {
        burst(m->ref);
        return MOLT_OK;
      }
      if (m->size == 5 && memcmp(m->data, "probe", 5) == 0) {
        probe(m->ref);
        return MOLT_OK;
      }
      if (m->size == 5 && memcmp(m->data, "where", 5) == 0) {
        /* The scheduler the socket lives on, and the owner's. */
        molt__tcp_slot_t* slot = molt__tcp_slot_get(m->ref);
        char line[32];
        int n = snprintf(line, sizeof(line), "%u %u\n", slot ? atomic_load(&slot->sched)->id : 99u,
                         molt__sched_current()->id);
        molt_tcp_write(m->ref, line, (size_t)n);
        return MOLT_OK;
      }
      if (m->size == 3 && memcmp(m->data, "who", 3) == 0) {
        char pid[32];
        int n = snprintf(pid, sizeof(pid), "%llu\n", (unsigned long long)molt_self());
        molt_tcp_write(m->ref, pid, (size_t)n);
        return MOLT_OK;
      }
      char* copy = molt_alloc(m->size);
      if (!copy) return MOLT_ENOMEM;
      memcpy(copy, m->data, m->size);
      if (transform) transform(copy, m->size);
      int rc = molt_tcp_write(m->ref, copy, m->size);
      molt_free(copy);
      if (rc) rt_note("write failed: %s", molt_err_name(rc));
      *echoed += m->size;
      return MOLT_OK;
    }
    case MOLT_MSG_TCP_CLOSED:
      atomic_fetch_add(&g_closed, 1);
      rt_note("closed reason=%s", molt_err_name(m->reason));
      return MOLT_OK;
    case MOLT_MSG_USER:
      if (m->tag == T_SPAWN) {
        /* Round robin over both schedulers: some of these inits run on
         * this thread for an actor that lives on the other one. */
        for (int i = 0; i < 4; i++) {
          int rc = molt_spawn_opt("echo", NULL, MOLT_SPAWN_ANY, NULL, NULL);
          if (rc) rt_note("spawn any failed: %s", molt_err_name(rc));
        }
        return MOLT_OK;
      }
      return m->tag == T_QUIT ? MOLT_STOP : MOLT_OK;
  }
  return MOLT_OK;
}

static void upper(char* buf, size_t n) {
  for (size_t i = 0; i < n; i++) buf[i] = (char)toupper((unsigned char)buf[i]);
}

static void prefix_bang(char* buf, size_t n) {
  if (n) buf[0] = '!';
}

static int echo1_handle(void* state, const molt_msg_t* m) {
  echo1_t* e = state;
  return echo_common(e->handoff, &e->echoed, m, NULL);
}

static int echo1b_handle(void* state, const molt_msg_t* m) {
  echo1_t* e = state;
  return echo_common(e->handoff, &e->echoed, m, upper);
}

static int echo2_handle(void* state, const molt_msg_t* m) {
  echo2_t* e = state;
  return echo_common(e->handoff, &e->echoed, m, prefix_bang);
}

static int echo2_code_change(molt_direction_t dir, const char* vsn, uint32_t state_vsn, const void* old,
                             const char* extra, void** out) {
  if (dir == MOLT_UP && state_vsn == 1) {
    const echo1_t* o = old;
    echo2_t* n = molt_calloc(1, sizeof(*n));
    if (!n) return MOLT_ENOMEM;
    memcpy(n->tag, "echo2", 6);
    n->listener = o->listener; /* the socket is the runtime's: only its handle moves */
    n->worker = o->worker;
    n->handoff = o->handoff;
    n->echoed = o->echoed;
    *out = n;
    return 0;
  }
  if (dir == MOLT_DOWN && state_vsn == 1) {
    const echo2_t* o = old;
    echo1_t* n = molt_calloc(1, sizeof(*n));
    if (!n) return MOLT_ENOMEM;
    n->listener = o->listener;
    n->worker = o->worker;
    n->handoff = o->handoff;
    n->echoed = o->echoed;
    *out = n;
    return 0;
  }
  return MOLT_EINVAL;
}

static void echo_free(void* state) { molt_free(state); }

static int prober_handle(void* state, const molt_msg_t* m) { return MOLT_OK; }

/* sink: a slow actor. It reads and takes its time, answering nothing. */
static int sink_init(const molt_args_t* args, void** state) {
  molt_tcp_t* l = molt_calloc(1, sizeof(*l));
  if (!l) return MOLT_ENOMEM;
  int rc = molt_tcp_listen(NULL, 0, l);
  if (rc) {
    molt_free(l);
    return rc;
  }
  atomic_store(&g_port, molt_tcp_port(*l));
  *state = l;
  return 0;
}

static int sink_handle(void* state, const molt_msg_t* m) {
  if (m->kind == MOLT_MSG_TCP_DATA) {
    atomic_fetch_add(&g_data_msgs, 1);
    atomic_fetch_add(&g_sunk, m->size);
    if ((long)m->size > atomic_load(&g_max_data)) atomic_store(&g_max_data, (long)m->size);
    usleep(5000);
  }
  return MOLT_OK;
}

static const molt_module_t sink = {
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 1,
    .name = "sink", .vsn = "1", .init = sink_init, .handle = sink_handle, .free_state = echo_free};

static const molt_module_t prober = {
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 1,
    .name = "prober", .vsn = "1", .init = prober_init, .handle = prober_handle, .free_state = echo_free};

static const molt_module_t echo_v1 = {
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 1,
    .name = "echo", .vsn = "1", .init = echo_init, .handle = echo1_handle, .free_state = echo_free};
static const molt_module_t echo_v1b = {
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 1,
    .name = "echo", .vsn = "1b", .init = echo_init, .handle = echo1b_handle, .free_state = echo_free};
static const molt_module_t echo_v2 = {
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 2,
    .name = "echo", .vsn = "2", .init = echo_init /* unused */, .handle = echo2_handle,
    .code_change = echo2_code_change, .free_state = echo_free};

static void setup(void) {
  signal(SIGPIPE, SIG_IGN);
  rt_setup(2);
  rt_install(&echo_v1);
  rt_install(&prober);
  rt_install(&sink);
  molt__tcp_peaks_reset();
}

static void teardown(void) { rt_teardown(); }

TestSuite(tcp, .init = setup, .fini = teardown, .timeout = 120);

static int start_echo(const char* args) {
  atomic_store(&g_port, 0);
  rt_spawn("echo", args);
  int port = atomic_load(&g_port);
  cr_assert(port > 0, "no port: %s", rt_notes());
  return port;
}

static bool at_least(atomic_int* v, int n, unsigned ms) {
  for (unsigned i = 0; i < ms && atomic_load(v) < n; i++) usleep(1000);
  return atomic_load(v) >= n;
}

Test(tcp, echo_round_trip_on_a_port_the_os_chose) {
  int port = start_echo(NULL);
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  cr_expect(tc_roundtrip(fd, "hello", "hello"));
  cr_expect(tc_roundtrip(fd, "again", "again"));
  cr_expect(at_least(&g_accepts, 1, 1000));
  close(fd);
  cr_expect(at_least(&g_closed, 1, 5000), "%s", rt_notes());
  cr_expect(rt_count("closed reason=OK") == 1, "%s", rt_notes());
}

Test(tcp, listen_reports_bad_address_and_port_in_use) {
  int port = start_echo(NULL);
  molt_pid_t pid;
  char args[64];
  snprintf(args, sizeof(args), "{\"port\":%d}", port);
  cr_expect_eq(rt_try_spawn("echo", args, &pid), MOLT_EADDRINUSE);
  cr_expect_eq(rt_try_spawn("echo", "{\"address\":\"not-an-ip\"}", &pid), MOLT_EINVAL);
  cr_expect_eq(rt_try_spawn("echo", "{\"port\":70000}", &pid), MOLT_EINVAL);
}

Test(tcp, the_api_refuses_callers_outside_an_actor_and_stale_handles) {
  molt_tcp_t l;
  cr_expect_eq(molt_tcp_listen(NULL, 0, &l), MOLT_EPERM);
  cr_expect_eq(molt_tcp_write(12345, "x", 1), MOLT_EPERM);
  cr_expect_eq(molt_tcp_port(((uint64_t)7 << 32) | 3), MOLT_ENOTCONN);
  cr_expect_eq(molt_tcp_owner(((uint64_t)7 << 32) | 3), MOLT_PID_NONE);
}

Test(tcp, owner_death_closes_its_listener_and_connections) {
  molt_pid_t pid = rt_spawn("echo", NULL);
  int port = atomic_load(&g_port);
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  cr_assert(tc_roundtrip(fd, "ping", "ping"));
  molt__runtime_exit(pid, MOLT_EXIT_KILL);
  cr_assert(rt_wait_dead(pid, 5000));
  cr_expect(tc_closed_by_peer(fd), "the connection outlived its owner");
  close(fd);
  cr_expect_eq(tc_connect(port), -1, "the listener outlived its owner");
  /* The port is free again for a restarted owner. */
  char args[64];
  snprintf(args, sizeof(args), "{\"port\":%d}", port);
  rt_spawn("echo", args);
  fd = tc_connect(port);
  cr_assert(fd >= 0);
  cr_expect(tc_roundtrip(fd, "back", "back"));
  close(fd);
}

Test(tcp, a_handed_over_connection_outlives_the_acceptor_on_another_scheduler) {
  molt_pid_t acceptor = rt_spawn("echo", "{\"handoff\":1}");
  int port = atomic_load(&g_port);
  enum { CONNS = 8 };
  int fds[CONNS];
  for (int i = 0; i < CONNS; i++) {
    fds[i] = tc_connect(port);
    cr_assert(fds[i] >= 0);
    /* Sent at once: the first DATA may reach the acceptor before the
     * hand-over and must be forwarded, in order. */
    char msg[32];
    snprintf(msg, sizeof(msg), "first-%d;", i);
    cr_assert(tc_send(fds[i], msg, strlen(msg)));
  }
  for (int i = 0; i < CONNS; i++) {
    char want[32], got[32];
    snprintf(want, sizeof(want), "first-%d;", i);
    cr_assert(tc_recv(fds[i], got, strlen(want)));
    cr_expect(memcmp(got, want, strlen(want)) == 0);
  }
  /* Each connection is answered by its worker, not the acceptor. */
  for (int i = 0; i < CONNS; i++) {
    char line[32] = "";
    cr_assert(tc_send(fds[i], "who", 3));
    size_t n = 0;
    while (n < sizeof(line) - 1 && tc_recv(fds[i], line + n, 1) && line[n] != '\n') n++;
    molt_pid_t owner = strtoull(line, NULL, 10);
    cr_expect(owner != acceptor && owner != MOLT_PID_NONE, "conn %d answered by %s", i, line);
  }
  cr_assert_eq(rt_count("handoff failed"), 0, "%s", rt_notes());
  molt__runtime_exit(acceptor, MOLT_EXIT_KILL);
  cr_assert(rt_wait_dead(acceptor, 5000));
  cr_expect_eq(tc_connect(port), -1, "the listener outlived its owner");
  for (int i = 0; i < CONNS; i++) {
    cr_expect(tc_roundtrip(fds[i], "still here", "still here"), "conn %d died with the acceptor", i);
    close(fds[i]);
  }
}

/* A connection's I/O runs where its owner does: handing it to an actor
 * on another scheduler moves the socket there (tcp_move.c), and bytes
 * sent while it moves arrive, in order, all of them. */
Test(tcp, a_handed_over_socket_moves_to_its_owners_scheduler_and_loses_nothing) {
  rt_spawn("echo", "{\"handoff\":1}");
  int port = atomic_load(&g_port);
  enum { CONNS = 16 };
  int fds[CONNS], moved = 0;
  for (int i = 0; i < CONNS; i++) {
    fds[i] = tc_connect(port);
    cr_assert(fds[i] >= 0);
    char msg[64];
    for (int k = 0; k < 20; k++) { /* a stream across the move */
      int n = snprintf(msg, sizeof(msg), "c%d-k%d;", i, k);
      cr_assert(tc_send(fds[i], msg, (size_t)n));
    }
  }
  for (int i = 0; i < CONNS; i++) {
    char want[64 * 20] = "", got[64 * 20];
    size_t len = 0;
    for (int k = 0; k < 20; k++) len += (size_t)snprintf(want + len, sizeof(want) - len, "c%d-k%d;", i, k);
    cr_assert(tc_recv(fds[i], got, len));
    cr_expect(memcmp(got, want, len) == 0, "conn %d: %.*s", i, (int)len, got);
    char line[32] = "";
    cr_assert(tc_send(fds[i], "where", 5));
    size_t n = 0;
    while (n < sizeof(line) - 1 && tc_recv(fds[i], line + n, 1) && line[n] != '\n') n++;
    unsigned sock_sched = 0, owner_sched = 0;
    cr_assert_eq(sscanf(line, "%u %u", &sock_sched, &owner_sched), 2, "%s", line);
    cr_expect_eq(sock_sched, owner_sched, "conn %d: the socket lives on scheduler %u, its owner on %u", i,
                 sock_sched, owner_sched);
    moved += owner_sched != 0;
  }
  /* The acceptor runs on scheduler 0; workers spread over both. */
  cr_expect(moved > 0, "no worker ran on another scheduler than the acceptor's");
  for (int i = 0; i < CONNS; i++) close(fds[i]);
}

/* Every scheduler accepts, but a connection its acceptor's owner keeps
 * moves to that owner's scheduler once it has handled the ACCEPT. */
Test(tcp, a_connection_the_listeners_owner_keeps_lives_on_its_scheduler) {
  int port = start_echo(NULL);
  for (int i = 0; i < 16; i++) {
    int fd = tc_connect(port);
    cr_assert(fd >= 0);
    /* The move is asynchronous: a request may be answered before it. */
    unsigned sock_sched = 0, owner_sched = 1;
    for (int tries = 0; tries < 100 && sock_sched != owner_sched; tries++) {
      if (tries) usleep(10 * 1000);
      char line[32] = "";
      cr_assert(tc_send(fd, "where", 5));
      size_t n = 0;
      while (n < sizeof(line) - 1 && tc_recv(fd, line + n, 1) && line[n] != '\n') n++;
      cr_assert_eq(sscanf(line, "%u %u", &sock_sched, &owner_sched), 2, "%s", line);
    }
    cr_expect_eq(sock_sched, owner_sched, "conn %d: the socket stays on scheduler %u, its owner on %u", i,
                 sock_sched, owner_sched);
    close(fd);
  }
}

/* Each client sends "hi-<i>" at once, connected or only queued. */
static void connect_and_greet(int port, int* fds, int n) {
  for (int i = 0; i < n; i++) {
    fds[i] = tc_connect(port); /* completes in the backlog: the kernel answers, not molt */
    cr_assert(fds[i] >= 0, "connect %d", i);
    char msg[16];
    snprintf(msg, sizeof(msg), "hi-%02d", i);
    cr_assert(tc_send(fds[i], msg, 5));
  }
}

static bool greeted_back(int fd, int i) {
  char want[16], got[16];
  snprintf(want, sizeof(want), "hi-%02d", i);
  return tc_recv(fd, got, 5) && memcmp(got, want, 5) == 0;
}

/* At its cap a listener stops accepting: the connections past it wait in
 * the backlog, nothing is accepted and dropped, and each is served, in
 * order, as soon as an open one closes. */
Test(tcp, at_its_cap_a_listener_pauses_and_serves_the_waiting_ones_as_room_frees) {
  int port = start_echo("{\"max_conns\":4}");
  cr_assert_eq(rt_count("max_conns=OK"), 1, "%s", rt_notes());
  enum { N = 10 };
  int fds[N];
  connect_and_greet(port, fds, N);
  for (int i = 0; i < 4; i++) cr_expect(greeted_back(fds[i], i), "conn %d", i);
  usleep(400 * 1000); /* room for a wrong accept to happen */
  cr_expect_eq(atomic_load(&g_accepts), 4, "accepted past the cap of 4");
  for (int i = 4; i < N; i++) {
    close(fds[i - 4]); /* one leaves: the next waiting one is served */
    cr_expect(greeted_back(fds[i], i), "conn %d was not served after a place freed", i);
  }
  cr_expect_eq(atomic_load(&g_accepts), N);
  for (int i = N - 4; i < N; i++) close(fds[i]);
}

/* A client process: N connections greeting at once, each must be
 * greeted back; the count that were, as its exit status. */
static void greeting_client(int port, int n, int first_spare, int last_spare) {
  for (int fd = first_spare; fd <= last_spare; fd++) close(fd);
  int ok = 0, fds[64];
  for (int i = 0; i < n; i++) {
    fds[i] = tc_connect(port);
    char msg[16];
    snprintf(msg, sizeof(msg), "hi-%02d", i);
    if (fds[i] < 0 || !tc_send(fds[i], msg, 5)) _exit(100 + i);
  }
  for (int i = 0; i < n; i++) {
    char want[16], got[16];
    snprintf(want, sizeof(want), "hi-%02d", i);
    struct timeval tv = {20, 0};
    setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ok += tc_recv(fds[i], got, 5) && memcmp(got, want, 5) == 0;
  }
  _exit(ok);
}

/* With no descriptor left the listener pauses too (libuv's own accept
 * would accept and close the waiting connections), and every waiting
 * connection is served once descriptors free up. The container is this
 * process, so its table is filled with spare descriptors. */
Test(tcp, out_of_descriptors_a_listener_pauses_and_drops_nobody) {
  int port = start_echo("{\"max_conns\":100000}");
  struct rlimit was, low;
  getrlimit(RLIMIT_NOFILE, &was);
  int probe = dup(0);
  close(probe);
  low = was;
  low.rlim_cur = (rlim_t)probe + 64; /* a small table, so filling it is quick */
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
  int first = -1, last = -1, fd;
  while ((fd = dup(0)) >= 0) {
    if (first < 0) first = fd;
    last = fd;
  }
  cr_assert(first >= 0 && last - first > 8);
  for (int i = 0; i < 3; i++) close(last--); /* room for three connections */
  enum { N = 12 };
  pid_t child = fork();
  if (child == 0) greeting_client(port, N, first, last);
  cr_assert(at_least(&g_accepts, 1, 5000), "nothing accepted");
  usleep(500 * 1000);
  int paused_at = atomic_load(&g_accepts);
  cr_expect_lt(paused_at, N, "every connection accepted with no descriptor left");
  for (fd = first; fd <= last; fd++) close(fd);
  setrlimit(RLIMIT_NOFILE, &was);
  cr_expect(at_least(&g_accepts, N, 10000), "accepted %d of %d once descriptors freed up", atomic_load(&g_accepts),
            N);
  int status = 0;
  cr_assert_eq(waitpid(child, &status, 0), child);
  cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == N, "%d of %d connections were served (paused at %d)",
            WIFEXITED(status) ? WEXITSTATUS(status) : -1, N, paused_at);
}

/* One allocation failing at each step of an accept, a hand-over (with
 * its move to another scheduler) and an echo, in turn: whatever that
 * connection's fate (served, or closed), the runtime leaks nothing (ASan)
 * and serves the next connection, on either scheduler. */
Test(tcp, an_allocation_failing_at_each_step_of_accept_hand_over_and_echo) {
  signal(SIGPIPE, SIG_IGN);
  rt_spawn("echo", "{\"handoff\":1}");
  int port = atomic_load(&g_port);
  int survived = 0, injected = 0;
  for (unsigned long nth = 1; nth <= 32; nth++) {
    molt__alloc_fail_at(nth, 0);
    int fd = tc_connect(port);
    if (fd >= 0) {
      struct timeval tv = {0, 300 * 1000};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      char got[8];
      if (tc_send(fd, "ping", 4) && tc_recv(fd, got, 4)) survived++;
    }
    if (fd >= 0) close(fd);
    usleep(20 * 1000); /* the close's own allocations, on the schedulers */
    injected += molt__alloc_fail_at(0, 0) == 0; /* 0: the failure happened */
    for (int k = 0; k < 4; k++) { /* the next ones are served, wherever they land */
      int ok = tc_connect(port);
      cr_assert_geq(ok, 0, "connect after a failure at allocation %lu", nth);
      cr_assert(tc_roundtrip(ok, "after", "after"), "no echo after a failure at allocation %lu: %s", nth, rt_notes());
      close(ok);
    }
  }
  cr_expect_gt(survived, 0, "not one connection survived its failure");
  /* A connection's whole life takes about 22 allocations here: the
   * failures must have landed in it, each step in turn. */
  cr_expect_geq(injected, 16, "only %d of 32 injected failures happened", injected);
  cr_log_info("%d of 32 injected failures happened; %d of the 32 connections were served", injected, survived);
}

Test(tcp, a_worker_death_closes_only_its_connection) {
  rt_spawn("echo", "{\"handoff\":1}");
  int port = atomic_load(&g_port);
  int a = tc_connect(port), b = tc_connect(port);
  cr_assert(a >= 0 && b >= 0);
  char line[32] = "";
  size_t n = 0;
  cr_assert(tc_send(a, "who", 3));
  while (n < sizeof(line) - 1 && tc_recv(a, line + n, 1) && line[n] != '\n') n++;
  molt_pid_t worker = strtoull(line, NULL, 10);
  molt__runtime_exit(worker, MOLT_EXIT_KILL);
  cr_assert(rt_wait_dead(worker, 5000));
  cr_expect(tc_closed_by_peer(a));
  cr_expect(tc_roundtrip(b, "ok", "ok"));
  close(a);
  close(b);
}

Test(tcp, a_client_gone_mid_request_is_closed_and_the_others_are_served) {
  int port = start_echo(NULL);
  int keep = tc_connect(port);
  cr_assert(keep >= 0);
  for (int i = 0; i < 50; i++) {
    int fd = tc_connect(port);
    cr_assert(fd >= 0);
    tc_send(fd, "half a requ", 11);
    if (i % 2) {
      /* An abortive close: the server sees a reset, not EOF. */
      struct linger lg = {1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(fd);
  }
  cr_expect(at_least(&g_closed, 50, 5000), "%d closed: %s", atomic_load(&g_closed), rt_notes());
  cr_expect(tc_roundtrip(keep, "still served", "still served"));
  close(keep);
}

typedef struct {
  int fd;
  size_t total, sent;
  bool ok;
} writer_t;

static void* write_all(void* arg) {
  writer_t* w = arg;
  unsigned char buf[65536];
  w->ok = true;
  while (w->sent < w->total) {
    size_t n = w->total - w->sent < sizeof(buf) ? w->total - w->sent : sizeof(buf);
    for (size_t i = 0; i < n; i++) buf[i] = pattern(w->sent + i);
    ssize_t k = send(w->fd, buf, n, MSG_NOSIGNAL);
    if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue; /* the send timeout: keep waiting */
    if (k <= 0) {
      w->ok = false;
      return NULL;
    }
    __atomic_add_fetch(&w->sent, (size_t)k, __ATOMIC_RELAXED);
  }
  return NULL;
}

Test(tcp, a_peer_that_does_not_read_pauses_reading_and_memory_stays_bounded) {
  int port = start_echo(NULL);
  int slow = tc_connect(port);
  cr_assert(slow >= 0);
  writer_t w = {slow, 64u << 20, 0, false};
  pthread_t t;
  pthread_create(&t, NULL, write_all, &w);
  /* The client reads nothing: the server's write queue fills, its reading
   * pauses, the kernel buffers fill, and the client's sends block. */
  size_t last = 0;
  for (int i = 0; i < 50; i++) {
    usleep(100000);
    size_t now = __atomic_load_n(&w.sent, __ATOMIC_RELAXED);
    if (i > 10 && now == last) break;
    last = now;
  }
  cr_expect(__atomic_load_n(&w.sent, __ATOMIC_RELAXED) < w.total, "the writer never blocked");
  molt__tcp_peaks_t p;
  molt__tcp_peaks(&p);
  cr_expect(p.queued <= MOLT_TCP_WRITE_HIGH + MOLT_TCP_RECV_HIGH + (64u << 10), "write queue reached %zu", p.queued);
  cr_expect(p.rbuf <= MOLT_TCP_RECV_HIGH + (64u << 10), "receive buffer reached %zu", p.rbuf);

  /* Meanwhile another client is served. */
  int other = tc_connect(port);
  cr_assert(other >= 0);
  cr_expect(tc_roundtrip(other, "not stuck", "not stuck"));
  close(other);

  /* Now read everything: every byte comes back once, in order. */
  static unsigned char buf[65536];
  size_t got = 0;
  bool same = true;
  while (got < w.total) {
    ssize_t r = recv(slow, buf, sizeof(buf), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    for (ssize_t i = 0; i < r && same; i++) same = buf[i] == pattern(got + (size_t)i);
    got += (size_t)r;
  }
  pthread_join(t, NULL);
  cr_expect(w.ok);
  cr_expect_eq(got, w.total, "got %zu of %zu", got, w.total);
  cr_expect(same, "bytes came back changed or out of order");
  cr_expect_eq(rt_count("write failed"), 0, "%s", rt_notes());
  close(slow);
}

/* The queue holds what the socket has not taken: with a reader that
 * never reads, writes are accepted until the socket's buffer is full and
 * MOLT_TCP_WRITE_MAX more is queued, then refused whole. */
Test(tcp, a_write_past_the_cap_is_refused_whole) {
  int port = start_echo(NULL);
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  cr_assert(tc_send(fd, "flood", 5));
  cr_expect(rt_wait_count("then ENOBUFS", 1, 5000), "%s", rt_notes());
  const char* at = strstr(rt_notes(), "flood accepted=");
  cr_assert(at, "%s", rt_notes());
  unsigned accepted = (unsigned)atoi(at + strlen("flood accepted="));
  cr_expect_geq(accepted, MOLT_TCP_WRITE_MAX >> 20, "%s", rt_notes());
  /* Not more than the socket's buffers and the cap could hold. */
  cr_expect_leq(accepted, (MOLT_TCP_WRITE_MAX >> 20) + 16, "%s", rt_notes());
  /* The accepted bytes all arrive, and no more. */
  static char buf[1 << 20];
  size_t got = 0, want = (size_t)accepted << 20;
  struct timeval tv = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  for (;;) {
    ssize_t r = recv(fd, buf, sizeof(buf), 0);
    if (r <= 0) break;
    got += (size_t)r;
  }
  cr_expect_eq(got, want, "got %zu of %zu", got, want);
  close(fd);
}

/* The other end of 10,000 connections lives in a child process: with
 * both ends in one process the two 10,000s would not fit under a usual
 * hard limit of 20,000 descriptors. */
#define IDLE 10000
static int idle_fds[IDLE];

static void idle_client(int port, int ready, int go) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  int n = 0;
  for (; n < IDLE; n++)
    if ((idle_fds[n] = tc_connect(port)) < 0) break;
  char c = n == IDLE ? 'y' : 'n';
  if (write(ready, &c, 1) != 1) _exit(2);
  if (read(go, &c, 1) < 0) _exit(2);
  _exit(0); /* closes every connection at once */
}

Test(tcp, ten_thousand_idle_connections_and_the_container_keeps_serving) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < IDLE + 256)
    cr_skip("RLIMIT_NOFILE hard limit %llu is below %d", (unsigned long long)rl.rlim_max, IDLE + 256);
  rl.rlim_cur = rl.rlim_max;
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
  int port = start_echo(NULL);
  int ready[2], go[2];
  cr_assert_eq(pipe(ready), 0);
  cr_assert_eq(pipe(go), 0);
  pid_t child = fork();
  if (child == 0) idle_client(port, ready[1], go[0]);
  char c = 0;
  cr_assert_eq(read(ready[0], &c, 1), 1);
  cr_assert_eq(c, 'y', "the client could not open %d connections", IDLE);
  cr_assert(at_least(&g_accepts, IDLE, 30000), "accepted %d", atomic_load(&g_accepts));
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  cr_expect(tc_roundtrip(fd, "busy?", "busy?"));
  cr_assert_eq(write(go[1], "x", 1), 1);
  int st;
  waitpid(child, &st, 0);
  cr_expect(at_least(&g_closed, IDLE, 30000), "closed %d", atomic_load(&g_closed));
  cr_expect(tc_roundtrip(fd, "after", "after"));
  close(fd);
  close(ready[0]);
  close(ready[1]);
  close(go[0]);
  close(go[1]);
}

static molt_version_t* version_of(const molt_module_t* desc) {
  molt_version_t* v = NULL;
  cr_assert_eq(molt__version_builtin(desc, &v), 0);
  return v;
}

static void apply(const molt_module_t* desc, bool migrate, molt_direction_t dir) {
  molt_version_t* v = version_of(desc);
  molt_hop_t hop = {v, migrate, dir, NULL};
  molt_change_t c = {"echo", &hop, 1};
  char err[512] = "";
  cr_assert_eq(molt__upgrade_apply(&c, 1, 5000, NULL, err, sizeof(err)), 0, "%s", err);
  molt__version_unref(v);
}

Test(tcp, connections_keep_working_across_a_soft_load_and_back) {
  int port = start_echo("{\"handoff\":1}");
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  cr_assert(tc_roundtrip(fd, "abc", "abc"));
  apply(&echo_v1b, false, MOLT_UP);
  cr_expect(tc_roundtrip(fd, "abc", "ABC"), "no new behaviour after the soft load");
  int fd2 = tc_connect(port); /* the listener survived too */
  cr_assert(fd2 >= 0);
  cr_expect(tc_roundtrip(fd2, "new", "NEW"));
  apply(&echo_v1, false, MOLT_DOWN);
  cr_expect(tc_roundtrip(fd, "abc", "abc"), "no old behaviour after going back");
  cr_expect(tc_roundtrip(fd2, "old", "old"));
  close(fd);
  close(fd2);
}

Test(tcp, connections_keep_working_across_code_change_up_and_down) {
  int port = start_echo(NULL);
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  cr_assert(tc_roundtrip(fd, "abc", "abc"));
  apply(&echo_v2, true, MOLT_UP);
  cr_expect(tc_roundtrip(fd, "abc", "!bc"));
  apply(&echo_v1, true, MOLT_DOWN);
  cr_expect(tc_roundtrip(fd, "abc", "abc"));
  int fd2 = tc_connect(port);
  cr_assert(fd2 >= 0);
  cr_expect(tc_roundtrip(fd2, "xyz", "xyz"));
  close(fd);
  close(fd2);
}

Test(tcp, an_upgrade_in_the_middle_of_a_stream_loses_nothing) {
  int port = start_echo(NULL);
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  writer_t w = {fd, 8u << 20, 0, false};
  pthread_t t;
  pthread_create(&t, NULL, write_all, &w);
  usleep(20000);
  apply(&echo_v1b, false, MOLT_UP); /* the pattern's bytes are not letters only: just count */
  static unsigned char buf[65536];
  size_t got = 0;
  while (got < w.total) {
    ssize_t r = recv(fd, buf, sizeof(buf), 0);
    if (r <= 0) break;
    got += (size_t)r;
  }
  pthread_join(t, NULL);
  cr_expect_eq(got, w.total);
  close(fd);
}

Test(tcp, close_flushes_what_was_queued_and_the_handle_dies_at_once) {
  int port = start_echo(NULL);
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  usleep(200000); /* the client reads late: the close has to wait for it */
  cr_assert(tc_send(fd, "burst", 5));
  cr_expect(rt_wait_count("burst write=OK close=OK again=ENOTCONN", 1, 5000), "%s", rt_notes());
  usleep(300000);
  static unsigned char buf[65536];
  size_t got = 0;
  bool same = true;
  for (;;) {
    ssize_t r = recv(fd, buf, sizeof(buf), 0);
    if (r <= 0) break;
    for (ssize_t i = 0; i < r && same; i++) same = buf[i] == pattern(got + (size_t)i);
    got += (size_t)r;
  }
  cr_expect_eq(got, BURST, "got %zu of %u before EOF", got, BURST);
  cr_expect(same);
  close(fd);
  cr_expect_eq(rt_count("closed reason"), 0, "the owner's own close is not reported back");
}

Test(tcp, only_the_owner_may_use_a_handle) {
  int port = start_echo(NULL);
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  cr_assert(tc_roundtrip(fd, "probe", "probed"));
  cr_expect(rt_wait_count("probe write=EPERM close=EPERM ctl=EPERM owner=right", 1, 5000), "%s", rt_notes());
  cr_expect(rt_count("probe nobody=ESRCH") == 1, "%s", rt_notes());
  cr_expect(tc_roundtrip(fd, "fine", "fine"));
  close(fd);
}

Test(tcp, listen_from_an_init_running_on_another_scheduler) {
  molt_pid_t parent = rt_spawn("echo", NULL);
  atomic_store(&g_nports, 0);
  rt_send(parent, T_SPAWN, NULL, 0);
  cr_assert(at_least(&g_nports, 4, 5000), "%s", rt_notes());
  for (int i = 0; i < 4; i++) {
    int fd = tc_connect(atomic_load(&g_ports[i]));
    cr_assert(fd >= 0, "listener %d", i);
    cr_expect(tc_roundtrip(fd, "any", "any"), "listener %d", i);
    close(fd);
  }
}

Test(tcp, a_slow_actor_gets_everything_and_the_buffer_stays_bounded) {
  rt_spawn("sink", NULL);
  int fd = tc_connect(atomic_load(&g_port));
  cr_assert(fd >= 0);
  writer_t w = {fd, 32u << 20, 0, false};
  pthread_t t;
  pthread_create(&t, NULL, write_all, &w);
  pthread_join(t, NULL);
  cr_assert(w.ok);
  for (int i = 0; i < 20000 && atomic_load(&g_sunk) < (long)w.total; i++) usleep(1000);
  cr_expect_eq(atomic_load(&g_sunk), (long)w.total, "sunk %ld of %zu", atomic_load(&g_sunk), w.total);
  molt__tcp_peaks_t p;
  molt__tcp_peaks(&p);
  cr_expect(p.rbuf <= MOLT_TCP_RECV_HIGH + (64u << 10), "receive buffer reached %zu", p.rbuf);
  cr_expect(atomic_load(&g_max_data) <= (long)(MOLT_TCP_RECV_HIGH + (64u << 10)), "a DATA of %ld bytes",
            atomic_load(&g_max_data));
  close(fd);
}

Test(tcp, a_close_waits_a_few_seconds_for_a_peer_that_never_reads_then_gives_up) {
  int port = start_echo(NULL);
  /* A small receive window, so the kernel cannot take the 4 MiB off the
   * write queue for us. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(connect(fd, (struct sockaddr*)&sa, sizeof(sa)), 0);
  cr_assert(tc_send(fd, "floodclose", 10));
  cr_assert(rt_wait_count("close=OK", 1, 5000), "%s", rt_notes());
  const char* note = strstr(rt_notes(), "floodclose handle=");
  cr_assert(note);
  molt_tcp_t h = strtoull(note + strlen("floodclose handle="), NULL, 10);
  usleep(1000000);
  cr_expect_not_null(molt__tcp_slot_get(h), "the close did not wait for the queued bytes");
  for (int i = 0; i < 8000 && molt__tcp_slot_get(h); i++) usleep(1000);
  cr_expect_null(molt__tcp_slot_get(h), "the close never gave up on a peer that does not read");
  close(fd);
}
