/* manifest_rules.c: what a release name, module name, child id, version
 * and module path may look like, and how versions order. Lexical only: no
 * JSON, no filesystem. */
#include <string.h>

#include "manifest.h"

/* Names end up in directory names, registry keys and one-line messages,
 * so they are short and plain. Child ids exclude '.' because count > 1
 * expands an id to "<id>.0", "<id>.1", ..., which must not collide with a
 * sibling's id. */
#define NAME_MAX_LEN 63
#define FILE_MAX_LEN 255

static bool word_ok(const char* s, const char* punct, bool upper) {
  size_t n = 0;

  for (; *s; s++, n++) {
    char c = *s;
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (upper && c >= 'A' && c <= 'Z') ||
        strchr(punct, c))
      continue;
    return false;
  }
  return n >= 1 && n <= NAME_MAX_LEN;
}

bool molt__manifest_release_name_ok(const char* s) { return word_ok(s, "_-", false); }
bool molt__manifest_module_name_ok(const char* s) { return word_ok(s, "_", false); }
bool molt__manifest_id_ok(const char* s) { return word_ok(s, "_-", true); }

/* A version names a directory (<name>-<vsn>) and appears in messages. */
bool molt__manifest_version_ok(const char* s) {
  size_t n = 0;

  for (; *s; s++, n++)
    if (*s == '/' || (unsigned char)*s <= ' ' || *s == 0x7f) return false;
  return n >= 1 && n <= NAME_MAX_LEN;
}

/* Lexical rules suffice to keep a relative path inside its directory when
 * it has no "..", and refusing "." and empty components as well gives each
 * file exactly one spelling, so two modules cannot name one file two ways.
 * Symlinks are the verifier's business (manifest_files.c). */
const char* molt__manifest_file_problem(const char* f) {
  const char* c;
  size_t n;

  if (!*f) return "is empty";
  if (strlen(f) > FILE_MAX_LEN) return "is longer than 255 bytes";
  if (f[0] == '/') return "is absolute";
  for (c = f; *c; c++) {
    if (*c == '\\') return "contains a backslash";
    if ((unsigned char)*c < ' ' || *c == 0x7f) return "contains a control character";
  }
  for (c = f;; c += n + 1) {
    n = strcspn(c, "/");
    if (n == 0) return "has an empty component";
    if (n == 2 && c[0] == '.' && c[1] == '.') return "has a \"..\" component";
    if (n == 1 && c[0] == '.') return "has a \".\" component";
    if (!c[n]) return NULL;
  }
}

static bool all_digits(const char* s, size_t n) {
  size_t i;

  for (i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return n > 0;
}

static int sign(int c) { return (c > 0) - (c < 0); }

/* One part against another. Digits compare by value without converting,
 * so a part longer than any integer type still orders correctly. */
static int part_cmp(const char* a, size_t na, const char* b, size_t nb) {
  int c;

  if (all_digits(a, na) && all_digits(b, nb)) {
    for (; na > 1 && *a == '0'; a++) na--;
    for (; nb > 1 && *b == '0'; b++) nb--;
    if (na != nb) return na < nb ? -1 : 1;
    return sign(memcmp(a, b, na));
  }
  c = memcmp(a, b, na < nb ? na : nb);
  return c ? sign(c) : (na > nb) - (na < nb);
}

int molt__manifest_version_cmp(const char* a, const char* b) {
  const char *pa = a, *pb = b;
  size_t na, nb;
  int c;

  for (;;) {
    na = strcspn(pa, ".");
    nb = strcspn(pb, ".");
    if ((c = part_cmp(pa, na, pb, nb))) return c;
    if (!pa[na] || !pb[nb]) break;
    pa += na + 1;
    pb += nb + 1;
  }
  /* A version that goes on is the later one: "1.0" < "1.0.0". */
  if (pa[na] || pb[nb]) return pa[na] ? 1 : -1;
  return sign(strcmp(a, b));
}
