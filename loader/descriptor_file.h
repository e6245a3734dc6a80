/* descriptor_file.h: what a module file's descriptor declares (name, vsn,
 * state_vsn), read from the file's bytes with the loader's checks and
 * without mapping, loading or running anything of it. For whoever must
 * know what a file is before anything of it may run: the bundler, and
 * unpack, which checks a bundle's manifest against its files. Not the
 * loader (version.h), which is what finally dlopens it. */
#ifndef MOLT_LOADER_DESCRIPTOR_FILE_H
#define MOLT_LOADER_DESCRIPTOR_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "descriptor.h"

typedef struct molt_descriptor_id {
  char name[MOLT_MODULE_NAME_MAX + 1];
  char vsn[MOLT_MODULE_VSN_MAX + 1];
  uint32_t state_vsn;
} molt_descriptor_id_t;

/* The descriptor of the module file at path, as dlopen and dlsym would
 * find it: the file is read whole and checked as the loader checks it
 * (molt__elf_check), the exported descriptor symbol is looked up in its
 * dynamic symbol table, the descriptor's bytes are read from the segment
 * that holds them and its pointers resolved through the file's
 * relocations, and the result is checked as the loader checks a loaded
 * descriptor (molt__descriptor_check, any name). What this cannot see is
 * what only dlopen can (an undefined symbol, a constructor that fails):
 * loading still checks those.
 *
 * Returns 0 and fills *out, or the loader's codes with its messages
 * (MOLT_ENOTELF, MOLT_EELF, MOLT_EEXECSTACK, MOLT_ENODESC, MOLT_EBADMAGIC,
 * MOLT_EABI, MOLT_EBADSIZE, MOLT_EBADDESC), MOLT_EBADDESC also for a
 * descriptor whose name or vsn the file does not hold (set at load from
 * another object, or pointing outside its segments), -errno or
 * MOLT_ENOMEM reading the file. Any thread; reads only path. */
int molt__descriptor_read_file(const char* path, molt_descriptor_id_t* out, char* err, size_t errlen);

/* The same on the file's bytes already in memory; path only names it in
 * messages. Never reads outside bytes[0, len), whatever the file claims. */
int molt__descriptor_read_bytes(const void* bytes, size_t len, const char* path, molt_descriptor_id_t* out,
                                char* err, size_t errlen);

#endif
