/* message_test.c: runtime-owned messages (runtime/message.c): payloads are
 * copied whole at every size, small ones come in blocks of one, two or
 * three cache lines by their size, and a scheduler thread recycles a freed
 * block only for a message of the same size class (larger ones come from
 * malloc as they are). Under ASan blocks are
 * exact allocations and nothing is recycled, so an overrun of a block is
 * reported there. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "message.h"

#if defined(__SANITIZE_ADDRESS__)
#define RECYCLES 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RECYCLES 0
#endif
#endif
#ifndef RECYCLES
#define RECYCLES 1
#endif

static void begin(void) { molt__msg_cache_begin(); }
static void end(void) { molt__msg_cache_end(); }

TestSuite(message, .init = begin, .fini = end);

static unsigned class_of(const molt__msg_t* m) {
  return (m->flags & MOLT__MSGF_CLASS_MASK) >> MOLT__MSGF_CLASS_SHIFT;
}

Test(message, every_size_is_copied_whole_into_a_block_that_fits_it) {
  static const size_t sizes[] = {0, 1, 63, 64, 65, 127, 128, 129, 4000};
  unsigned char src[4000];
  for (size_t i = 0; i < sizeof(src); i++) src[i] = (unsigned char)(i * 7 + 3);
  for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
    size_t n = sizes[k];
    molt__msg_t* m = molt__msg_new(MOLT_MSG_USER, 9, src, n);
    cr_assert_not_null(m);
    cr_expect_eq(m->pub.size, n);
    cr_expect_eq(m->pub.tag, 9);
    cr_expect_eq((const void*)m->pub.data, (const void*)m->data);
    cr_expect_eq(memcmp(m->data, src, n), 0, "payload of %zu bytes changed", n);
    bool small = n <= 128;
    if (small) cr_expect_eq((uintptr_t)m % 64, 0, "a %zu-byte message does not start on a cache line", n);
    cr_expect_eq(!!(m->flags & MOLT__MSGF_SMALL), small, "size %zu", n);
    if (small) cr_expect_eq(class_of(m), (64 + n + 63) / 64 - 1, "size %zu", n);
    /* Fill the block's whole payload: an overrun shows under ASan. */
    memset(m->data, 0xab, n);
    molt__msg_free(m);
  }
}

Test(message, a_freed_block_comes_back_only_for_its_own_size) {
  molt__msg_t* none = molt__msg_new(MOLT_MSG_USER, 1, NULL, 0);
  cr_assert_not_null(none);
  void* none_block = none;
  molt__msg_free(none);

  unsigned char payload[100] = {1};
  molt__msg_t* big = molt__msg_new(MOLT_MSG_USER, 2, payload, sizeof(payload));
  cr_assert_not_null(big);
  cr_expect_neq((void*)big, none_block, "a one-line block was handed out for a 164-byte message");
  cr_expect_eq(class_of(big), 2);
  molt__msg_t* again = molt__msg_new(MOLT_MSG_USER, 3, NULL, 0);
  cr_assert_not_null(again);
  if (RECYCLES) cr_expect_eq((void*)again, none_block, "the freed one-line block was not recycled");
  cr_expect_eq(again->pub.tag, 3);
  cr_expect_eq(again->flags & ~MOLT__MSGF_CLASS_MASK, MOLT__MSGF_SMALL, "a recycled block keeps no old flags");
  molt__msg_free(big);
  molt__msg_free(again);
}

Test(message, system_messages_are_one_line) {
  molt__msg_t* m = molt__msg_sys(MOLT__SYS_EXIT, 42, 7, -3);
  cr_assert_not_null(m);
  cr_expect_eq(class_of(m), 0);
  cr_expect_eq(m->sys, MOLT__SYS_EXIT);
  cr_expect_eq(m->pub.from, 42);
  cr_expect_eq(m->pub.ref, 7);
  cr_expect_eq(m->pub.reason, -3);
  molt__msg_free(m);
}
