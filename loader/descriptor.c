/* descriptor.c: the checks a module's exported descriptor must pass before
 * molt calls into it. Not the loading of the file that holds it (version.c). */
#include "descriptor.h"

#include <string.h>

#include "errmsg.h"

const char* molt__shown(const char* s, char buf[MOLT_SHOWN_SIZE]) {
  size_t n = strnlen(s, MOLT_MODULE_VSN_MAX + 1);
  size_t keep = n > MOLT_MODULE_VSN_MAX ? MOLT_MODULE_VSN_MAX : n;
  for (size_t i = 0; i < keep; i++) buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  strcpy(buf + keep, keep < n ? "..." : "");
  return buf;
}

static int string_ok(const char* s, size_t max, int (*char_ok)(int)) {
  size_t n = strnlen(s, max + 1);
  if (n == 0 || n > max) return 0;
  for (size_t i = 0; i < n; i++)
    if (!char_ok((unsigned char)s[i])) return 0;
  return 1;
}

/* Names become file names, registry keys and JSON keys; keeping them to
 * [a-z0-9_] means none of those ever needs escaping. */
static int name_char(int c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static int vsn_char(int c) { return c > 0x20 && c < 0x7f; }

static int check_strings(const molt_module_t* d, const char* path, const char* expect_name,
                         char* err, size_t errlen) {
  char found[MOLT_SHOWN_SIZE];
  if (!d->name)
    return molt__errmsg_set(err, errlen, MOLT_EBADDESC,
                            "%s: name: expected 1 to %d characters of [a-z0-9_], found NULL",
                            path, MOLT_MODULE_NAME_MAX);
  if (!string_ok(d->name, MOLT_MODULE_NAME_MAX, name_char))
    return molt__errmsg_set(err, errlen, MOLT_EBADDESC,
                            "%s: name: expected 1 to %d characters of [a-z0-9_], found \"%s\"",
                            path, MOLT_MODULE_NAME_MAX, molt__shown(d->name, found));
  if (!d->vsn)
    return molt__errmsg_set(err, errlen, MOLT_EBADDESC,
                            "%s: vsn: expected 1 to %d printable characters, found NULL", path,
                            MOLT_MODULE_VSN_MAX);
  if (!string_ok(d->vsn, MOLT_MODULE_VSN_MAX, vsn_char))
    return molt__errmsg_set(err, errlen, MOLT_EBADDESC,
                            "%s: vsn: expected 1 to %d printable characters, found \"%s\"",
                            path, MOLT_MODULE_VSN_MAX, molt__shown(d->vsn, found));
  if (expect_name && strcmp(d->name, expect_name) != 0)
    return molt__errmsg_set(err, errlen, MOLT_ENAME, "%s: name: expected \"%s\", found \"%s\"",
                            path, expect_name, d->name);
  return 0;
}

static int check_callbacks(const molt_module_t* d, const char* path, char* err,
                           size_t errlen) {
  const char* missing = !d->init ? "init" : !d->handle ? "handle"
                        : !d->free_state ? "free_state" : NULL;
  if (missing)
    return molt__errmsg_set(err, errlen, MOLT_EBADDESC,
                            "%s: %s: expected a function, found NULL", path, missing);
  return 0;
}

int molt__descriptor_check(const molt_module_t* d, const char* path, const char* expect_name,
                           char* err, size_t errlen) {
  /* Magic first: until it matches, the rest of the bytes mean nothing. */
  if (d->magic != MOLT_MAGIC)
    return molt__errmsg_set(err, errlen, MOLT_EBADMAGIC,
                            "%s: magic: expected 0x%08x, found 0x%08x", path, MOLT_MAGIC,
                            d->magic);
  if (d->abi != MOLT_ABI_VERSION)
    return molt__errmsg_set(err, errlen, MOLT_EABI, "%s: abi: expected %u, found %u", path,
                            MOLT_ABI_VERSION, d->abi);
  /* A larger size is a newer module with fields we do not know: fine, they
   * are optional by construction and we never read past what we know. */
  if (d->size < MOLT_DESCRIPTOR_MIN_SIZE)
    return molt__errmsg_set(err, errlen, MOLT_EBADSIZE,
                            "%s: size: expected at least %zu (through free_state), found %u",
                            path, MOLT_DESCRIPTOR_MIN_SIZE, d->size);
  int rc = check_strings(d, path, expect_name, err, errlen);
  if (rc != 0) return rc;
  return check_callbacks(d, path, err, errlen);
}
