/* manifest_fuzz.c: libFuzzer target for the release manifest parser
 * (molt__manifest_parse, runtime/release/manifest.c): any bytes as
 * manifest text, in source form (sha256 optional) and bundle form. A
 * refusal must be MOLT_EMANIFEST with a one-line reason; an accepted
 * bundle-form manifest must print (molt__manifest_print) to text that
 * parses back and prints the same, as manifest.h promises. Built by
 * tools/fuzz.sh (-DMOLT_FUZZ=ON). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "manifest.h"
#include "molt/errno.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static bool all_hashed(const molt_manifest_t* m) {
  for (size_t i = 0; i < m->nmodules; i++)
    if (!m->modules[i].has_sha256) return false;
  return true;
}

static void round_trip(const molt_manifest_t* m) {
  molt_manifest_t* back = NULL;
  char *first = NULL, *second = NULL, err[512] = "";

  if (!all_hashed(m)) return;
  if (molt__manifest_print(m, &first) != 0) abort();
  if (molt__manifest_parse(first, strlen(first), true, &back, err, sizeof err) != 0) abort();
  if (molt__manifest_print(back, &second) != 0) abort();
  if (strcmp(first, second) != 0) abort();
  molt__free(first);
  molt__free(second);
  molt__manifest_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  /* libFuzzer's buffer is exactly size bytes, unterminated: the length is
   * the parser's contract, and a read past it shows. */
  const char* text = (const char*)data;

  for (int require_sha256 = 0; require_sha256 < 2; require_sha256++) {
    molt_manifest_t* m = NULL;
    char err[512] = "";
    int rc = molt__manifest_parse(text, size, require_sha256, &m, err, sizeof err);

    if (rc == 0) {
      if (!m) abort();
      round_trip(m);
      molt__manifest_free(m);
    } else if (rc != MOLT_EMANIFEST || m || !err[0] || strchr(err, '\n')) {
      abort();
    }
  }
  return 0;
}
