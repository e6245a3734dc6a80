/* vitals_stress.c: ps, top and alarms read every actor's vital signs from
 * threads that own none of them (runtime/actor/vitals.c), for
 * ThreadSanitizer: a reader thread scans the table again and again,
 * reading each live actor's figures and its version's name, while a
 * sender floods the actors, the actors allocate and free through
 * molt_alloc, and the main thread switches their module between two
 * versions (versions dropped under the reader) and, between switches,
 * stops cells and spawns others (slots reused under the reader). Every scan must find only
 * live cells with a name it knows. Exits 1 with a message on failure. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actor.h"
#include "actor_rows.h"
#include "code_server.h"
#include "host.h"
#include "runtime.h"

#define STRESS_NAME "vitals_stress"
#include "upgrade_stress.h"

#define NSCHED 2
#define CELLS 64
#define SWITCHES 300
#define WAIT_MS 15000

enum { TAG_WORK = 1, TAG_STOP };

static _Atomic molt_pid_t cells[CELLS];
static atomic_bool running;
static atomic_long scans, seen, respawns;

static int cell_init(const molt_args_t* args, void** state) {
  (void)args;
  void** kept = molt_calloc(8, sizeof(void*));
  if (!kept) return MOLT_ENOMEM;
  *state = kept;
  return MOLT_OK;
}

static int cell_handle(void* state, const molt_msg_t* msg) {
  void** kept = state;
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  if (msg->tag == TAG_STOP) return MOLT_STOP;
  int slot = (int)(msg->ref % 8);
  molt_free(kept[slot]);
  kept[slot] = molt_alloc(16 + msg->ref % 256);
  return MOLT_OK;
}

static void cell_free_state(void* state) {
  void** kept = state;
  for (int i = 0; i < 8; i++) molt_free(kept[i]);
  molt_free(kept);
}

#define CELL(version)                                                                           \
  {                                                                                             \
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 1, \
    .name = "cell", .vsn = version, .init = cell_init, .handle = cell_handle,                   \
    .free_state = cell_free_state,                                                              \
  }

static const molt_module_t versions[2] = {CELL("1.0.0"), CELL("1.1.0")};

static void pause_us(long us) {
  struct timespec ts = {0, us * 1000};
  nanosleep(&ts, NULL);
}

static void* sender(void* arg) {
  unsigned seed = 777;
  (void)arg;
  while (atomic_load(&running)) {
    for (int i = 0; i < 64; i++) {
      molt_pid_t to = atomic_load(&cells[rand_r(&seed) % CELLS]);
      molt_send(to, TAG_WORK, NULL, 0);
    }
    pause_us(rand_r(&seed) % 100);
  }
  return NULL;
}

/* Stop a random cell and spawn another in its place: slots are reused.
 * Between switches, on the main thread: a spawn racing a switch could
 * start on the version the switch replaces. */
static void respawn(unsigned* seed) {
  int i = rand_r(seed) % CELLS;
  molt_send(atomic_load(&cells[i]), TAG_STOP, NULL, 0);
  molt_pid_t pid;
  if (molt__runtime_spawn("cell", NULL, &pid) == 0) {
    atomic_store(&cells[i], pid);
    atomic_fetch_add(&respawns, 1);
  }
}

static void check_one(const molt_vitals_t* v, void* arg) {
  (void)arg;
  const char* name = v->version->name;
  if (strcmp(name, "cell") != 0) fail("a scan read module \"%s\"", name);
  if (strcmp(v->version->vsn, "1.0.0") != 0 && strcmp(v->version->vsn, "1.1.0") != 0)
    fail("a scan read vsn \"%s\"", v->version->vsn);
  atomic_fetch_add(&seen, 1);
}

static void* reader(void* arg) {
  (void)arg;
  while (atomic_load(&running)) {
    molt__actor_rows_scan(check_one, NULL);
    for (unsigned i = 0; i < molt__rt.nsched; i++) {
      molt_sched_vitals_t sv;
      molt__vitals_sched_read(i, molt__now_ns(), &sv);
    }
    atomic_fetch_add(&scans, 1);
  }
  return NULL;
}

int main(void) {
  char home[] = "/tmp/molt-vitals-stress.XXXXXX", code[64], err[256];
  if (!mkdtemp(home)) fail("mkdtemp");
  snprintf(code, sizeof(code), "%s/code", home);
  if (molt__code_init(code) != 0) fail("code server");
  if (molt__host_start(NSCHED, err, sizeof(err)) != 0) fail("start: %s", err);
  molt_version_t* first = builtin(&versions[0]);
  if (molt__code_install_builtin(first) != 0) fail("cannot install cell");
  molt__version_unref(first);
  for (int i = 0; i < CELLS; i++) {
    molt_pid_t pid;
    if (molt__runtime_spawn("cell", NULL, &pid) != 0) fail("spawn cell %d", i);
    atomic_store(&cells[i], pid);
  }
  atomic_store(&running, true);
  pthread_t ts, tr;
  if (pthread_create(&ts, NULL, sender, NULL) || pthread_create(&tr, NULL, reader, NULL))
    fail("cannot start the threads");
  unsigned seed = 4242;
  for (int i = 0; i < SWITCHES; i++) {
    molt_upgrade_stats_t st;
    soft_switch(&versions[(i + 1) % 2], WAIT_MS, &st);
    for (int k = 0; k < 4; k++) respawn(&seed);
    pause_us(1000);
  }
  atomic_store(&running, false);
  pthread_join(ts, NULL);
  pthread_join(tr, NULL);
  if (atomic_load(&scans) < 10 || atomic_load(&seen) < CELLS)
    fail("the reader scanned %ld times and saw %ld actors", atomic_load(&scans), atomic_load(&seen));
  printf(STRESS_NAME ": %ld scans read %ld actors; %ld respawns, %d switches\n", atomic_load(&scans),
         atomic_load(&seen), atomic_load(&respawns), SWITCHES);
  molt__host_stop();
  molt__code_close();
  return 0;
}
