/* sha256.c: SHA-256 of a file's bytes (libsodium, streamed in fixed chunks)
 * and the hex form manifests carry. Not a verifier: comparing is the caller's. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"

#include "molt/errno.h"

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

/* sodium_init() is itself idempotent and thread-safe, but it also picks
 * CPU-specific implementations; doing it exactly once keeps that out of
 * every hash call. Its failure (no entropy source) does not affect the
 * hash functions, so there is nothing to report. */
static void sodium_setup(void) {
  if (sodium_init() < 0) return;
}

int molt__sha256_fd(int fd, uint8_t out[32]) {
  crypto_hash_sha256_state st;
  unsigned char buf[64 * 1024];
  ssize_t n;

  pthread_once(&sodium_once, sodium_setup);
  crypto_hash_sha256_init(&st);
  for (;;) {
    n = read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
  }
  crypto_hash_sha256_final(&st, out);
  return 0;
}

/* O_NONBLOCK and the type check: hashing reads to EOF, which a FIFO or a
 * character device such as /dev/zero may never reach, and opening a FIFO
 * without O_NONBLOCK waits for a writer. */
int molt__sha256_file(const char* path, uint8_t out[32]) {
  struct stat st;
  int fd, rc;

  fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return -errno;
  if (fstat(fd, &st) != 0)
    rc = -errno;
  else
    rc = S_ISREG(st.st_mode) ? molt__sha256_fd(fd, out) : MOLT_EINVAL;
  close(fd);
  return rc;
}

void molt__sha256_hex(const uint8_t digest[32], char hex[65]) {
  static const char digits[] = "0123456789abcdef";
  int i;

  for (i = 0; i < 32; i++) {
    hex[2 * i] = digits[digest[i] >> 4];
    hex[2 * i + 1] = digits[digest[i] & 0xf];
  }
  hex[64] = '\0';
}

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Exactly 64 hex digits, either case, nothing before or after: sodium_hex2bin
 * would also accept a short prefix or skip separators, which is not what a
 * digest in a manifest may look like. out is untouched on failure. */
int molt__sha256_parse(const char* hex, uint8_t out[32]) {
  uint8_t tmp[32];
  int i, hi, lo;

  if (!hex) return MOLT_EINVAL;
  for (i = 0; i < 32; i++) {
    hi = nibble(hex[2 * i]);
    if (hi < 0) return MOLT_EINVAL;
    lo = nibble(hex[2 * i + 1]);
    if (lo < 0) return MOLT_EINVAL;
    tmp[i] = (uint8_t)(hi << 4 | lo);
  }
  if (hex[64] != '\0') return MOLT_EINVAL;
  for (i = 0; i < 32; i++) out[i] = tmp[i];
  return 0;
}
