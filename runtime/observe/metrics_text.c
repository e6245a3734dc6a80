/* metrics_text.c: the Prometheus text format's syntax, nothing else. */
#include "metrics_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(molt_metrics_w* w, const char* s, size_t n) {
  if (w->oom) return;
  if (w->len + n + 1 > w->cap) {
    size_t cap = w->cap ? w->cap : 4096;
    while (w->len + n + 1 > cap) cap *= 2;
    char* b = realloc(w->buf, cap);
    if (!b) {
      w->oom = true;
      return;
    }
    w->buf = b;
    w->cap = cap;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = 0;
}

static void puts_(molt_metrics_w* w, const char* s) { put(w, s, strlen(s)); }

/* HELP text escapes \ and newline; label values also ". */
static void escaped(molt_metrics_w* w, const char* s, bool quote) {
  for (; *s; s++) {
    if (*s == '\\') puts_(w, "\\\\");
    else if (*s == '\n') puts_(w, "\\n");
    else if (*s == '"' && quote) puts_(w, "\\\"");
    else put(w, s, 1);
  }
}

static void number(molt_metrics_w* w, double v) {
  char b[40];
  if (isnan(v)) snprintf(b, sizeof b, "NaN");
  else if (isinf(v)) snprintf(b, sizeof b, v > 0 ? "+Inf" : "-Inf");
  else if (v == (double)(int64_t)v && fabs(v) < 9e15) snprintf(b, sizeof b, "%lld", (long long)v);
  else snprintf(b, sizeof b, "%.15g", v);
  puts_(w, b);
}

void molt__metrics_family(molt_metrics_w* w, const char* name, const char* type, const char* help) {
  puts_(w, "# HELP ");
  puts_(w, name);
  puts_(w, " ");
  escaped(w, help, false);
  puts_(w, "\n# TYPE ");
  puts_(w, name);
  puts_(w, " ");
  puts_(w, type);
  puts_(w, "\n");
}

static void sample_v(molt_metrics_w* w, const char* name, double value, va_list ap) {
  puts_(w, name);
  const char* k = va_arg(ap, const char*);
  if (k) {
    puts_(w, "{");
    for (bool first = true; k; k = va_arg(ap, const char*), first = false) {
      const char* v = va_arg(ap, const char*);
      if (!first) puts_(w, ",");
      puts_(w, k);
      puts_(w, "=\"");
      escaped(w, v ? v : "", true);
      puts_(w, "\"");
    }
    puts_(w, "}");
  }
  puts_(w, " ");
  number(w, value);
  puts_(w, "\n");
}

void molt__metrics_sample(molt_metrics_w* w, const char* name, double value, ...) {
  va_list ap;
  va_start(ap, value);
  sample_v(w, name, value, ap);
  va_end(ap);
}

void molt__metrics_histogram(molt_metrics_w* w, const char* name, const double* bounds, const uint64_t* counts,
                             size_t n, double sum, uint64_t count) {
  char sample[128], le[40];
  snprintf(sample, sizeof sample, "%s_bucket", name);
  for (size_t i = 0; i < n; i++) {
    snprintf(le, sizeof le, "%g", bounds[i]);
    molt__metrics_sample(w, sample, (double)counts[i], "le", le, (const char*)NULL);
  }
  molt__metrics_sample(w, sample, (double)count, "le", "+Inf", (const char*)NULL);
  snprintf(sample, sizeof sample, "%s_sum", name);
  molt__metrics_sample(w, sample, sum, (const char*)NULL);
  snprintf(sample, sizeof sample, "%s_count", name);
  molt__metrics_sample(w, sample, (double)count, (const char*)NULL);
}

char* molt__metrics_take(molt_metrics_w* w, size_t* len) {
  char* b = w->oom ? NULL : w->buf;
  if (w->oom) free(w->buf);
  if (len) *len = b ? w->len : 0;
  w->buf = NULL;
  w->len = w->cap = 0;
  w->oom = false;
  return b;
}
