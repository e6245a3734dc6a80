/* runtime_stress.c: the whole runtime on two schedulers under load, for
 * ThreadSanitizer. Three kinds of actor run at once:
 *   relay    tokens hop between RELAYS relays at random, across schedulers,
 *            now and then by a timer instead of a send;
 *   spawner  traps exits and, ROUNDS times, spawns a child linked,
 *            monitored and anywhere, then waits for its EXIT and its DOWN,
 *            checking the reason;
 *   child    monitors a relay, sets a timer that must die with it, and
 *            stops, crashes, or is killed or exited by its spawner.
 * Every count must come out exact, no actor may be left when the work is
 * done, and runtime_stop must kill whatever is still alive.
 * Exits 1 with a message on failure. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actor.h"
#include "code_server.h"
#include "host.h"
#include "runtime.h"
#include "version.h"

#define NSCHED 2
#define RELAYS 16
#define TOKENS 8  /* per relay */
#define HOPS 2000 /* per token */
#define SPAWNERS 4
#define ROUNDS 1000 /* per spawner; a multiple of the child modes */
#define WAIT_MS 15000

enum { TAG_PEERS = 1, TAG_START, TAG_TOKEN, TAG_STOP, TAG_NEXT, TAG_ACT, TAG_NEVER };
enum { MODE_STOP, MODE_CRASH, MODE_KILLED, MODE_EXITED, MODES };

static atomic_long hops, tokens_done, timer_hops;
static atomic_long exits_ok, downs_ok, spawners_done, child_terminates;
static atomic_long errors;
static atomic_bool stopping; /* the final kill: signals fly as they may */

static void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "runtime_stress: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

/* An actor-side surprise: counted, reported at the end. */
static void error(const char* what) {
  if (atomic_load(&stopping)) return;
  fprintf(stderr, "runtime_stress: %s\n", what);
  atomic_fetch_add(&errors, 1);
}

static uint64_t xorshift(uint64_t x) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

/* init's last step: keep the state, or free it with the error. */
static int init_done(void* s, int rc, void** state) {
  if (rc)
    molt_free(s);
  else
    *state = s;
  return rc;
}

/* ---- relay */

typedef struct {
  uint64_t rng;
  int64_t hops_left;
  uint64_t check; /* a function of the rest: a torn payload shows */
} token_t;

typedef struct {
  int64_t id;
  molt_pid_t peers[RELAYS];
} relay_t;

static uint64_t token_check(const token_t* t) { return xorshift(t->rng ^ (uint64_t)t->hops_left * 0x9e3779b97f4a7c15u); }

static int relay_init(const molt_args_t* args, void** state) {
  relay_t* r = molt_calloc(1, sizeof(*r));
  if (!r) return MOLT_ENOMEM;
  r->id = molt_args_int(args, "id", 0);
  return init_done(r, 0, state);
}

static int pass(relay_t* r, token_t t) {
  atomic_fetch_add(&hops, 1);
  if (t.check != token_check(&t)) error("torn token");
  if (t.hops_left == 0) {
    atomic_fetch_add(&tokens_done, 1);
    return MOLT_OK;
  }
  t.rng = xorshift(t.rng);
  t.hops_left--;
  t.check = token_check(&t);
  molt_pid_t to = r->peers[t.rng % RELAYS];
  if (t.rng % 61 == 0) {
    atomic_fetch_add(&timer_hops, 1);
    return molt_send_after(1, to, TAG_TOKEN, &t, sizeof(t), NULL);
  }
  return molt_send(to, TAG_TOKEN, &t, sizeof(t));
}

static int relay_handle(void* state, const molt_msg_t* msg) {
  relay_t* r = state;
  token_t t;
  switch (msg->tag) {
    case TAG_PEERS:
      if (msg->size != sizeof(r->peers)) return MOLT_EINVAL;
      memcpy(r->peers, msg->data, sizeof(r->peers));
      return MOLT_OK;
    case TAG_START:
      for (int i = 0; i < TOKENS; i++) {
        t.rng = xorshift((uint64_t)(r->id * TOKENS + i + 1) * 2654435761u);
        t.hops_left = HOPS;
        t.check = token_check(&t);
        int rc = molt_send(molt_self(), TAG_TOKEN, &t, sizeof(t));
        if (rc) return rc;
      }
      return MOLT_OK;
    case TAG_TOKEN:
      if (msg->size != sizeof(t)) return MOLT_EINVAL;
      memcpy(&t, msg->data, sizeof(t));
      return pass(r, t);
    case TAG_STOP:
      return MOLT_STOP;
  }
  if (msg->kind == MOLT_MSG_DOWN || msg->kind == MOLT_MSG_EXIT) error("a relay got a signal");
  return MOLT_OK;
}

/* ---- child */

typedef struct {
  int64_t mode;
} child_t;

static int child_init(const molt_args_t* args, void** state) {
  child_t* c = molt_calloc(1, sizeof(*c));
  if (!c) return MOLT_ENOMEM;
  c->mode = molt_args_int(args, "mode", 0);
  molt_pid_t watch = (molt_pid_t)molt_args_int(args, "watch", 0);
  int rc = molt_monitor(watch, NULL);
  if (rc == 0) rc = molt_send_after(60000, molt_self(), TAG_NEVER, NULL, 0, NULL);
  if (rc == 0 && (c->mode == MODE_STOP || c->mode == MODE_CRASH))
    rc = molt_send_after((uint64_t)molt_args_int(args, "ms", 1), molt_self(), TAG_ACT, NULL, 0, NULL);
  return init_done(c, rc, state);
}

static int child_handle(void* state, const molt_msg_t* msg) {
  child_t* c = state;
  if (msg->kind == MOLT_MSG_DOWN) error("a child saw its relay go down");
  if (msg->tag == TAG_NEVER) error("a dead child's timer fired");
  if (msg->tag == TAG_ACT) return c->mode == MODE_STOP ? MOLT_STOP : MOLT_EIO;
  return MOLT_OK;
}

static void child_terminate(void* state, int reason) { atomic_fetch_add(&child_terminates, 1); }

/* ---- spawner */

typedef struct {
  int64_t id, round;
  molt_pid_t watch, child;
  uint64_t mref;
  int expect;
  bool got_exit, got_down;
} spawner_t;

static const int expected_reason[MODES] = {MOLT_EXIT_NORMAL, MOLT_EIO, MOLT_EXIT_KILLED, MOLT_EPROTO};

static int spawn_next(spawner_t* s) {
  if (s->round == ROUNDS) {
    atomic_fetch_add(&spawners_done, 1);
    return MOLT_STOP;
  }
  int mode = (int)(s->round++ % MODES);
  char args[128];
  snprintf(args, sizeof(args), "{\"mode\":%d,\"watch\":%llu,\"ms\":%d}", mode, (unsigned long long)s->watch,
           1 + (int)(s->round % 3));
  s->expect = expected_reason[mode];
  s->got_exit = s->got_down = false;
  int rc = molt_spawn_opt("child", args, MOLT_SPAWN_LINK | MOLT_SPAWN_MONITOR | MOLT_SPAWN_ANY, &s->child,
                          &s->mref);
  if (rc) return rc;
  if (mode == MODE_KILLED) return molt_exit(s->child, MOLT_EXIT_KILL);
  if (mode == MODE_EXITED) return molt_exit(s->child, MOLT_EPROTO);
  return MOLT_OK;
}

static int spawner_init(const molt_args_t* args, void** state) {
  spawner_t* s = molt_calloc(1, sizeof(*s));
  if (!s) return MOLT_ENOMEM;
  s->id = molt_args_int(args, "id", 0);
  s->watch = (molt_pid_t)molt_args_int(args, "watch", 0);
  molt_trap_exit(true);
  return init_done(s, molt_send(molt_self(), TAG_NEXT, NULL, 0), state);
}

static int spawner_handle(void* state, const molt_msg_t* msg) {
  spawner_t* s = state;
  if (msg->kind == MOLT_MSG_USER && msg->tag == TAG_NEXT) return spawn_next(s);
  if (msg->kind == MOLT_MSG_EXIT) {
    if (msg->from != s->child || msg->reason != s->expect || s->got_exit) error("unexpected EXIT");
    s->got_exit = true;
    atomic_fetch_add(&exits_ok, 1);
  } else if (msg->kind == MOLT_MSG_DOWN) {
    if (msg->from != s->child || msg->ref != s->mref || msg->reason != s->expect || s->got_down)
      error("unexpected DOWN");
    s->got_down = true;
    atomic_fetch_add(&downs_ok, 1);
  }
  if (s->got_exit && s->got_down) {
    s->got_exit = s->got_down = false;
    return spawn_next(s);
  }
  return MOLT_OK;
}

/* ---- descriptors */

#define MODULE(modname, prefix, term)                                                         \
  {                                                                                           \
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t),              \
    .state_vsn = 1, .name = modname, .vsn = "1.0.0", .init = prefix##_init,                   \
    .handle = prefix##_handle, .terminate = term, .free_state = molt_free,                    \
  }

static const molt_module_t modules[] = {
    MODULE("relay", relay, NULL),
    MODULE("child", child, child_terminate),
    MODULE("spawner", spawner, NULL),
};

/* ---- the main thread */

static void install(const molt_module_t* desc) {
  molt_version_t* v = NULL;
  if (molt__version_builtin(desc, &v) != 0 || molt__code_install_builtin(v) != 0)
    fail("cannot install %s", desc->name);
  molt__version_unref(v);
}

static molt_pid_t spawn(const char* module, const char* args) {
  molt_pid_t pid = MOLT_PID_NONE;
  int rc = molt__runtime_spawn(module, args, &pid);
  if (rc) fail("spawn %s: %s", module, molt_strerror(rc));
  return pid;
}

static void tell(molt_pid_t to, uint32_t tag, const void* data, size_t size) {
  int rc = molt_send(to, tag, data, size);
  if (rc) fail("send: %s", molt_strerror(rc));
}

static long wait_for(atomic_long* counter, long want, const char* what) {
  for (int ms = 0; ms < WAIT_MS && atomic_load(counter) < want; ms++) usleep(1000);
  long got = atomic_load(counter);
  if (got != want) fail("%s: %ld, expected %ld (errors %ld)", what, got, want, atomic_load(&errors));
  return got;
}

static void wait_no_actors(const char* when) {
  for (int ms = 0; ms < WAIT_MS && molt__actor_count() > 0; ms++) usleep(1000);
  if (molt__actor_count() != 0) fail("%s: %lu actors left", when, molt__actor_count());
}

int main(void) {
  char home[] = "/tmp/molt-stress.XXXXXX", code[64], err[256];
  if (!mkdtemp(home)) fail("mkdtemp");
  snprintf(code, sizeof(code), "%s/code", home);
  if (molt__code_init(code) != 0) fail("code server");
  if (molt__host_start(NSCHED, err, sizeof(err)) != 0) fail("start: %s", err);
  for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) install(&modules[i]);

  molt_pid_t relays[RELAYS];
  for (int i = 0; i < RELAYS; i++) {
    char args[32];
    snprintf(args, sizeof(args), "{\"id\":%d}", i);
    relays[i] = spawn("relay", args);
  }
  for (int i = 0; i < RELAYS; i++) tell(relays[i], TAG_PEERS, relays, sizeof(relays));
  for (int i = 0; i < SPAWNERS; i++) {
    char args[96];
    snprintf(args, sizeof(args), "{\"id\":%d,\"watch\":%llu}", i, (unsigned long long)relays[i % RELAYS]);
    spawn("spawner", args);
  }
  for (int i = 0; i < RELAYS; i++) tell(relays[i], TAG_START, NULL, 0);

  wait_for(&tokens_done, (long)RELAYS * TOKENS, "tokens done");
  wait_for(&hops, (long)RELAYS * TOKENS * (HOPS + 1), "hops");
  wait_for(&spawners_done, SPAWNERS, "spawners done");
  wait_for(&exits_ok, (long)SPAWNERS * ROUNDS, "EXITs");
  wait_for(&downs_ok, (long)SPAWNERS * ROUNDS, "DOWNs");
  /* Killed children skip terminate; the others run it once. */
  wait_for(&child_terminates, (long)SPAWNERS * ROUNDS * (MODES - 1) / MODES, "child terminates");
  if (atomic_load(&timer_hops) == 0) fail("no token went by timer");

  for (int i = 0; i < RELAYS; i++) tell(relays[i], TAG_STOP, NULL, 0);
  wait_no_actors("after the work");

  /* What is still alive at stop is killed: busy relays, a linked pair. */
  for (int i = 0; i < RELAYS; i++) {
    char args[32];
    snprintf(args, sizeof(args), "{\"id\":%d}", i);
    relays[i] = spawn("relay", args);
  }
  for (int i = 0; i < RELAYS; i++) tell(relays[i], TAG_PEERS, relays, sizeof(relays));
  for (int i = 0; i < RELAYS; i++) tell(relays[i], TAG_START, NULL, 0);
  char args[96];
  snprintf(args, sizeof(args), "{\"id\":99,\"watch\":%llu}", (unsigned long long)relays[0]);
  spawn("spawner", args);
  atomic_store(&stopping, true);
  molt__host_stop();
  if (molt__actor_count() != 0) fail("after stop: %lu actors left", molt__actor_count());
  molt__code_close();
  rmdir(code);
  rmdir(home);
  if (atomic_load(&errors)) fail("%ld errors", atomic_load(&errors));
  printf("runtime_stress: ok (%ld hops, %ld by timer, %ld children)\n", atomic_load(&hops),
         atomic_load(&timer_hops), atomic_load(&exits_ok));
  return 0;
}
