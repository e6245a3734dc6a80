/* trace_ring_test.c: a trace session's ring and token bucket
 * (runtime/actor/trace_ring.c): the ring holds at most its capacity, in
 * order, and refuses the rest; the bucket gives rate tokens a second, a
 * second's worth at most, whatever the gap. Time is given, not read, so
 * nothing here depends on the machine's speed. */
#include <criterion/criterion.h>

#include "trace_ring.h"

#define SEC 1000000000ull

static molt_trace_event_t ev(uint32_t tag) {
  molt_trace_event_t e = {0};
  e.kind = MOLT_TRACE_RECV;
  e.tag = tag;
  return e;
}

Test(trace_ring, keeps_events_in_order_up_to_its_capacity_and_refuses_the_rest) {
  molt_trace_event_t store[4], out[8];
  molt_trace_ring_t r;
  molt__trace_ring_init(&r, store, 4);
  for (uint32_t i = 0; i < 4; i++) {
    molt_trace_event_t e = ev(i);
    cr_assert(molt__trace_ring_push(&r, &e));
  }
  molt_trace_event_t extra = ev(99);
  cr_assert_not(molt__trace_ring_push(&r, &extra), "a full ring never grows");
  cr_assert_eq(molt__trace_ring_take(&r, out, 3), 3);
  for (uint32_t i = 0; i < 3; i++) cr_assert_eq(out[i].tag, i);
  /* Wrapping around the end keeps the order. */
  for (uint32_t i = 4; i < 7; i++) {
    molt_trace_event_t e = ev(i);
    cr_assert(molt__trace_ring_push(&r, &e));
  }
  cr_assert_eq(molt__trace_ring_take(&r, out, 8), 4);
  for (uint32_t i = 0; i < 4; i++) cr_assert_eq(out[i].tag, i + 3);
  cr_assert_eq(molt__trace_ring_take(&r, out, 8), 0);
}

Test(trace_bucket, gives_a_seconds_worth_at_once_then_rate_a_second) {
  molt_trace_bucket_t b;
  uint64_t t0 = 5 * SEC;
  molt__trace_bucket_init(&b, 10, t0);
  int got = 0;
  for (int i = 0; i < 100; i++) got += molt__trace_bucket_take(&b, t0);
  cr_assert_eq(got, 10, "the burst is one second's worth");
  cr_assert_not(molt__trace_bucket_take(&b, t0 + SEC / 20), "half a token after 50 ms at 10/s");
  cr_assert(molt__trace_bucket_take(&b, t0 + SEC / 10));
  cr_assert_not(molt__trace_bucket_take(&b, t0 + SEC / 10));
  /* Over 2 s, 20 more tokens and no more. */
  got = 0;
  for (uint64_t ms = 101; ms <= 2100; ms++) got += molt__trace_bucket_take(&b, t0 + ms * (SEC / 1000));
  cr_assert_eq(got, 20);
}

Test(trace_bucket, a_long_quiet_spell_banks_one_second_at_most) {
  molt_trace_bucket_t b;
  molt__trace_bucket_init(&b, 100, 0);
  while (molt__trace_bucket_take(&b, 0)) {
  }
  int got = 0;
  for (int i = 0; i < 1000; i++) got += molt__trace_bucket_take(&b, 3600 * SEC);
  cr_assert_eq(got, 100);
}

Test(trace_bucket, a_clock_that_did_not_move_gives_nothing_more) {
  molt_trace_bucket_t b;
  molt__trace_bucket_init(&b, 1, 10 * SEC);
  cr_assert(molt__trace_bucket_take(&b, 10 * SEC));
  cr_assert_not(molt__trace_bucket_take(&b, 9 * SEC), "an earlier time adds nothing");
  cr_assert_not(molt__trace_bucket_take(&b, 10 * SEC));
}
