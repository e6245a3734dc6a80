/* metrics_text.h: a writer of the Prometheus text exposition format
 * (version 0.0.4): families with their HELP and TYPE, samples with escaped
 * label values, histograms. It grows one buffer; it knows nothing about
 * where the figures come from (the container's metrics.c does). */
#ifndef MOLT_OBSERVE_METRICS_TEXT_H
#define MOLT_OBSERVE_METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MOLT_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct molt_metrics_w {
  char* buf; /* malloc'd; the caller takes it (molt__metrics_take) or frees it */
  size_t len, cap;
  bool oom; /* an allocation failed: what follows is dropped */
} molt_metrics_w;

/* "# HELP name help" and "# TYPE name type" (type: "counter", "gauge",
 * "histogram"). A counter's name ends in _total. */
void molt__metrics_family(molt_metrics_w* w, const char* name, const char* type, const char* help);

/* One sample: name{label="value",...} value. The labels are name, value
 * pairs ended by NULL; values are escaped. */
void molt__metrics_sample(molt_metrics_w* w, const char* name, double value, ...);

/* A histogram's samples: name_bucket{le="..."} for each upper bound in
 * bounds (ascending, n of them) and +Inf, then name_sum and name_count.
 * counts[i] is the number of observations <= bounds[i] (cumulative); count
 * is the number of observations. No labels. */
void molt__metrics_histogram(molt_metrics_w* w, const char* name, const double* bounds, const uint64_t* counts,
                             size_t n, double sum, uint64_t count);

/* The text (NUL-terminated) and its length; the writer is empty after.
 * NULL if an allocation failed. */
char* molt__metrics_take(molt_metrics_w* w, size_t* len);

#endif
