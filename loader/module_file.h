/* module_file.h: a module file on disk, read without trusting it: opening
 * never blocks, anything but a regular file of a sane size is refused, and
 * the ELF header is checked before the rest is read. Not the checks of the
 * whole image (elf_check.h) nor loading it (version.h). */
#ifndef MOLT_LOADER_MODULE_FILE_H
#define MOLT_LOADER_MODULE_FILE_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>

/* The largest module file molt reads: 256 MiB. Real modules are kilobytes
 * to a few megabytes (a statically linked dependency or debug info makes
 * tens); a file past this is a mistake (a disk image, a core dump, a
 * sparse file) that would otherwise be read whole into memory. */
#define MOLT_MODULE_FILE_MAX ((uint64_t)256 << 20)

/* How every module file is opened: O_NONBLOCK, so that opening a FIFO
 * returns at once instead of waiting for a writer (its type is then
 * refused); O_NOCTTY, so that a terminal named by mistake never becomes the
 * container's; O_CLOEXEC. On a regular file O_NONBLOCK changes nothing. */
#define MOLT_MODULE_FILE_OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/* Check what fd (opened with MOLT_MODULE_FILE_OPEN_FLAGS) is, before
 * anything reads it: a regular file of at most MOLT_MODULE_FILE_MAX bytes.
 * name is the file as messages show it. Returns 0 and sets *size (st_size), or
 * MOLT_EINVAL "<name>: expected a regular file, found a FIFO" (a
 * directory, a character device, ...), MOLT_EACCES for a file group or
 * others may write or another user owns (molt__trust_stat), MOLT_EMSGSIZE "<name>: size:
 * expected at most 256 MiB ..., found N bytes", or fstat's error. */
int molt__module_file_stat(int fd, const char* name, uint64_t* size, char* err,
                           size_t errlen);

/* Read the module file at path whole, once: open it with
 * MOLT_MODULE_FILE_OPEN_FLAGS, molt__module_file_stat it, check its ELF
 * header (molt__elf_check_header) from its first bytes, and only then read
 * the rest, to EOF, refusing it
 * if it grows past MOLT_MODULE_FILE_MAX meanwhile. On success *out
 * (malloc'd, the caller frees) holds *len bytes. On failure returns a
 * MOLT_E* code, writes a one-line reason naming path into err (if
 * non-NULL), and *out is untouched. The bytes are not checked beyond the
 * header: that is molt__elf_check's job, on what this returns. */
int molt__module_file_read(const char* path, unsigned char** out, size_t* len, char* err,
                           size_t errlen);

#endif
