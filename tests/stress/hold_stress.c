/* hold_stress.c: soft loads that hold idle schedulers instead of waking
 * them (molt__sched_hold), for ThreadSanitizer and for the gate.
 *
 * A sender thread sends bursts of increments to counter actors on both
 * schedulers and pauses between bursts, long enough for the schedulers to
 * park and short enough for bursts to land mid-switch; the main thread
 * switches the module between two versions with the same state layout
 * again and again, so that each switch finds schedulers parked, running,
 * or waking up into a held gate. The switch thread writes each actor's
 * version and state while its scheduler is held; TSan checks that the
 * gate orders those writes against the scheduler's own turns. After every
 * commit no actor may run the version left behind; at the end every
 * increment sent must have been counted once. Exits 1 with a message on
 * failure. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "actor.h"
#include "code_server.h"
#include "host.h"
#include "runtime.h"

#define STRESS_NAME "hold_stress"
#include "upgrade_stress.h"

#define NSCHED 2
#define CELLS 64
#define SWITCHES 3000
#define WAIT_MS 15000

enum { TAG_INCR = 1, TAG_REPORT };

static molt_pid_t cells[CELLS];
static atomic_long sent, counted, reports, held_switches;
static atomic_bool sending;

static int cell_init(const molt_args_t* args, void** state) {
  (void)args;
  long* count = molt_calloc(1, sizeof(*count));
  if (!count) return MOLT_ENOMEM;
  *state = count;
  return MOLT_OK;
}

static int cell_handle(void* state, const molt_msg_t* msg) {
  long* count = state;
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  if (msg->tag == TAG_INCR) (*count)++;
  if (msg->tag == TAG_REPORT) {
    atomic_fetch_add(&counted, *count);
    atomic_fetch_add(&reports, 1);
  }
  return MOLT_OK;
}

#define CELL(version)                                                                           \
  {                                                                                             \
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 1, \
    .name = "cell", .vsn = version, .init = cell_init, .handle = cell_handle,                   \
    .free_state = molt_free,                                                                    \
  }

static const molt_module_t versions[2] = {CELL("1.0.0"), CELL("1.1.0")};

static void pause_us(long us) {
  struct timespec ts = {0, us * 1000};
  nanosleep(&ts, NULL);
}

/* Bursts of 1..64 increments to random cells, 0..200 us apart. */
static void* sender(void* arg) {
  unsigned seed = 12345;
  (void)arg;
  while (atomic_load(&sending)) {
    int burst = 1 + rand_r(&seed) % 64;
    for (int i = 0; i < burst; i++)
      if (molt_send(cells[rand_r(&seed) % CELLS], TAG_INCR, NULL, 0) == 0) atomic_fetch_add(&sent, 1);
    pause_us(rand_r(&seed) % 200);
  }
  return NULL;
}

/* One soft switch to desc, which must move every cell. */
static void switch_to(const molt_module_t* desc) {
  molt_upgrade_stats_t st;
  soft_switch(desc, WAIT_MS, &st);
  if (st.actors != CELLS) fail("switch to %s moved %lu actors, not %d", desc->vsn, st.actors, CELLS);
  if (st.held) atomic_fetch_add(&held_switches, 1);
}

int main(void) {
  char home[] = "/tmp/molt-hold-stress.XXXXXX", code[64], err[256];
  if (!mkdtemp(home)) fail("mkdtemp");
  snprintf(code, sizeof(code), "%s/code", home);
  if (molt__code_init(code) != 0) fail("code server");
  if (molt__host_start(NSCHED, err, sizeof(err)) != 0) fail("start: %s", err);
  molt_version_t* first = builtin(&versions[0]);
  if (molt__code_install_builtin(first) != 0) fail("cannot install cell");
  molt__version_unref(first);
  for (int i = 0; i < CELLS; i++)
    if (molt__runtime_spawn("cell", NULL, &cells[i]) != 0) fail("spawn cell %d", i);

  pthread_t t;
  atomic_store(&sending, true);
  if (pthread_create(&t, NULL, sender, NULL) != 0) fail("cannot start the sender");
  unsigned seed = 54321;
  for (int i = 0; i < SWITCHES; i++) {
    switch_to(&versions[(i + 1) % 2]);
    pause_us(rand_r(&seed) % 300);
  }
  atomic_store(&sending, false);
  pthread_join(t, NULL);

  for (int i = 0; i < CELLS; i++)
    if (molt_send(cells[i], TAG_REPORT, NULL, 0) != 0) fail("report from cell %d", i);
  for (int ms = 0; ms < WAIT_MS && atomic_load(&reports) < CELLS; ms++) usleep(1000);
  if (atomic_load(&reports) != CELLS) fail("%ld of %d cells reported", atomic_load(&reports), CELLS);
  long s = atomic_load(&sent), c = atomic_load(&counted);
  if (s != c) fail("%ld increments sent, %ld counted", s, c);
  long h = atomic_load(&held_switches);
  if (h == 0) fail("no switch of %d held a parked scheduler", SWITCHES);
  molt__host_stop();
  molt__code_close();
  rmdir(code);
  rmdir(home);
  printf("hold_stress: ok (%d switches, %ld held a parked scheduler; %ld increments, all counted)\n", SWITCHES,
         h, s);
  return 0;
}
