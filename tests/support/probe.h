/* probe.h: "probe", a module the runtime suites steer from the test thread.
 * Each probe does what its USER messages say (link, monitor, spawn, set a
 * timer, crash, ...) and writes what happens to it as rt notes, one line
 * each, starting with its id. Not a model module: it exists to be watched.
 *
 * Args (JSON): "id" (string, default "probe", starts every note),
 * "register" (1: register under its id), "trap" (1: trap exits), "fail" (1:
 * init returns MOLT_EINVAL after registering and setting its timer),
 * "timer_ms" (> 0: init sets a timer to itself with tag PROBE_TIMER_FIRED).
 *
 * Notes (pids and refs printed as %llu, reasons as %d):
 *   "<id> init pid=<pid>"            "<id> init failed rc=<rc>"
 *   "<id> terminate reason=<r>"      "<id> unknown tag=<t>"
 *   "<id> EXIT from=<pid> reason=<r>"
 *   "<id> DOWN ref=<ref> from=<pid> reason=<r>"
 *   "<id> fired tag=<t> at=<molt_now_ms>"   (any tag >= PROBE_TIMER_FIRED)
 *   "<id> got seq=<n>"               "<id> OUT OF ORDER seq=<n> after=<m>"
 * and one line per command with its result (see probe_tag_t).
 *
 * Pick ids that are not suffixes of each other ("a" and "ba"): tests find
 * notes by substring. */
#ifndef MOLT_TEST_PROBE_H
#define MOLT_TEST_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "molt/module.h"
#include "rt.h"

/* Commands: USER messages whose payload is a probe_cmd_t (or a string where
 * said). Each notes "<id> <what> ... rc=<rc>". */
typedef enum {
  PROBE_LINK = 1,       /* a=pid: molt_link. "link rc=" */
  PROBE_UNLINK,         /* a=pid. "unlink rc=" */
  PROBE_MONITOR,        /* a=pid. "monitor ref=<ref> rc=" */
  PROBE_DEMONITOR,      /* a=ref. "demonitor rc=" */
  PROBE_TRAP,           /* a=on. "trap on=" */
  PROBE_EXIT,           /* a=pid b=reason: molt_exit. "exit rc=" */
  PROBE_CRASH,          /* a=reason: handle returns it */
  PROBE_STOP,           /* handle returns MOLT_STOP */
  PROBE_SPAWN_LINK,     /* payload: the child's args JSON text. */
  PROBE_SPAWN_MONITOR,  /*   All three note "spawned pid=<pid> ref=<ref> rc=" */
  PROBE_SPAWN_ANY,      /*   (ref 0 unless monitored). */
  PROBE_TIMER,          /* a=ms b=tag: send_after to self. "timer ref=<ref> at=<ms> rc=" */
  PROBE_TIMER_TO,       /* a=pid b=ms: send_after PROBE_TIMER_FIRED to pid. "timer ref=<ref> at=<ms> rc=" */
  PROBE_CANCEL,         /* a=ref. "cancel rc=" */
  PROBE_SEND,           /* a=pid b=tag: molt_send, empty probe_cmd_t. "send rc=" */
  PROBE_ECHO,           /* a=seq: "got seq=<a>"; seqs must go 1, 2, 3, ... */
  PROBE_REGISTER,       /* payload: a name (none: NULL). "register rc=" */
  PROBE_UNREGISTER,     /* payload: a name. "unregister rc=" */
  PROBE_WHEREIS,        /* payload: a name. "whereis pid=<pid>" */
  PROBE_TIMER_FIRED = 100,
} probe_tag_t;

typedef struct probe_cmd {
  int64_t a, b;
} probe_cmd_t;

/* The descriptor; install it with probe_install() (rt_install). */
extern const molt_module_t probe_module;

/* How long the helpers below wait for a note, and the default for tests. */
#define PROBE_WAIT_MS 5000u

void probe_install(void);

/* Spawn a registered probe {"id":id,"register":1<extra>} from the test
 * thread; extra is "" or starts with a comma (",\"trap\":1"). */
molt_pid_t probe_start(const char* id, const char* extra);

/* Send a command from the test thread; asserts the send succeeded. */
void probe_cmd(molt_pid_t to, uint32_t tag, int64_t a, int64_t b);
/* A command whose payload is text (args JSON or a name), NUL included. */
void probe_cmd_str(molt_pid_t to, uint32_t tag, const char* text);

/* Send probe id a command and wait for the note that answers it, "<id>
 * <what> ... rc=<rc>" ("link", "monitor", "spawned", "timer", ...); returns
 * rc. Other values of that note: probe_value("<id> <what>", key). */
long long probe_call(molt_pid_t p, const char* id, const char* what, uint32_t tag, int64_t a, int64_t b);
long long probe_call_str(molt_pid_t p, const char* id, const char* what, uint32_t tag, const char* text);

/* Have probe parent_id spawn a probe with args by tag (PROBE_SPAWN_*);
 * asserts success and returns the child's pid. */
molt_pid_t probe_spawn_child(molt_pid_t parent, const char* parent_id, uint32_t tag, const char* args);

/* Wait (PROBE_WAIT_MS) for the nth note containing needle; asserts, showing
 * every note, on timeout. */
void probe_expect(const char* needle, int n);

/* The value of "key=" in the last note containing needle; asserts the note
 * and key exist. */
long long probe_value(const char* needle, const char* key);

/* The same in the nth (1-based) note containing needle. */
long long probe_nth_value(const char* needle, int n, const char* key);

/* Offset of the nth (1-based) note containing needle in the log, or -1:
 * orders events. */
long probe_pos(const char* needle, int n);

/* Wait for a note containing needle, then assert that its "key=" (in the
 * last such note) is value. */
void probe_expect_value(const char* needle, const char* key, long long value);

/* Wait for an EXIT or DOWN note ("a EXIT", "w DOWN"), then assert its
 * sender and reason. */
void probe_expect_signal(const char* needle, molt_pid_t from, int reason);

/* Everything queued for pid (any actor, probe or not) before this call
 * has been handled when it returns: a runtime call travels the mailbox
 * behind it. Returns at once for an actor that is gone. */
void probe_barrier(molt_pid_t pid);

/* A suite's .init: rt_setup(1 or 2 schedulers), then probe_install(). */
void probe_setup1(void);
void probe_setup2(void);

/* The descriptor of a small test module whose state is one molt_alloc'd
 * block (or NULL) and that has no terminate. */
#define PROBE_TEST_MODULE(modname, init_fn, handle_fn)                                              \
  {                                                                                                \
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 1,   \
    .name = (modname), .vsn = "1.0.0", .init = (init_fn), .handle = (handle_fn),                   \
    .free_state = molt_free,                                                                       \
  }

#endif
