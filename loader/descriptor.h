/* descriptor.h: the checks a module's exported descriptor must pass before
 * molt calls into it. Not the loading of the file that holds it (version.h). */
#ifndef MOLT_LOADER_DESCRIPTOR_H
#define MOLT_LOADER_DESCRIPTOR_H

#include <stddef.h>

#include "molt/module.h"

/* The smallest .size a descriptor may declare: every mandatory field, from
 * magic through free_state. Fields after it are optional (MOLT_HAS_FIELD). */
#define MOLT_DESCRIPTOR_MIN_SIZE \
  (offsetof(molt_module_t, free_state) + sizeof(((molt_module_t*)0)->free_state))

/* Longest module name and version string a descriptor may carry. */
#define MOLT_MODULE_NAME_MAX 63
#define MOLT_MODULE_VSN_MAX 127

/* A string from a file not trusted yet (a descriptor's name or vsn, a
 * symbol's name) as a one-line message can show it, in buf: at most
 * MOLT_MODULE_VSN_MAX characters, then "...", anything but printable ASCII
 * as '?'. s need not end within that bound. Returns buf. */
#define MOLT_SHOWN_SIZE (MOLT_MODULE_VSN_MAX + sizeof "...")
const char* molt__shown(const char* s, char buf[MOLT_SHOWN_SIZE]);

/* Check desc, found in the file path, in this order, stopping at the first
 * mismatch: magic (MOLT_EBADMAGIC), abi (MOLT_EABI), size (MOLT_EBADSIZE),
 * name: 1 to MOLT_MODULE_NAME_MAX characters of [a-z0-9_] (MOLT_EBADDESC),
 * vsn: 1 to MOLT_MODULE_VSN_MAX printable characters, no spaces
 * (MOLT_EBADDESC), name equal to expect_name if that is non-NULL
 * (MOLT_ENAME), init, handle and free_state non-NULL (MOLT_EBADDESC).
 * Returns 0 or that code, and on failure writes "<path>: <field>: expected
 * ..., found ..." into err (if non-NULL). Strings in desc are read with a
 * bound, so an unterminated one is refused rather than overrun. */
int molt__descriptor_check(const molt_module_t* desc, const char* path,
                           const char* expect_name, char* err, size_t errlen);

#endif
