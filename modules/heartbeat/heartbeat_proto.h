/* heartbeat_proto.h: the heartbeat service's one query, for the services
 * and tests that talk to it. */
#ifndef DEMO_HEARTBEAT_PROTO_H
#define DEMO_HEARTBEAT_PROTO_H

#include <stdint.h>

enum {
  HEARTBEAT_GET = 1,   /* no payload; replies HEARTBEAT_COUNT */
  HEARTBEAT_COUNT = 2, /* heartbeat_count_t */
};

typedef struct {
  uint64_t ticks;       /* ticks since the actor started */
  uint64_t interval_ms; /* between ticks */
} heartbeat_count_t;

#endif
