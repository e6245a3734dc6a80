/* vitals_text.h: actors' vital signs, schedulers and alarms as the molt
 * command prints them for people (ps, status, top). Not the figures
 * (runtime/actor/vitals.h) nor their JSON (the container's). */
#ifndef MOLT_TOOLS_VITALS_TEXT_H
#define MOLT_TOOLS_VITALS_TEXT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>

/* 1234567 -> "1.2M": bytes in B, K, M, G (1024s). */
const char* vt_bytes(double bytes, char* buf, size_t len);
/* A duration in ms as "850ms", "12.3s", "4m05s". */
const char* vt_ms(double ms, char* buf, size_t len);

/* ps's header and one actor's line (an object of ps's "actors"). */
void vt_actor_header(FILE* f);
void vt_actor_line(FILE* f, const cJSON* a);

/* One alarm (an object of status's or top's "alarms"): "mailbox <0.12.1>
 * (sink): 25000 > 10000 for 12s". */
void vt_alarm_line(FILE* f, const cJSON* a);

#endif
