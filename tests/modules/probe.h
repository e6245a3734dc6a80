/* probe.h: a client actor for the module suites. The test thread cannot
 * receive messages, so it asks the probe, a builtin module compiled into
 * the test, to send a request; the probe keeps every answer it gets for the
 * test thread to wait for, matched by ref. Header-only: each suite is one
 * executable and includes it once. */
#ifndef MOLT_TEST_PROBE_H
#define MOLT_TEST_PROBE_H

#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "molt/module.h"
#include "rt.h"

/* The test thread's requests: PROBE_ASK has the probe send (tag, data) to
 * `to` with ref; PROBE_RUN has it call fn(arg) inside its handle, that is
 * inside an actor, then answer itself PROBE_RAN with ref. */
enum { PROBE_ASK = 0x7001, PROBE_RUN = 0x7002, PROBE_RAN = 0x7003 };
typedef struct {
  void (*fn)(void* arg);
  void* arg;
  uint64_t ref;
} probe_run_t;
typedef struct {
  molt_pid_t to;
  uint64_t ref;
  uint32_t tag, size;
  unsigned char data[64];
} probe_ask_t;

/* An answer the probe got. */
typedef struct {
  uint32_t tag, size;
  molt_pid_t from;
  uint64_t ref;
  unsigned char data[128];
} probe_answer_t;

#define PROBE_MAX 4096
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static probe_answer_t probe_answers[PROBE_MAX];
static int probe_count;

static int probe_init(const molt_args_t* args, void** state) {
  *state = molt_alloc(1);
  return *state ? 0 : MOLT_ENOMEM;
}

static int probe_handle(void* state, const molt_msg_t* msg) {
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  if (msg->tag == PROBE_ASK) {
    const probe_ask_t* a = msg->data;
    return molt_send_ref(a->to, a->tag, a->ref, a->size ? a->data : NULL, a->size);
  }
  if (msg->tag == PROBE_RUN) {
    const probe_run_t* r = msg->data;
    r->fn(r->arg);
    return molt_send_ref(molt_self(), PROBE_RAN, r->ref, NULL, 0);
  }
  pthread_mutex_lock(&probe_lock);
  if (probe_count < PROBE_MAX) {
    probe_answer_t* p = &probe_answers[probe_count++];
    p->tag = msg->tag;
    p->size = msg->size;
    p->from = msg->from;
    p->ref = msg->ref;
    memcpy(p->data, msg->data, msg->size < sizeof(p->data) ? msg->size : sizeof(p->data));
  }
  pthread_mutex_unlock(&probe_lock);
  return MOLT_OK;
}

static void probe_free_state(void* state) { molt_free(state); }

static const molt_module_t probe_module = {
    .magic = MOLT_MAGIC,
    .abi = MOLT_ABI_VERSION,
    .size = sizeof(molt_module_t),
    .state_vsn = 1,
    .name = "probe",
    .vsn = "1.0.0",
    .init = probe_init,
    .handle = probe_handle,
    .free_state = probe_free_state,
};

/* Install the probe and start one. */
static inline molt_pid_t probe_start(void) {
  rt_install(&probe_module);
  return rt_spawn("probe", NULL);
}

/* Have probe send (tag, data) to `to`; returns the ref the answer will carry. */
static inline uint64_t probe_ask(molt_pid_t probe, molt_pid_t to, uint32_t tag, const void* data, size_t size) {
  probe_ask_t a = {.to = to, .ref = molt_make_ref(), .tag = tag, .size = (uint32_t)size};
  cr_assert(size <= sizeof(a.data));
  if (size) memcpy(a.data, data, size);
  cr_assert_eq(rt_send(probe, PROBE_ASK, &a, sizeof(a)), 0);
  return a.ref;
}

/* The answer with ref, if it came: copied to *out. */
static inline bool probe_answer(uint64_t ref, probe_answer_t* out) {
  bool found = false;
  pthread_mutex_lock(&probe_lock);
  for (int i = 0; i < probe_count && !found; i++)
    if (probe_answers[i].ref == ref) {
      if (out) *out = probe_answers[i];
      found = true;
    }
  pthread_mutex_unlock(&probe_lock);
  return found;
}

/* Wait up to timeout_ms for the answer with ref; asserts it came with
 * want_tag and want_size bytes, and copies its payload to out. */
static inline void probe_wait(uint64_t ref, uint32_t want_tag, void* out, size_t want_size, unsigned timeout_ms) {
  probe_answer_t a;
  unsigned waited = 0;
  while (!probe_answer(ref, &a)) {
    cr_assert(waited++ < timeout_ms, "no answer for ref %llu in %u ms", (unsigned long long)ref, timeout_ms);
    usleep(1000);
  }
  cr_assert_eq(a.tag, want_tag, "answer tag %u, expected %u", a.tag, want_tag);
  cr_assert_eq(a.size, want_size, "answer of %u bytes, expected %zu", a.size, want_size);
  if (want_size) memcpy(out, a.data, want_size);
}

/* Ask and wait: the usual round trip. */
static inline void probe_call(molt_pid_t probe, molt_pid_t to, uint32_t tag, const void* data, size_t size,
                              uint32_t want_tag, void* out, size_t want_size) {
  probe_wait(probe_ask(probe, to, tag, data, size), want_tag, out, want_size, 5000);
}

/* fn(arg) inside the probe actor, waited for: for calling a module's
 * callbacks where the actor API works (init setting a timer, say). */
static inline void probe_run(molt_pid_t probe, void (*fn)(void* arg), void* arg) {
  probe_run_t r = {.fn = fn, .arg = arg, .ref = molt_make_ref()};
  cr_assert_eq(rt_send(probe, PROBE_RUN, &r, sizeof(r)), 0);
  probe_wait(r.ref, PROBE_RAN, NULL, 0, 5000);
}

#endif
