/* vitals_test.c: the vital signs of runtime/actor/vitals.c: the owner's
 * mailbox count against a real MPSC queue (pushes, pops, the stub's
 * rounds, the walk's bound), and on a running runtime what another thread
 * reads of an actor held inside one callback (the callback and for how
 * long, its mailbox as of its last turn), then its messages, memory and
 * time once it has run, and a scheduler's busy time. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actor.h"
#include "alloc.h"
#include "clock.h"
#include "rt.h"
#include "runtime.h"
#include "sched.h"
#include "version.h"
#include "vitals.h"

/* ---- the mailbox count, on a slot of our own (no runtime) ---- */

typedef struct {
  molt_mpsc_node_t node;
  int seq;
} item_t;

static molt_actor_t* bare_actor(void) {
  molt_actor_t* a = molt__calloc_aligned(64, sizeof(*a));
  cr_assert(a);
  molt__mpsc_init(&a->mailbox);
  return a;
}

static uint32_t len_of(molt_actor_t* a) { return atomic_load(&a->mbox_len); }

/* A turn that pops n messages, and says so at its end. */
static void pop_n(molt_actor_t* a, int n) {
  for (int i = 0; i < n; i++) cr_assert_not_null(molt__mpsc_pop(&a->mailbox), "pop %d of %d", i, n);
  molt__vitals_popped(a, (uint32_t)n);
}

TestSuite(vitals, .timeout = 30);

Test(vitals, counts_what_arrived_and_what_was_popped) {
  molt_actor_t* a = bare_actor();
  static item_t items[300];
  int next = 0;
  for (int round = 0; round < 4; round++) { /* the stub goes round each time the queue empties */
    for (int i = 0; i < 50; i++) molt__mpsc_push(&a->mailbox, &items[next++ % 300].node);
    molt__vitals_count_mailbox(a);
    cr_assert_eq(len_of(a), 50, "round %d", round);
    pop_n(a, 20);
    cr_assert_eq(len_of(a), 30);
    for (int i = 0; i < 10; i++) molt__mpsc_push(&a->mailbox, &items[next++ % 300].node);
    cr_assert_eq(len_of(a), 30, "arrivals count only at the owner's next count");
    molt__vitals_count_mailbox(a);
    cr_assert_eq(len_of(a), 40);
    molt__vitals_count_mailbox(a);
    cr_assert_eq(len_of(a), 40, "a second count adds nothing");
    pop_n(a, 40);
    cr_assert_eq(len_of(a), 0);
    cr_assert_null(a->mbox_counted);
    cr_assert_null(molt__mpsc_pop(&a->mailbox));
  }
  molt__free(a);
}

Test(vitals, a_pop_before_any_count_leaves_the_count_at_zero) {
  molt_actor_t* a = bare_actor();
  item_t items[3];
  for (int i = 0; i < 3; i++) molt__mpsc_push(&a->mailbox, &items[i].node);
  pop_n(a, 1);
  cr_assert_eq(len_of(a), 0);
  molt__vitals_count_mailbox(a);
  cr_assert_eq(len_of(a), 2, "counts from the oldest message not yet popped");
  molt__free(a);
}

Test(vitals, a_flood_is_counted_a_bounded_walk_at_a_time) {
  molt_actor_t* a = bare_actor();
  static item_t items[2000];
  for (int i = 0; i < 2000; i++) molt__mpsc_push(&a->mailbox, &items[i].node);
  molt__vitals_count_mailbox(a);
  uint32_t first = len_of(a);
  cr_assert(first > 0 && first < 2000, "one count walks a bounded number: %u", first);
  for (int i = 0; i < 10; i++) molt__vitals_count_mailbox(a);
  cr_assert_eq(len_of(a), 2000, "and catches up over later turns");
  pop_n(a, 2000);
  cr_assert_eq(len_of(a), 0);
  molt__free(a);
}

/* ---- a running runtime ---- */

enum { TAG_HOLD = 1, TAG_KEEP = 2 };

static atomic_bool release_hold;

typedef struct {
  void* kept[64];
  int nkept;
} held_t;

static int v_init(const molt_args_t* args, void** state) {
  *state = molt_calloc(1, sizeof(held_t));
  return *state ? 0 : MOLT_ENOMEM;
}

static int v_handle(void* state, const molt_msg_t* msg) {
  held_t* h = state;
  if (msg->tag == TAG_HOLD) {
    while (!atomic_load(&release_hold)) usleep(1000);
  } else if (msg->tag == TAG_KEEP && h->nkept < 64) {
    h->kept[h->nkept] = molt_alloc(1000);
    if (!h->kept[h->nkept++]) return MOLT_ENOMEM;
  }
  return MOLT_OK;
}

static void v_terminate(void* state, int reason) {}

static void v_free_state(void* state) {
  held_t* h = state;
  for (int i = 0; i < h->nkept; i++) molt_free(h->kept[i]);
  molt_free(h);
}

static const molt_module_t vmod = {
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .name = "vital", .vsn = "1.0.0",
    .state_vsn = 1, .init = v_init, .handle = v_handle, .terminate = v_terminate, .free_state = v_free_state,
};

static bool read_vitals(molt_pid_t pid, molt_vitals_t* v) {
  molt__version_readers_enter();
  bool ok = molt__vitals_read(molt__actor_slot(pid), molt__now_ns(), v) && v->pid == pid;
  molt__version_readers_leave();
  return ok;
}

static bool held_a_while(void* arg) {
  molt_vitals_t v;
  return read_vitals(*(molt_pid_t*)arg, &v) && v.callback && v.callback_ns >= 50000000;
}

static bool all_handled(void* arg) {
  molt_vitals_t v;
  return read_vitals(*(molt_pid_t*)arg, &v) && v.messages == 11 && v.mailbox == 0;
}

Test(vitals, another_thread_reads_an_actor_held_in_its_callback, .fini = rt_teardown) {
  rt_setup(2);
  rt_install(&vmod);
  atomic_store(&release_hold, false);
  molt_pid_t pid = rt_spawn("vital", "{}");
  molt_vitals_t v;
  cr_assert(read_vitals(pid, &v));
  cr_assert_eq(v.messages, 0);
  cr_assert_gt(v.memory, 0, "init's allocation is the actor's");
  int64_t after_init = v.memory;
  uint64_t busy0;
  molt_sched_vitals_t sv;
  molt__vitals_sched_read(v.sched, molt__now_ns(), &sv);
  busy0 = sv.busy_ns;

  cr_assert_eq(rt_send(pid, TAG_HOLD, NULL, 0), 0);
  for (int i = 0; i < 10; i++) cr_assert_eq(rt_send(pid, TAG_KEEP, NULL, 0), 0);
  cr_assert(rt_wait(held_a_while, &pid, 5000), "ps never saw the actor in its callback");
  cr_assert(read_vitals(pid, &v));
  cr_assert_str_eq(v.callback, "handle");
  cr_assert_str_eq(v.version->name, "vital");
  molt__vitals_sched_read(v.sched, molt__now_ns(), &sv);
  cr_assert(sv.active);
  cr_assert_geq(sv.busy_ns - busy0, 40000000ull, "the held turn counts as busy while it runs");

  atomic_store(&release_hold, true);
  cr_assert(rt_wait(all_handled, &pid, 5000), "the actor did not handle its 11 messages");
  cr_assert(read_vitals(pid, &v));
  cr_assert_null(v.callback);
  cr_assert_geq(v.memory - after_init, 10 * 1000, "ten kept blocks of 1000 bytes");
  /* Sampled by the ticker: at least one tick landed in a 50 ms callback
   * (a loaded machine may run the ticker rarely). */
  cr_assert_geq(v.time_ms, 1, "the held callback was sampled: %u ms", v.time_ms);
}
