/* metrics_text_test.c: the Prometheus text writer: families, escaped
 * label values, numbers, histograms. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "metrics_text.h"

Test(metrics_text, family_and_samples_with_escaped_labels) {
  molt_metrics_w w = {0};
  molt__metrics_family(&w, "molt_x_total", "counter", "Help with a \\ and a\nnewline.");
  molt__metrics_sample(&w, "molt_x_total", 3, "module", "a\"b\\c\nd", "vsn", "1.0.0", NULL);
  molt__metrics_sample(&w, "molt_x_total", 0.25, NULL);
  size_t len;
  char* t = molt__metrics_take(&w, &len);
  cr_assert_str_eq(t, "# HELP molt_x_total Help with a \\\\ and a\\nnewline.\n"
                      "# TYPE molt_x_total counter\n"
                      "molt_x_total{module=\"a\\\"b\\\\c\\nd\",vsn=\"1.0.0\"} 3\n"
                      "molt_x_total 0.25\n");
  cr_assert_eq(len, strlen(t));
  free(t);
}

Test(metrics_text, histogram_buckets_sum_and_count) {
  molt_metrics_w w = {0};
  const double bounds[] = {0.001, 0.01};
  const uint64_t counts[] = {1, 2};
  molt__metrics_histogram(&w, "p", bounds, counts, 2, 0.0125, 3);
  char* t = molt__metrics_take(&w, NULL);
  cr_assert_str_eq(t, "p_bucket{le=\"0.001\"} 1\np_bucket{le=\"0.01\"} 2\np_bucket{le=\"+Inf\"} 3\n"
                      "p_sum 0.0125\np_count 3\n");
  free(t);
}
