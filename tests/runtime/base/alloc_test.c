/* alloc_test.c: molt's allocator's two test hooks, fault injection and the
 * leak count, and cJSON allocating through them. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"

Test(alloc, count_is_allocations_minus_frees) {
  void *a, *b, *c, *d, *e;

  molt__alloc_count_start();
  a = molt__alloc(8);
  b = molt__calloc(2, 8);
  c = molt__realloc(NULL, 8); /* a new block */
  c = molt__realloc(c, 4096); /* the same block, moved or not */
  d = molt__strdup("x");
  e = molt__calloc_aligned(64, 64);
  cr_assert((uintptr_t)e % 64 == 0);
  molt__free(a);
  molt__free(NULL); /* not a block */
  cr_assert_eq(molt__alloc_count_stop(), 4);
  molt__free(b); /* after stop: not counted */
  molt__free(c);
  molt__free(d);
  molt__free(e);
  molt__alloc_count_start();
  cr_assert_eq(molt__alloc_count_stop(), 0);
}

Test(alloc, failure_is_counted_out_and_reported) {
  void* p;

  molt__alloc_count_start();
  molt__alloc_fail_at(2, 0);
  p = molt__alloc(8);
  cr_assert_not_null(p);
  cr_assert_null(molt__realloc(p, 16)); /* the second: fails, p stays */
  cr_assert_eq(molt__alloc_fail_at(0, 0), 0, "the failure happened");
  molt__free(p);
  cr_assert_eq(molt__alloc_count_stop(), 0);
  molt__alloc_fail_at(3, 0);
  molt__free(molt__alloc(8));
  cr_assert_eq(molt__alloc_fail_at(0, 0), 2, "one allocation made, two to go");
}

Test(alloc, cjson_allocates_through_molt) {
  cJSON* o;
  char* text;

  molt__alloc_count_start();
  o = cJSON_CreateObject();
  text = cJSON_PrintUnformatted(o);
  cr_assert_str_eq(text, "{}");
  cr_assert_eq(molt__alloc_count_stop(), 2);
  molt__alloc_count_start();
  cJSON_free(text);
  cJSON_Delete(o);
  cr_assert_eq(molt__alloc_count_stop(), -2);
  molt__alloc_fail_at(1, 0);
  cr_assert_null(cJSON_CreateObject());
  molt__alloc_fail_at(0, 0);
}
