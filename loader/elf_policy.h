/* elf_policy.h: what a module must not do, refused from its file's bytes
 * before it is loaded: initial-exec TLS, STB_GNU_UNIQUE symbols, imports of
 * the calls molt/module.h lists, a descriptor symbol smaller than its own
 * .size. Not the structural checks (elf_check.h), which must pass first. */
#ifndef MOLT_LOADER_ELF_POLICY_H
#define MOLT_LOADER_ELF_POLICY_H

#include <stddef.h>

/* The policy on bytes[0, len), which molt__elf_check's structural checks
 * passed (molt__elf_check calls this last). Refuses, with MOLT_EFORBIDDEN
 * and one line naming path and the flag or symbol:
 *   DT_FLAGS with DF_STATIC_TLS ("uses initial-exec TLS (DF_STATIC_TLS)"),
 *   a dynamic symbol bound STB_GNU_UNIQUE ("defines STB_GNU_UNIQUE symbol
 *   <name>"), an undefined dynamic symbol of the list in molt/module.h
 *   ("imports <name>: <why>"), and an exported molt_module whose magic and
 *   abi match but whose st_size is below its .size. MOLT_EELF for a
 *   dynamic symbol table the dynamic section names but no section header
 *   describes. Never reads outside the buffer. */
int molt__elf_policy_check(const void* bytes, size_t len, const char* path, char* err,
                           size_t errlen);

#endif
