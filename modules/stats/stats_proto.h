/* stats_proto.h: the stats service's one query. Its tags sit clear of the
 * counter's (counter_proto.h), whose replies the stats actor also gets. */
#ifndef DEMO_STATS_PROTO_H
#define DEMO_STATS_PROTO_H

#include <stdint.h>

#include "../counter/counter_proto.h"

enum {
  STATS_GET = 32,    /* no payload; replies STATS_LATEST */
  STATS_LATEST = 33, /* stats_latest_t */
};

typedef struct {
  uint64_t polls;       /* COUNTER_STATS requests sent */
  uint64_t answers;     /* COUNTER_STATS_REPLY answers received */
  uint64_t unreachable; /* polls skipped: no actor had the target name, or the send failed */
  uint64_t at_ms;       /* molt_now_ms() when latest came; 0: no answer yet */
  counter_stats_t latest;
} stats_latest_t;

#endif
