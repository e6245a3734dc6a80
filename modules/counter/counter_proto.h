/* counter_proto.h: the counter service's messages, shared by the counter
 * and the services that talk to it. Fixed-size structs copied by value:
 * molt copies every payload on send. */
#ifndef DEMO_COUNTER_PROTO_H
#define DEMO_COUNTER_PROTO_H

#include <stdint.h>

#define COUNTER_KEY_MAX 32

enum {
  COUNTER_INCR = 1,        /* counter_incr_t; no reply */
  COUNTER_GET = 2,         /* counter_key_t; replies COUNTER_VALUE */
  COUNTER_VALUE = 3,       /* counter_value_t */
  COUNTER_STATS = 4,       /* no payload; replies COUNTER_STATS_REPLY */
  COUNTER_STATS_REPLY = 5, /* counter_stats_t */
  /* Since 1.1.0; 1.0.0 logs "ignored message" and does not answer, so the
   * lack of an answer says which version runs. */
  COUNTER_INFO = 6,        /* no payload; replies COUNTER_INFO_REPLY */
  COUNTER_INFO_REPLY = 7,  /* counter_info_t */
};

typedef struct {
  int64_t by;
  char key[COUNTER_KEY_MAX]; /* NUL-terminated */
} counter_incr_t;

typedef struct {
  char key[COUNTER_KEY_MAX];
} counter_key_t;

typedef struct {
  int64_t value;
  char key[COUNTER_KEY_MAX];
} counter_value_t;

typedef struct {
  int64_t total;     /* sum of all increments */
  uint64_t keys;     /* distinct keys */
  uint64_t messages; /* messages handled */
} counter_stats_t;

/* Which code answered: its module version and state layout, and the
 * messages its state has counted (carried over by every upgrade). */
typedef struct {
  char vsn[16];       /* NUL-terminated */
  uint32_t state_vsn;
  uint64_t messages;  /* messages handled, this INFO included */
} counter_info_t;

#endif
