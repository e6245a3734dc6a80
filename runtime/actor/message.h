/* message.h: a message in flight, as the runtime owns it: the public
 * molt_msg_t a handler sees, plus the queue link, the incarnation it is
 * addressed to and, for system messages, what the runtime must do. */
#ifndef MOLT_ACTOR_MESSAGE_H
#define MOLT_ACTOR_MESSAGE_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "molt/module.h"
#include "mpsc.h"

struct molt_actor;

/* System messages travel in the same FIFO as user messages, so signals
 * between two actors keep their order (as Erlang guarantees). */
typedef enum {
  MOLT__SYS_NONE = 0, /* user-visible: pub.kind is USER, EXIT or DOWN */
  MOLT__SYS_LINK,     /* pub.from links to us */
  MOLT__SYS_UNLINK,
  MOLT__SYS_MONITOR,  /* pub.from monitors us with pub.ref */
  MOLT__SYS_DEMONITOR,
  MOLT__SYS_EXIT,     /* exit signal: pub.from, pub.reason, flags */
  MOLT__SYS_CALL,     /* run a runtime function in the actor's context */
} molt__sys_t;

#define MOLT__MSGF_LINKED 1u /* SYS_EXIT: propagated through a link */
#define MOLT__MSGF_SMALL 2u  /* a block of 1-3 cache lines, recyclable (message.c) */
#define MOLT__MSGF_CLASS_SHIFT 2 /* with SMALL: the block's lines - 1 */
#define MOLT__MSGF_CLASS_MASK (3u << MOLT__MSGF_CLASS_SHIFT)

/* SYS_CALL: fn runs on the actor's scheduler between two messages with the
 * actor (status RUNNING or SUSPENDED), or with NULL if the actor is gone,
 * so the requester always hears back. */
typedef void (*molt__call_fn)(struct molt_actor* a, void* arg);

/* The header is one cache line and small messages start on one, so a
 * message without payload crosses cores as one line (and the first 128
 * bytes of payload as one more). */
typedef struct molt__msg {
  /* first: mailboxes link through it; so does the list of messages held
   * while the actor is suspended, once the message left the mailbox. */
  molt_mpsc_node_t node;
  molt_pid_t to;       /* the pid it was sent to (rejections answer for it) */
  uint32_t target_gen; /* the incarnation this is for; others drop it */
  uint16_t sys;        /* molt__sys_t */
  uint16_t flags;      /* MOLT__MSGF_* */
  molt_msg_t pub;
  alignas(16) unsigned char data[];
} molt__msg_t;

_Static_assert(offsetof(molt__msg_t, data) == 64, "a message's header is one cache line");

/* A message with room for size payload bytes, pub.data pointing at it.
 * NULL when out of memory. */
molt__msg_t* molt__msg_new(uint32_t kind, uint32_t tag, const void* data, size_t size);
molt__msg_t* molt__msg_sys(molt__sys_t sys, molt_pid_t from, uint64_t ref, int32_t reason);
molt__msg_t* molt__msg_call(molt__call_fn fn, void* arg);
void molt__msg_call_args(const molt__msg_t* m, molt__call_fn* fn, void** arg);
void molt__msg_free(molt__msg_t* m);

/* The calling thread recycles small messages from now on (a scheduler
 * thread, when it starts), or no longer and frees what it kept (when it
 * ends). Other threads allocate and free every message. */
void molt__msg_cache_begin(void);
void molt__msg_cache_end(void);

#endif
