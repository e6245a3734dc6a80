/* sha256_test.c: file digests and their hex form (loader/sha256.c),
 * against the FIPS 180-2 test vectors. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "sha256.h"
#include "molt/errno.h"
#include "testutil.h"

static char* dir;

static void setup(void) {
  dir = tu_mkdtemp("molt-sha256");
  cr_assert_not_null(dir);
}

static void teardown(void) {
  tu_rmrf(dir);
  free(dir);
}

TestSuite(sha256, .init = setup, .fini = teardown);

/* The hex digest of a file holding len bytes of data. */
static void file_hex(const void* data, size_t len, char hex[65]) {
  char path[4096];
  uint8_t digest[32];

  snprintf(path, sizeof path, "%s/f", dir);
  cr_assert_eq(tu_write_file(path, data, len), 0);
  cr_assert_eq(molt__sha256_file(path, digest), 0);
  molt__sha256_hex(digest, hex);
}

Test(sha256, abc) {
  char hex[65];

  file_hex("abc", 3, hex);
  cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(sha256, empty_file) {
  char hex[65];

  file_hex("", 0, hex);
  cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(sha256, two_blocks) {
  const char* msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  char hex[65];

  file_hex(msg, strlen(msg), hex);
  cr_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* A million bytes cross the reader's chunk boundaries many times. */
Test(sha256, million_a) {
  size_t n = 1000000;
  char* data = malloc(n);
  char hex[65];

  memset(data, 'a', n);
  file_hex(data, n, hex);
  free(data);
  cr_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

Test(sha256, fd_reads_from_the_current_offset) {
  char path[4096], hex[65];
  uint8_t digest[32];
  int fd;

  snprintf(path, sizeof path, "%s/f", dir);
  cr_assert_eq(tu_write_file(path, "xxabc", 5), 0);
  fd = open(path, O_RDONLY);
  cr_assert_geq(fd, 0);
  cr_assert_eq(lseek(fd, 2, SEEK_SET), 2);
  cr_assert_eq(molt__sha256_fd(fd, digest), 0);
  close(fd);
  molt__sha256_hex(digest, hex);
  cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(sha256, missing_file) {
  uint8_t digest[32];

  cr_assert_eq(molt__sha256_file("/nonexistent/file", digest), MOLT_ENOENT);
}

/* Hashing reads to EOF: a FIFO would block its open and /dev/zero never
 * end, so both are refused, at once. */
Test(sha256, file_refuses_a_fifo_and_a_device_at_once, .timeout = 5) {
  char path[4096];
  uint8_t digest[32];

  snprintf(path, sizeof path, "%s/pipe", dir);
  cr_assert_eq(mkfifo(path, 0600), 0);
  cr_assert_eq(molt__sha256_file(path, digest), MOLT_EINVAL);
  cr_assert_eq(molt__sha256_file("/dev/zero", digest), MOLT_EINVAL);
  cr_assert_eq(molt__sha256_file(dir, digest), MOLT_EINVAL);
}

Test(sha256, parse_round_trips_either_case) {
  const char* lower = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  uint8_t a[32], b[32];
  char hex[65];

  cr_assert_eq(molt__sha256_parse(lower, a), 0);
  molt__sha256_hex(a, hex);
  cr_assert_str_eq(hex, lower);
  cr_assert_eq(
      molt__sha256_parse("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", b), 0);
  cr_assert_arr_eq(a, b, sizeof a);
}

Test(sha256, parse_refuses_anything_but_64_hex_digits) {
  const char* bad[] = {
      "",
      "abc",
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",   /* 63 */
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0", /* 65 */
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015aX",
      " a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2001",
      NULL,
  };
  uint8_t out[32], before[32];
  size_t i;

  memset(out, 0x5a, sizeof out);
  memcpy(before, out, sizeof out);
  for (i = 0; i < sizeof bad / sizeof *bad; i++) {
    cr_assert_eq(molt__sha256_parse(bad[i], out), MOLT_EINVAL, "accepted \"%s\"",
                 bad[i] ? bad[i] : "(null)");
    cr_assert_arr_eq(out, before, sizeof out, "out touched by \"%s\"", bad[i] ? bad[i] : "(null)");
  }
}
