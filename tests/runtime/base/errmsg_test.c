/* errmsg_test.c: the one helper that writes a reason into a caller's
 * message buffer (runtime/base/errmsg.c), and the text it gives an errno. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "errmsg.h"
#include "molt/errno.h"

Test(errmsg, formats_the_reason_and_returns_the_code) {
  char err[64] = "";
  int rc = molt__errmsg_set(err, sizeof err, MOLT_EINVAL, "%s: bad %d", "x.so", 7);

  cr_assert_eq(rc, MOLT_EINVAL);
  cr_assert_str_eq(err, "x.so: bad 7");
}

Test(errmsg, returns_the_code_whatever_it_is) {
  char err[16];

  cr_assert_eq(molt__errmsg_set(err, sizeof err, 0, "fine"), 0);
  cr_assert_eq(molt__errmsg_set(err, sizeof err, 3, "a count"), 3);
  cr_assert_eq(molt__errmsg_set(err, sizeof err, MOLT_EMANIFEST, "m"), MOLT_EMANIFEST);
  cr_assert_eq(molt__errmsg_set(err, sizeof err, -ELOOP, "l"), -ELOOP);
}

Test(errmsg, null_buffer_is_left_alone_and_still_returns_the_code) {
  cr_assert_eq(molt__errmsg_set(NULL, 0, MOLT_ENOMEM, "out of memory"), MOLT_ENOMEM);
  /* A length with no buffer is a caller's slip, not a licence to write. */
  cr_assert_eq(molt__errmsg_set(NULL, 128, MOLT_ENOENT, "%s", "gone"), MOLT_ENOENT);
}

Test(errmsg, zero_length_writes_nothing) {
  char err[8] = "keep";

  cr_assert_eq(molt__errmsg_set(err, 0, MOLT_EBUSY, "busy"), MOLT_EBUSY);
  cr_assert_str_eq(err, "keep");
}

Test(errmsg, truncation_is_always_terminated_and_stays_inside) {
  char buf[16];

  memset(buf, 'X', sizeof buf);
  cr_assert_eq(molt__errmsg_set(buf, 8, MOLT_EIO, "%s", "0123456789abcdef"), MOLT_EIO);
  cr_assert_str_eq(buf, "0123456");
  for (size_t i = 8; i < sizeof buf; i++) cr_assert_eq(buf[i], 'X', "byte %zu written", i);

  memset(buf, 'X', sizeof buf);
  cr_assert_eq(molt__errmsg_set(buf, 1, MOLT_EIO, "anything"), MOLT_EIO);
  cr_assert_eq(buf[0], '\0');
  cr_assert_eq(buf[1], 'X');
}

Test(errmsg, a_second_reason_replaces_the_first) {
  char err[32];

  molt__errmsg_set(err, sizeof err, MOLT_EIO, "a long first reason");
  molt__errmsg_set(err, sizeof err, MOLT_EIO, "short");
  cr_assert_str_eq(err, "short");
}

Test(errmsg, strerror_names_molt_codes_as_molt_does) {
  cr_assert_str_eq(molt__errmsg_strerror(MOLT_ENOMEM), molt_strerror(MOLT_ENOMEM));
  cr_assert_str_eq(molt__errmsg_strerror(MOLT_ECHECKSUM), molt_strerror(MOLT_ECHECKSUM));
}

Test(errmsg, strerror_falls_back_to_libc_for_other_errnos) {
  /* ELOOP is not in molt's list; realpath can still return it. */
  cr_assert_str_eq(molt_strerror(-ELOOP), "unknown error");
  cr_assert_str_eq(molt__errmsg_strerror(-ELOOP), strerror(ELOOP));
}
