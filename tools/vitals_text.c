/* vitals_text.c: see vitals_text.h. */
#include "vitals_text.h"

#include <stdbool.h>

#include "json_get.h"


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
  if (json_str(a, "callback", NULL))
    snprintf(cb, sizeof(cb), "%s %s", json_str(a, "callback", ""), vt_ms(json_num(a, "callback_ms"), since, sizeof(since)));
  fprintf(f, "%-12s %-12s %-10s %-9s %10.0f %8.0f %8s %8s %5.0f  %-16s %s\n", json_str(a, "pid", "?"),
          json_str(a, "module", "?"), json_str(a, "label", json_str(a, "vsn", "?")), json_str(a, "status", "?"), json_num(a, "messages"),
          json_num(a, "mailbox"), vt_bytes(json_num(a, "memory"), mem, sizeof(mem)), vt_ms(json_num(a, "time_ms"), time, sizeof(time)),
          json_num(a, "scheduler"), cb, json_str(a, "name", "-"));
}

void vt_alarm_line(FILE* f, const cJSON* a) {
  char since[16];
  const char* module = json_str(a, "module", NULL);
  fprintf(f, "%s %s%s%s%s: %.0f over %.0f, for %s\n", json_str(a, "alarm", "?"), json_str(a, "subject", "?"), module ? " (" : "",
          module ? module : "", module ? ")" : "", json_num(a, "value"), json_num(a, "limit"),
          vt_ms(json_num(a, "since_ms"), since, sizeof(since)));
}
