/* spawn_upgrade_stress.c: upgrades while actors spawn across schedulers,
 * for ThreadSanitizer and for the transaction's freeze barrier.
 *
 * Breeders on both schedulers spawn short-lived children anywhere
 * (MOLT_SPAWN_ANY), without pause, while the main thread switches the
 * module between two versions again and again. A child born on the
 * version being replaced while its scheduler is already migrating would
 * be missed by the scan and left on the old code: after every commit no
 * actor may run the version left behind, and the next switch, which needs
 * its slot, must find it purged. Exits 1 with a message on failure. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "actor.h"
#include "code_server.h"
#include "host.h"
#include "runtime.h"

#define STRESS_NAME "spawn_upgrade_stress"
#include "upgrade_stress.h"

#define NSCHED 2
#define BREEDERS 4
#define SWITCHES 1500
#define WAIT_MS 15000

enum { TAG_NEXT = 1, TAG_DIE };

static atomic_long births, deaths;
static atomic_bool stopping;

/* State: 1 for a breeder, 0 for a child; either way one int. */
static int breeder_init(const molt_args_t* args, void** state) {
  int* s = molt_calloc(1, sizeof(*s));
  if (!s) return MOLT_ENOMEM;
  *s = (int)molt_args_int(args, "breeder", 0);
  int rc = molt_send(molt_self(), *s ? TAG_NEXT : TAG_DIE, NULL, 0);
  if (rc) {
    molt_free(s);
    return rc;
  }
  *state = s;
  return MOLT_OK;
}

static int breeder_handle(void* state, const molt_msg_t* msg) {
  (void)state;
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  if (msg->tag == TAG_DIE) {
    atomic_fetch_add(&deaths, 1);
    return MOLT_STOP;
  }
  if (atomic_load(&stopping)) return MOLT_STOP;
  molt_pid_t child;
  int rc = molt_spawn_opt("breeder", "{\"breeder\":0}", MOLT_SPAWN_ANY, &child, NULL);
  if (rc) return rc;
  atomic_fetch_add(&births, 1);
  return molt_send(molt_self(), TAG_NEXT, NULL, 0);
}

#define BREEDER(version)                                                                        \
  {                                                                                             \
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 1, \
    .name = "breeder", .vsn = version, .init = breeder_init, .handle = breeder_handle,          \
    .free_state = molt_free,                                                                    \
  }

static const molt_module_t versions[2] = {BREEDER("1.0.0"), BREEDER("1.1.0")};

int main(void) {
  char home[] = "/tmp/molt-spawn-stress.XXXXXX", code[64], err[256];
  if (!mkdtemp(home)) fail("mkdtemp");
  snprintf(code, sizeof(code), "%s/code", home);
  if (molt__code_init(code) != 0) fail("code server");
  if (molt__host_start(NSCHED, err, sizeof(err)) != 0) fail("start: %s", err);
  molt_version_t* first = builtin(&versions[0]);
  if (molt__code_install_builtin(first) != 0) fail("cannot install breeder");
  molt__version_unref(first);
  for (int i = 0; i < BREEDERS; i++)
    if (molt__runtime_spawn("breeder", "{\"breeder\":1}", NULL) != 0) fail("spawn breeder %d", i);

  for (int i = 0; i < SWITCHES; i++) soft_switch(&versions[(i + 1) % 2], WAIT_MS, NULL);

  atomic_store(&stopping, true);
  for (int ms = 0; ms < WAIT_MS && molt__actor_count() > 0; ms++) usleep(1000);
  if (molt__actor_count() != 0) fail("%lu actors left after the breeders stopped", molt__actor_count());
  long b = atomic_load(&births), d = atomic_load(&deaths);
  if (b != d) fail("%ld children born, %ld died", b, d);
  if (b < SWITCHES) fail("only %ld children born during %d switches", b, SWITCHES);
  molt__host_stop();
  molt__code_close();
  rmdir(code);
  rmdir(home);
  printf("spawn_upgrade_stress: ok (%d switches, %ld children spawned across schedulers)\n", SWITCHES, b);
  return 0;
}
