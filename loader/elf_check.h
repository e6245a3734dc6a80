/* elf_check.h: verifies the in-memory image of a module file before it is
 * dlopen'd. Not a loader: it reads a buffer, never the file system. */
#ifndef MOLT_LOADER_ELF_CHECK_H
#define MOLT_LOADER_ELF_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* Check that bytes[0, len) is a complete ELF shared object for this machine
 * (the host's class, byte order and e_machine, ET_DYN), that every program
 * header's file range and the section header table lie inside it, that it
 * has a PT_DYNAMIC and that its PT_GNU_STACK does not ask for an executable
 * stack. path only names the file in the message. Then the module policy
 * (molt__elf_policy_check, elf_policy.h): what a module must not do.
 *
 * Returns 0, MOLT_EFORBIDDEN (the policy), MOLT_ENOTELF (not ELF, or not for this machine: class, byte
 * order, ELF version, machine or file type), MOLT_EELF (malformed or
 * truncated) or MOLT_EEXECSTACK. On failure writes "<path>: <field>:
 * expected ..., found ..." into err (if non-NULL). Never reads outside the
 * buffer, whatever the headers claim, and needs no particular alignment. */
int molt__elf_check(const void* bytes, size_t len, const char* path, char* err,
                    size_t errlen);

/* The part of molt__elf_check that needs only the ELF header: head holds
 * the file's first len bytes (at least sizeof(ElfW(Ehdr)) unless the file
 * is shorter) and file_size is the whole file's. Checks the identification
 * (class, byte order, ELF version), e_version, e_machine, e_type,
 * e_phentsize, e_phnum and that the program header table ends inside
 * file_size. For refusing a file from its first bytes before reading the
 * rest; passing says nothing about the rest. Same codes and messages. */
int molt__elf_check_header(const void* head, size_t len, uint64_t file_size, const char* path,
                           char* err, size_t errlen);

#endif
