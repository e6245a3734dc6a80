/* alarms.h: OTP's alarm_handler for molt: thresholds over the runtime's
 * vital signs (a mailbox too long, a scheduler too busy for too long,
 * memory above a limit, an actor stuck in one callback), checked once a
 * second on the container's loop. An alarm is logged once when it is set
 * and once when it clears, listed by `molt status`, and readable by the
 * metrics (molt__alarms_foreach). Not the figures themselves
 * (actor/vitals.h). */
#ifndef MOLT_CONTAINER_ALARMS_H
#define MOLT_CONTAINER_ALARMS_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <uv.h>

#include "commands.h"

typedef enum {
  MOLT_ALARM_MAILBOX,        /* subject: an actor's pid */
  MOLT_ALARM_SCHEDULER_BUSY, /* subject: "scheduler N" */
  MOLT_ALARM_MEMORY,         /* subject: "container" */
  MOLT_ALARM_ACTOR_MEMORY,   /* subject: an actor's pid */
  MOLT_ALARM_CALLBACK,       /* subject: an actor's pid */
  MOLT_ALARM_NKINDS
} molt_alarm_kind_t;

/* One alarm that is set. */
typedef struct molt_alarm {
  molt_alarm_kind_t kind;
  char subject[32];
  char module[64];   /* the actor's module, "" for others */
  uint64_t since_ns; /* molt__now_ns() when it was set */
  uint64_t value;    /* the figure when last checked: messages, percent, bytes, ms */
  uint64_t limit;    /* the threshold it crossed, in the same unit */
} molt_alarm_t;

/* "mailbox", "scheduler_busy", "memory", "actor_memory", "callback". */
const char* molt__alarm_kind_name(molt_alarm_kind_t kind);

/* Start checking once a second on loop (the container's), with the
 * thresholds of the running release read from st each time. 0 or
 * MOLT_ENOMEM. */
int molt__alarms_start(uv_loop_t* loop, molt_container_state_t* st);
/* Stop (on loop's thread); the alarms still set are dropped unlogged. */
void molt__alarms_stop(void);

/* Call fn on each alarm set now, under the alarms' lock: fn must not call
 * back into alarms. Any thread. Returns how many. */
unsigned molt__alarms_foreach(void (*fn)(const molt_alarm_t* a, void* arg), void* arg);

/* The alarms set now, as `molt status` shows them. Any thread. */
cJSON* molt__alarms_json(void);

/* Scheduler i's utilisation over the last check's second, 0 to 1 (0
 * before the second check). Any thread. */
double molt__alarms_sched_utilisation(unsigned i);

#endif
