/* sha256.h: SHA-256 of a file's bytes (libsodium) and the hex form
 * manifests carry. The loader hashes a loaded version's private copy with
 * it, the runtime a release's files. Not a verifier: comparing is the
 * caller's. */
#ifndef MOLT_LOADER_SHA256_H
#define MOLT_LOADER_SHA256_H

#include <stdint.h>

/* The hashing calls return 0 or a negative errno (MOLT_ENOENT,
 * MOLT_EACCES, ...); _hex writes lower case; _parse takes exactly 64 hex
 * digits of either case, else MOLT_EINVAL with out untouched. _file hashes
 * only a regular file (else MOLT_EINVAL), and never blocks opening it. */
int molt__sha256_file(const char* path, uint8_t out[32]);
/* The same over an open descriptor, read from its current offset to the
 * end; lets a caller hash the very file it checked (no reopen race). */
int molt__sha256_fd(int fd, uint8_t out[32]);
void molt__sha256_hex(const uint8_t digest[32], char hex[65]);
int molt__sha256_parse(const char* hex, uint8_t out[32]);

#endif
