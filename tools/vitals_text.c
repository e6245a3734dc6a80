/* vitals_text.c: see vitals_text.h. */
#include "vitals_text.h"

#include <stdbool.h>

static const char* str(const cJSON* o, const char* key, const char* def) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : def;
}

static double num(const cJSON* o, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

const char* vt_bytes(double b, char* buf, size_t len) {
  static const char units[] = "BKMGT";
  int u = 0;
  bool neg = b < 0;
  if (neg) b = -b;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    u++;
  }
  if (u == 0)
    snprintf(buf, len, "%s%.0f%c", neg ? "-" : "", b, units[u]);
  else
    snprintf(buf, len, "%s%.1f%c", neg ? "-" : "", b, units[u]);
  return buf;
}

const char* vt_ms(double ms, char* buf, size_t len) {
  if (ms < 1000)
    snprintf(buf, len, "%.0fms", ms);
  else if (ms < 60000)
    snprintf(buf, len, "%.1fs", ms / 1000);
  else
    snprintf(buf, len, "%.0fm%02.0fs", (double)(long)(ms / 60000), (double)((long)(ms / 1000) % 60));
  return buf;
}

void vt_actor_header(FILE* f) {
  fprintf(f, "%-12s %-12s %-10s %-9s %10s %8s %8s %8s %5s  %-16s %s\n", "PID", "MODULE", "VSN", "STATUS", "MESSAGES",
          "MAILBOX", "MEMORY", "TIME", "SCHED", "CALLBACK", "NAME");
}

void vt_actor_line(FILE* f, const cJSON* a) {
  char mem[16], time[16], cb[48] = "-", since[16];
  if (str(a, "callback", NULL))
    snprintf(cb, sizeof(cb), "%s %s", str(a, "callback", ""), vt_ms(num(a, "callback_ms"), since, sizeof(since)));
  fprintf(f, "%-12s %-12s %-10s %-9s %10.0f %8.0f %8s %8s %5.0f  %-16s %s\n", str(a, "pid", "?"),
          str(a, "module", "?"), str(a, "label", str(a, "vsn", "?")), str(a, "status", "?"), num(a, "messages"),
          num(a, "mailbox"), vt_bytes(num(a, "memory"), mem, sizeof(mem)), vt_ms(num(a, "time_ms"), time, sizeof(time)),
          num(a, "scheduler"), cb, str(a, "name", "-"));
}

void vt_alarm_line(FILE* f, const cJSON* a) {
  char since[16];
  const char* module = str(a, "module", NULL);
  fprintf(f, "%s %s%s%s%s: %.0f over %.0f, for %s\n", str(a, "alarm", "?"), str(a, "subject", "?"), module ? " (" : "",
          module ? module : "", module ? ")" : "", num(a, "value"), num(a, "limit"),
          vt_ms(num(a, "since_ms"), since, sizeof(since)));
}
