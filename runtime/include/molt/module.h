/* molt/module.h: what a module author includes. The module descriptor (the
 * ABI between a module .so and the container) and the message a handler
 * gets; it includes the calls a module makes, molt/actor.h (actors,
 * messages, names, timers, the allocator, the log) and molt/tcp.h
 * (runtime-owned TCP). Nothing here exposes the runtime's private
 * structures. */
#ifndef MOLT_MODULE_H
#define MOLT_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "molt/errno.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ ABI */

/* 'MOLT' read as a little-endian word: rejects a stray .so. */
#define MOLT_MAGIC 0x544c4f4du
/* Changes only on an incompatible change; a mismatch is refused. */
#define MOLT_ABI_VERSION 1u
/* The one symbol a module exports. */
#define MOLT_DESCRIPTOR_SYMBOL "molt_module"

#define MOLT_EXPORT __attribute__((visibility("default")))

/* An actor's identity: scheduler-independent index and a generation that
 * changes each time the slot is reused, so a stale pid never reaches a new
 * actor. 0 is "no actor". */
typedef uint64_t molt_pid_t;
#define MOLT_PID_NONE ((molt_pid_t)0)

/* What a message is. USER messages carry the sender's tag and payload;
 * the other kinds are signals the runtime turns into messages. */
typedef enum {
  MOLT_MSG_USER = 0,
  MOLT_MSG_EXIT = 1,    /* a linked actor exited (only while trapping exits) */
  MOLT_MSG_DOWN = 2,    /* a monitored actor exited; ref is the monitor's */
  MOLT_MSG_TIMEOUT = 3, /* never used today; timers deliver USER messages */
  MOLT_MSG_TCP_ACCEPT = 4, /* ref: the new connection; data: molt_tcp_accept_t */
  MOLT_MSG_TCP_DATA = 5,   /* ref: the connection; data: the bytes received */
  MOLT_MSG_TCP_CLOSED = 6, /* ref: the connection or listener; reason: why */
} molt_msg_kind_t;

/* Exit reasons. 0 is normal; negative reasons are MOLT_E* error codes (a
 * handler that returned an error); positive values below are the runtime's. */
#define MOLT_EXIT_NORMAL 0
#define MOLT_EXIT_SHUTDOWN 1 /* asked to stop by its supervisor or the container */
#define MOLT_EXIT_KILL 2     /* untrappable; the victim exits with KILLED */
#define MOLT_EXIT_KILLED 3
#define MOLT_EXIT_NOPROC 4 /* linked or monitored an actor that did not exist */
#define MOLT_EXIT_PURGED 5 /* its module version was hard-purged */

/* A message as a handler sees it. Borrowed for the length of the call: copy
 * what you keep. Part of the ABI (fields are appended only). */
typedef struct molt_msg {
  uint32_t kind;    /* molt_msg_kind_t */
  uint32_t tag;     /* USER: the sender's tag */
  molt_pid_t from;  /* sender, or the exiting actor for EXIT and DOWN */
  uint64_t ref;     /* USER: correlation ref (see molt_call_ref); DOWN: monitor ref */
  int32_t reason;   /* EXIT and DOWN: the exit reason */
  uint32_t size;    /* payload bytes */
  const void* data; /* payload, runtime-owned, 16-byte aligned */
} molt_msg_t;

/* Arguments given to init: the child's "args" object from the release
 * manifest, or the JSON text passed to molt_spawn. Opaque; read it with
 * molt_args_*() during init only. */
typedef struct molt_args molt_args_t;

/* Direction of a code_change. */
typedef enum { MOLT_UP = 1, MOLT_DOWN = 2 } molt_direction_t;

/* Return values of handle besides 0 (carry on) and a negative MOLT_E*
 * (crash: the actor exits with that reason). */
#define MOLT_OK 0
#define MOLT_STOP 1 /* exit normally */

/* The descriptor. Declare it with MOLT_MODULE(...) or by hand:
 *
 *   MOLT_EXPORT const molt_module_t molt_module = {
 *       .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION,
 *       .size = sizeof(molt_module_t), .name = "counter", .vsn = "1.0.0",
 *       .state_vsn = 1, .init = ..., .handle = ..., ...};
 *
 * Fields are appended only, never reordered, resized or reused; a reader
 * uses a field only if it lies inside .size (MOLT_HAS_FIELD). */
typedef struct molt_module {
  uint32_t magic;     /* MOLT_MAGIC */
  uint32_t abi;       /* MOLT_ABI_VERSION */
  uint32_t size;      /* sizeof(molt_module_t) as the module was compiled */
  uint32_t state_vsn; /* layout of the actor state; changes need code_change */
  const char* name;   /* module name, [a-z0-9_] */
  const char* vsn;    /* module version, e.g. "1.4.0" */

  /* An actor starts: build its state into *state. Return 0, or a negative
   * MOLT_E* to refuse (the spawn fails with that code; nothing to free). */
  int (*init)(const molt_args_t* args, void** state);

  /* One message. Works on state in place. Return MOLT_OK, MOLT_STOP, or a
   * negative MOLT_E* (the actor crashes with that reason). */
  int (*handle)(void* state, const molt_msg_t* msg);

  /* The actor stops with reason (MOLT_EXIT_*, or a negative MOLT_E*). Must
   * not free state: the runtime calls free_state afterwards. May be NULL. */
  void (*terminate)(void* state, int reason);

  /* Migrate a state between versions, as OTP's code_change/3.
   * MOLT_UP: called on the new version; vsn/state_vsn name the version
   *   being replaced and old_state is in its layout.
   * MOLT_DOWN: called on the current (newer) version before switching back;
   *   vsn/state_vsn name the version being returned to, and *new_state must
   *   be in its layout.
   * Must neither modify nor free old_state, and *new_state must share no
   * memory with it. extra is the step's "extra" string from the release, or
   * NULL. Return 0, or a negative MOLT_E* to abort the whole upgrade.
   * May be NULL when state_vsn never changes. */
  int (*code_change)(molt_direction_t dir, const char* vsn, uint32_t state_vsn,
                     const void* old_state, const char* extra, void** new_state);

  /* Free a state this version's init or code_change built. Touch nothing
   * but the state: it may run on any thread (after an upgrade the old
   * states are freed by the thread that ran it, once the actors resumed). */
  void (*free_state)(void* state);

  /* Optional: a JSON text describing state, allocated with molt_alloc (the
   * runtime frees it). NULL if unsupported or on failure. */
  char* (*format_state)(const void* state);
} molt_module_t;

/* ------------------------------------------------------ what a module must not do */

/* A module is loaded and purged many times in one process, so it must
 * leave nothing behind that outlives its purge or takes the process over.
 * The loader refuses, from the file's bytes and before anything of it is
 * loaded or run, naming the symbol or flag (MOLT_EFORBIDDEN):
 *
 * - initial-exec TLS (DF_STATIC_TLS: `__thread` built with -ftls-model=
 *   initial-exec, or linked into a module with it): every load takes a
 *   slice of the process's static TLS that no purge gives back, so some
 *   reload fails. Build with -ftls-model=global-dynamic (the default for
 *   -fPIC code).
 * - an STB_GNU_UNIQUE symbol (g++ makes one of an inline function's static
 *   local or a template's static member): glibc then never unmaps the
 *   module, so a purge frees nothing and the next version shares its
 *   statics. Build C++ with -fno-gnu-unique.
 * - a descriptor symbol smaller than its own .size: the loader would read
 *   past it.
 * - an import of a call below, whatever its symbol version
 *   (pthread_create@GLIBC_2.34 is pthread_create).
 *
 * Allowed, because glibc undoes them at unload: atexit, __cxa_atexit (a
 * module's handlers run when it is unloaded, not at process exit),
 * __cxa_finalize, pthread_atfork. abort stays allowed: a failed assert
 * calls it, and ending the process there is the point. Also allowed:
 * malloc and free, files and sockets the module closes in terminate (but
 * prefer molt/tcp.h), dlopen of a library it never closes.
 *
 * XX(symbol, why): the list the loader enforces, why each. */
#define MOLT_FORBIDDEN_IMPORTS(XX)                                                              \
  /* Code the module runs on a thread of its own is unmapped under it by the purge. */          \
  XX(pthread_create, "a thread outlives the module's purge")                                    \
  XX(thrd_create, "a thread outlives the module's purge")                                       \
  /* A handler is process-wide: it would run the purged module's code, or take a signal the \
   * container handles (SIGTERM, SIGCHLD) away from it. */                                      \
  XX(signal, "a signal handler is process-wide and outlives the module's purge")                \
  XX(sigaction, "a signal handler is process-wide and outlives the module's purge")             \
  XX(sigset, "a signal handler is process-wide and outlives the module's purge")                \
  XX(bsd_signal, "a signal handler is process-wide and outlives the module's purge")            \
  XX(sysv_signal, "a signal handler is process-wide and outlives the module's purge")           \
  XX(__sysv_signal, "a signal handler is process-wide and outlives the module's purge")         \
  /* An actor runs on a scheduler thread that other modules' actors share. */                   \
  XX(sigprocmask, "it changes the signal mask of a scheduler thread other actors share")       \
  XX(pthread_sigmask, "it changes the signal mask of a scheduler thread other actors share")   \
  /* A child of the multi-threaded container holds every lock another thread held at the \
   * fork, and inherits its sockets and its control socket. */                                 \
  XX(fork, "a fork copies the whole multi-threaded container")                                  \
  XX(vfork, "a fork copies the whole multi-threaded container")                                 \
  /* The container, its supervisors and every other module go with it: return an error \
   * from the callback instead, and the supervisor decides. */                                   \
  XX(exit, "it ends the whole container past its supervisors; return an error instead")        \
  XX(_exit, "it ends the whole container past its supervisors; return an error instead")       \
  XX(_Exit, "it ends the whole container past its supervisors; return an error instead")       \
  XX(quick_exit, "it ends the whole container past its supervisors; return an error instead")  \
  /* The environment is process-wide and no thread may change it while another reads it; \
   * putenv also keeps the module's string, which the purge unmaps. */                           \
  XX(setenv, "the environment is process-wide, and changing it races every other thread")      \
  XX(putenv, "the environment is process-wide, and putenv keeps a pointer into the module")    \
  XX(unsetenv, "the environment is process-wide, and changing it races every other thread")    \
  XX(clearenv, "the environment is process-wide, and changing it races every other thread")    \
  /* Only the container unloads code: a stray dlclose can unmap a library or module version \
   * something else still runs. */                                                              \
  XX(dlclose, "only the container unloads code, and a dlclose can unmap what others still run")

/* The layout is the ABI: these pin it on LP64 targets, so an edit that
 * moves a field fails to compile instead of breaking every built module. */
#if !defined(__cplusplus) && defined(__LP64__)
_Static_assert(offsetof(molt_module_t, magic) == 0, "molt_module_t.magic moved");
_Static_assert(offsetof(molt_module_t, state_vsn) == 12, "molt_module_t.state_vsn moved");
_Static_assert(offsetof(molt_module_t, name) == 16, "molt_module_t.name moved");
_Static_assert(offsetof(molt_module_t, vsn) == 24, "molt_module_t.vsn moved");
_Static_assert(offsetof(molt_module_t, init) == 32, "molt_module_t.init moved");
_Static_assert(offsetof(molt_module_t, handle) == 40, "molt_module_t.handle moved");
_Static_assert(offsetof(molt_module_t, terminate) == 48, "molt_module_t.terminate moved");
_Static_assert(offsetof(molt_module_t, code_change) == 56, "molt_module_t.code_change moved");
_Static_assert(offsetof(molt_module_t, free_state) == 64, "molt_module_t.free_state moved");
_Static_assert(offsetof(molt_module_t, format_state) == 72, "molt_module_t.format_state moved");
_Static_assert(sizeof(molt_module_t) == 80, "molt_module_t grew: append only, then update this");
_Static_assert(offsetof(molt_msg_t, from) == 8, "molt_msg_t.from moved");
_Static_assert(offsetof(molt_msg_t, ref) == 16, "molt_msg_t.ref moved");
_Static_assert(offsetof(molt_msg_t, reason) == 24, "molt_msg_t.reason moved");
_Static_assert(offsetof(molt_msg_t, size) == 28, "molt_msg_t.size moved");
_Static_assert(offsetof(molt_msg_t, data) == 32, "molt_msg_t.data moved");
#endif

#define MOLT_HAS_FIELD(desc, field) \
  ((desc)->size >= offsetof(molt_module_t, field) + sizeof((desc)->field))

/* Declares the descriptor in one line; the module's callbacks are named
 * prefix_init, prefix_handle, ... and may be static. terminate,
 * code_change and format_state may be NULL via the _EX form. */
#define MOLT_MODULE(modname, modvsn, statevsn, prefix)                   \
  MOLT_EXPORT const molt_module_t molt_module = {                        \
      .magic = MOLT_MAGIC,                                               \
      .abi = MOLT_ABI_VERSION,                                           \
      .size = sizeof(molt_module_t),                                     \
      .state_vsn = (statevsn),                                           \
      .name = (modname),                                                 \
      .vsn = (modvsn),                                                   \
      .init = prefix##_init,                                             \
      .handle = prefix##_handle,                                         \
      .terminate = prefix##_terminate,                                   \
      .code_change = prefix##_code_change,                               \
      .free_state = prefix##_free_state,                                 \
      .format_state = prefix##_format_state,                             \
  }

#ifdef __cplusplus
}
#endif

/* The calls a module makes: the actor API and runtime-owned TCP. */
#include "molt/actor.h"
#include "molt/tcp.h"

#endif
