/* manifest_oom_test.c: every allocation the manifest code makes is made to
 * fail in turn; each run must end in MOLT_ENOMEM (or success) with nothing
 * leaked. molt's allocator with fault injection is not there yet, so this
 * replaces malloc itself (glibc supports that) and counts live blocks; it
 * is left out of sanitizer builds, whose allocator it would displace. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "molt/errno.h"

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void __libc_free(void*);

static long countdown; /* fail the countdown-th allocation from now; 0: never */
static long live;      /* blocks allocated and not yet freed */

static bool fail_now(void) {
  if (countdown == 0 || --countdown != 0) return false;
  errno = ENOMEM;
  return true;
}

void* malloc(size_t n) {
  void* p = fail_now() ? NULL : __libc_malloc(n);

  if (p) live++;
  return p;
}

void* calloc(size_t k, size_t n) {
  void* p = fail_now() ? NULL : __libc_calloc(k, n);

  if (p) live++;
  return p;
}

void* realloc(void* old, size_t n) {
  void* p;

  if (!old) return malloc(n);
  p = fail_now() ? NULL : __libc_realloc(old, n);
  if (!p && n == 0) live--;
  return p;
}

void free(void* p) {
  if (p) live--;
  __libc_free(p);
}

static const char TEXT[] =
    "{\"name\": \"demo\", \"version\": \"1\", \"modules\": [\n"
    " {\"name\": \"a\", \"vsn\": \"1\", \"file\": \"a.so\", \"sha256\": "
    "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"},\n"
    " {\"name\": \"b\", \"vsn\": \"1\", \"file\": \"b.so\", \"sha256\": "
    "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}],\n"
    " \"supervisor\": {\"name\": \"top\", \"children\": [\n"
    "  {\"id\": \"a\", \"module\": \"a\", \"args\": {\"k\": [1, {\"x\": \"y\"}]}},\n"
    "  {\"id\": \"b\", \"module\": \"b\", \"count\": 2},\n"
    "  {\"id\": \"s\", \"supervisor\": {\"children\": [{\"id\": \"a\", \"module\": \"a\"}]}}]},\n"
    " \"upgrade\": [{\"from\": \"0\", \"steps\": [{\"op\": \"update\", \"module\": \"a\", "
    "\"extra\": \"x\"},\n"
    "  {\"op\": \"soft\", \"module\": \"b\"}, {\"op\": \"remove\", \"module\": \"c\"}]},\n"
    "  {\"from\": \"0.1\", \"steps\": []}],\n"
    " \"downgrade\": [{\"to\": \"0\", \"steps\": [{\"op\": \"add\", \"module\": \"c\"}]}]}\n";

/* Runs op with the n-th allocation failing, for n = 1, 2, ... until op
 * succeeds; returns how many failures were injected. */
static long each_failure(int (*op)(void)) {
  long n, before;
  int rc;

  for (n = 1;; n++) {
    before = live;
    countdown = n;
    rc = op();
    countdown = 0;
    cr_assert(rc == 0 || rc == MOLT_ENOMEM, "allocation %ld failed gave %d", n, rc);
    cr_assert_eq(live, before, "allocation %ld failed: %ld block(s) leaked", n, live - before);
    if (rc == 0) return n - 1;
  }
}

static int parse_and_free(void) {
  molt_manifest_t* m = NULL;
  char err[256];
  int rc = molt__manifest_parse(TEXT, strlen(TEXT), true, &m, err, sizeof err);

  if (rc == MOLT_ENOMEM) cr_assert_str_eq(err, "out of memory");
  molt__manifest_free(m);
  /* cJSON_Parse returns NULL for both bad text and a failed allocation, so
   * a failure inside it reads as malformed JSON (see manifest.c). */
  if (rc == MOLT_EMANIFEST && strncmp(err, "malformed JSON", 14) == 0) return MOLT_ENOMEM;
  return rc;
}

static molt_manifest_t* parsed;

static int print_and_free(void) {
  char* text = NULL;
  int rc = molt__manifest_print(parsed, &text);

  free(text);
  return rc;
}

Test(manifest_oom, parse_unwinds_every_failed_allocation) {
  cr_assert_gt(each_failure(parse_and_free), 20);
}

Test(manifest_oom, print_unwinds_every_failed_allocation) {
  char err[256];

  cr_assert_eq(molt__manifest_parse(TEXT, strlen(TEXT), true, &parsed, err, sizeof err), 0);
  cr_assert_gt(each_failure(print_and_free), 20);
  molt__manifest_free(parsed);
}

#endif
