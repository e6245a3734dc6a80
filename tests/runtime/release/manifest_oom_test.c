/* manifest_oom_test.c: every allocation the manifest code makes, cJSON's
 * included, is made to fail in turn through molt's allocator; each run must
 * end in MOLT_ENOMEM (or success) with nothing leaked, as the allocator's
 * leak count sees it. Runs in every build, sanitizers included. */
#include <criterion/criterion.h>
#include <string.h>

#include "alloc.h"
#include "manifest.h"
#include "molt/errno.h"

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

/* Runs op with the n-th allocation failing, for n = 1, 2, ... until a run
 * makes fewer than n allocations (the failure never happened); returns how
 * many failures were injected. */
static long each_failure(int (*op)(void)) {
  unsigned long left;
  long n, leaked;
  int rc;

  for (n = 1;; n++) {
    molt__alloc_count_start();
    molt__alloc_fail_at((unsigned long)n, 0);
    rc = op();
    left = molt__alloc_fail_at(0, 0);
    leaked = molt__alloc_count_stop();
    cr_assert(rc == 0 || rc == MOLT_ENOMEM, "allocation %ld failed gave %d", n, rc);
    cr_assert_eq(leaked, 0, "allocation %ld failed: %ld block(s) leaked", n, leaked);
    if (left != 0) {
      cr_assert_eq(rc, 0, "no allocation failed, yet %d", rc);
      return n - 1;
    }
  }
}

static int parse_and_free(void) {
  molt_manifest_t* m = NULL;
  char err[256];
  int rc = molt__manifest_parse(TEXT, strlen(TEXT), true, &m, err, sizeof err);

  if (rc == MOLT_ENOMEM) cr_assert_str_eq(err, "out of memory");
  if (rc) cr_assert_null(m);
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

  if (rc) cr_assert_null(text);
  molt__free(text);
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
