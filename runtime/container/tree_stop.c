/* tree_stop.c: the release tree's stop. The root supervisor stops its
 * children one by one, each within its shutdown_ms, and goes on without a
 * child still there a second after its kill. But a supervisor shares its
 * scheduler with other actors: a child whose terminate never returns
 * stops that scheduler, and with it every supervisor on it, whose timers
 * then never fire. Only the stop's caller, on its own thread, can see it:
 * a scheduler inside one callback for longer than the tree allows any
 * child to take is not going to let the tree finish in time. */
#include "tree_stop.h"

#include <inttypes.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "runtime.h"
#include "sched.h"
#include "supervisor.h"

/* The supervisor's grace after a kill (supervisor.c's ABANDON_MS), and a
 * margin for the exit signals' way through the tree. */
#define SUP_GRACE_MS 1500
#define POLL_MS 50

/* Per scheduler: its beats at the last look, and since when it has not
 * made progress. */
typedef struct {
  uint_fast64_t beats;
  uint64_t still_since_ns;
} watch_t;

/* The first scheduler inside one callback for limit_ms, or -1. */
static int stuck_scheduler(watch_t* w, uint64_t now_ns, uint64_t limit_ms) {
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    if (molt__sched_progressed(&molt__rt.scheds[i], &w[i].beats))
      w[i].still_since_ns = now_ns;
    else if (now_ns - w[i].still_since_ns >= limit_ms * 1000000ull)
      return (int)i;
  }
  return -1;
}

bool molt__tree_stop(molt_pid_t root, const molt_sup_spec_t* tree, uint32_t timeout_ms) {
  if (molt__runtime_exit(root, MOLT_EXIT_SHUTDOWN) != 0) return false;
  int64_t longest = molt__sup_spec_longest_shutdown(tree, NULL);
  uint64_t limit_ms = (uint64_t)(longest > 0 ? longest : 0) + SUP_GRACE_MS;
  uint64_t t0 = molt__now_ns();
  watch_t w[molt__rt.nsched];
  for (unsigned i = 0; i < molt__rt.nsched; i++) w[i] = (watch_t){0, t0};
  for (;;) {
    if (molt__runtime_wait_exit(root, POLL_MS) == 0) return false;
    uint64_t now = molt__now_ns();
    int stuck = stuck_scheduler(w, now, limit_ms);
    if (stuck >= 0) {
      molt__log_warn("scheduler %d has been inside one callback for %" PRIu64
                     " ms, longer than any child of the tree may take to stop; the stop goes on without it",
                     stuck, (now - w[stuck].still_since_ns) / 1000000);
      molt__runtime_exit(root, MOLT_EXIT_KILL);
      return true;
    }
    if (now - t0 >= (uint64_t)timeout_ms * 1000000ull) break;
  }
  molt__log_warn("the release tree did not stop within %u ms; killed", timeout_ms);
  molt__runtime_exit(root, MOLT_EXIT_KILL);
  molt__runtime_wait_exit(root, 1000);
  return false;
}
