/* module_harness.c: a module's own tests: the runtime, the built file loaded
 * through the code server, and "mt_client", a builtin actor that sends
 * the test thread's requests and keeps the replies for it. */
#include "module_harness.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "code_server.h"
#include "rt.h"

enum { MT_ASK = 0x7101 };
#define MT_MAX_DATA 256
#define MT_MAX_REPLIES 256

typedef struct {
  molt_pid_t to;
  uint64_t ref;
  uint32_t tag, size;
  unsigned char data[MT_MAX_DATA];
} mt_ask_t;

typedef struct {
  uint64_t ref;
  uint32_t tag, size;
  unsigned char data[MT_MAX_DATA];
} mt_reply_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static mt_reply_t replies[MT_MAX_REPLIES];
static int nreplies;
static molt_pid_t client;

static int client_init(const molt_args_t* args, void** state) {
  *state = molt_alloc(1);
  return *state ? 0 : MOLT_ENOMEM;
}

static int client_handle(void* state, const molt_msg_t* msg) {
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  if (msg->tag == MT_ASK && msg->from == MOLT_PID_NONE) {
    const mt_ask_t* a = msg->data;
    return molt_send_ref(a->to, a->tag, a->ref, a->size ? a->data : NULL, a->size);
  }
  pthread_mutex_lock(&lock);
  if (nreplies < MT_MAX_REPLIES) {
    mt_reply_t* r = &replies[nreplies++];
    r->ref = msg->ref;
    r->tag = msg->tag;
    r->size = msg->size;
    memcpy(r->data, msg->data, msg->size < MT_MAX_DATA ? msg->size : MT_MAX_DATA);
  }
  pthread_mutex_unlock(&lock);
  return MOLT_OK;
}

static const molt_module_t client_module = {
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 1,
    .name = "mt_client", .vsn = "1.0.0", .init = client_init, .handle = client_handle, .free_state = molt_free,
};

void mt_setup(void) {
  rt_setup(2);
  rt_install(&client_module);
  client = rt_spawn("mt_client", NULL);
  nreplies = 0;
}

void mt_teardown(void) { rt_teardown(); }

const char* mt_load(const char* path) {
  char err[1024] = "";
  molt_version_t* v = NULL;
  int rc = molt__code_load(path, NULL, &v, err, sizeof(err));
  cr_assert_eq(rc, 0, "load %s: %s", path, err);
  return v->name;
}

molt_pid_t mt_spawn(const char* module, const char* args_json) { return rt_spawn(module, args_json); }

void mt_send(molt_pid_t to, uint32_t tag, const void* data, size_t size) {
  cr_assert_eq(rt_send(to, tag, data, size), 0, "send to %llu failed", (unsigned long long)to);
}

static bool take_reply(uint64_t ref, mt_reply_t* out) {
  bool found = false;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < nreplies && !found; i++)
    if (replies[i].ref == ref) {
      *out = replies[i];
      found = true;
    }
  pthread_mutex_unlock(&lock);
  return found;
}

void mt_call(molt_pid_t to, uint32_t tag, const void* req, size_t size, uint32_t reply_tag, void* reply,
             size_t reply_size) {
  cr_assert(size <= MT_MAX_DATA && reply_size <= MT_MAX_DATA, "mt_call: at most %d bytes", MT_MAX_DATA);
  mt_ask_t a = {.to = to, .ref = molt_make_ref(), .tag = tag, .size = (uint32_t)size};
  if (size) memcpy(a.data, req, size);
  mt_send(client, MT_ASK, &a, sizeof(a));
  mt_reply_t r;
  for (int waited = 0; !take_reply(a.ref, &r); waited++) {
    cr_assert(waited < 5000, "no reply to tag %u from %llu in 5 s", tag, (unsigned long long)to);
    usleep(1000);
  }
  cr_assert_eq(r.tag, reply_tag, "reply tag %u, expected %u", r.tag, reply_tag);
  cr_assert_eq(r.size, reply_size, "reply of %u bytes, expected %zu", r.size, reply_size);
  if (reply_size) memcpy(reply, r.data, reply_size);
}
