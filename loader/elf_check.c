/* elf_check.c: verifies the in-memory image of a module file before it is
 * dlopen'd. Not a loader: it reads a buffer, never the file system. */
#include "elf_check.h"

#include <elf.h>
#include <link.h> /* ElfW() and __ELF_NATIVE_CLASS: the host's own ELF flavour */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "elf_policy.h"
#include "errmsg.h"
#include "molt/errno.h"

/* Why look at headers that dlopen reads anyway? Measured on this machine:
 * dlopen of a partly written .so kills the process with SIGBUS (it maps
 * pages the file does not have yet), a file missing only its tail loads
 * without complaint, a module for another architecture gets glibc's
 * misleading "No such file or directory", and a module linked with an
 * executable stack silently makes every thread's stack in the process
 * executable. All four show in the headers, so they are refused here, with a
 * message that says what is wrong, before dlopen ever sees the file. */

#if __ELF_NATIVE_CLASS == 64
#define HOST_CLASS ELFCLASS64
#else
#define HOST_CLASS ELFCLASS32
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_DATA ELFDATA2LSB
#else
#define HOST_DATA ELFDATA2MSB
#endif

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#elif defined(__i386__)
#define HOST_MACHINE EM_386
#elif defined(__arm__)
#define HOST_MACHINE EM_ARM
#elif defined(__riscv)
#define HOST_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define HOST_MACHINE EM_PPC64
#elif defined(__s390x__)
#define HOST_MACHINE EM_S390
#else
#error "molt: add this machine's EM_* value to loader/elf_check.c"
#endif

typedef ElfW(Ehdr) ehdr_t;
typedef ElfW(Phdr) phdr_t;
typedef ElfW(Shdr) shdr_t;

/* Names for the values a message shows, so that it reads "found AArch64
 * (183)" rather than a bare number. */
typedef struct {
  unsigned value;
  const char* name;
} named_t;

#define TABLE(t) (t), sizeof(t) / sizeof((t)[0])

static const named_t machines[] = {
    {EM_X86_64, "x86-64"},  {EM_AARCH64, "AArch64"},  {EM_386, "Intel 80386"},
    {EM_ARM, "ARM"},        {EM_RISCV, "RISC-V"},     {EM_PPC64, "PowerPC64"},
    {EM_PPC, "PowerPC"},    {EM_S390, "IBM S/390"},   {EM_MIPS, "MIPS"},
    {EM_SPARCV9, "SPARC v9"},
};
static const named_t classes[] = {
    {ELFCLASSNONE, "ELFCLASSNONE"}, {ELFCLASS32, "ELFCLASS32"}, {ELFCLASS64, "ELFCLASS64"}};
static const named_t encodings[] = {
    {ELFDATANONE, "ELFDATANONE"}, {ELFDATA2LSB, "ELFDATA2LSB"}, {ELFDATA2MSB, "ELFDATA2MSB"}};
static const named_t versions[] = {{EV_NONE, "EV_NONE"}, {EV_CURRENT, "EV_CURRENT"}};
static const named_t types[] = {{ET_NONE, "ET_NONE"}, {ET_REL, "ET_REL"}, {ET_EXEC, "ET_EXEC"},
                                {ET_DYN, "ET_DYN"},   {ET_CORE, "ET_CORE"}};
static const named_t segments[] = {
    {PT_NULL, "PT_NULL"},           {PT_LOAD, "PT_LOAD"},
    {PT_DYNAMIC, "PT_DYNAMIC"},     {PT_INTERP, "PT_INTERP"},
    {PT_NOTE, "PT_NOTE"},           {PT_PHDR, "PT_PHDR"},
    {PT_TLS, "PT_TLS"},             {PT_GNU_EH_FRAME, "PT_GNU_EH_FRAME"},
    {PT_GNU_STACK, "PT_GNU_STACK"}, {PT_GNU_RELRO, "PT_GNU_RELRO"},
    {PT_GNU_PROPERTY, "PT_GNU_PROPERTY"},
};

static const char* name_of(const named_t* t, size_t n, unsigned value) {
  for (size_t i = 0; i < n; i++)
    if (t[i].value == value) return t[i].name;
  return "unknown";
}

static int mismatch(char* err, size_t errlen, int code, const char* path,
                    const char* field, const named_t* t, size_t n, unsigned want,
                    unsigned got) {
  return molt__errmsg_set(err, errlen, code, "%s: %s: expected %s (%u), found %s (%u)",
                          path, field, name_of(t, n, want), want, name_of(t, n, got), got);
}

/* Where a table of count entries of size bytes at off ends, saturated: the
 * numbers come from the file, and a hostile header must not wrap the sum
 * into something that looks inside. */
static uint64_t span_end(uint64_t off, uint64_t count, uint64_t size) {
  uint64_t bytes, end;
  if (__builtin_mul_overflow(count, size, &bytes) || __builtin_add_overflow(off, bytes, &end))
    return UINT64_MAX;
  return end;
}

static int truncated(char* err, size_t errlen, const char* path, const char* what,
                     uint64_t end, uint64_t len) {
  return molt__errmsg_set(err, errlen, MOLT_EELF,
                          "%s: truncated: %s ends at byte %llu, file has %llu bytes", path,
                          what, (unsigned long long)end, (unsigned long long)len);
}

static int check_ident(const unsigned char* b, size_t len, const char* path, char* err,
                       size_t errlen) {
  if (len < SELFMAG)
    return molt__errmsg_set(err, errlen, MOLT_ENOTELF,
                            "%s: EI_MAG: expected 7f 45 4c 46 (\\x7fELF), found a file of "
                            "%zu bytes", path, len);
  if (memcmp(b, ELFMAG, SELFMAG) != 0)
    return molt__errmsg_set(err, errlen, MOLT_ENOTELF,
                            "%s: EI_MAG: expected 7f 45 4c 46 (\\x7fELF), found %02x %02x "
                            "%02x %02x: not an ELF file", path, b[0], b[1], b[2], b[3]);
  if (len < EI_NIDENT) return truncated(err, errlen, path, "e_ident", EI_NIDENT, len);
  if (b[EI_CLASS] != HOST_CLASS)
    return mismatch(err, errlen, MOLT_ENOTELF, path, "EI_CLASS", TABLE(classes), HOST_CLASS,
                    b[EI_CLASS]);
  if (b[EI_DATA] != HOST_DATA)
    return mismatch(err, errlen, MOLT_ENOTELF, path, "EI_DATA", TABLE(encodings), HOST_DATA,
                    b[EI_DATA]);
  if (b[EI_VERSION] != EV_CURRENT)
    return mismatch(err, errlen, MOLT_ENOTELF, path, "EI_VERSION", TABLE(versions),
                    EV_CURRENT, b[EI_VERSION]);
  return 0;
}

/* The section header table is the last thing a linker writes, at the end of
 * the file, so checking that it lies inside the file is what catches a copy
 * that lost only its tail (which dlopen would load, half-initialised data and
 * all). e_shnum == 0 with a table present means the count is in the first
 * entry's sh_size (extended numbering, for more than 0xff00 sections). */
static int check_sections(const unsigned char* b, size_t len, const ehdr_t* eh,
                          const char* path, char* err, size_t errlen) {
  if (eh->e_shoff == 0)
    return molt__errmsg_set(err, errlen, MOLT_EELF,
                            "%s: e_shoff: expected a section header table, found none (0); "
                            "without one a truncated file cannot be told apart", path);
  if (eh->e_shentsize != sizeof(shdr_t))
    return molt__errmsg_set(err, errlen, MOLT_EELF, "%s: e_shentsize: expected %zu, found %u",
                            path, sizeof(shdr_t), (unsigned)eh->e_shentsize);
  uint64_t count = eh->e_shnum;
  if (count == 0) {
    uint64_t end = span_end(eh->e_shoff, 1, sizeof(shdr_t));
    if (end > len) return truncated(err, errlen, path, "section header 0", end, len);
    shdr_t first;
    memcpy(&first, b + eh->e_shoff, sizeof first);
    count = first.sh_size;
  }
  uint64_t end = span_end(eh->e_shoff, count, sizeof(shdr_t));
  if (end > len) return truncated(err, errlen, path, "section header table", end, len);
  return 0;
}

/* Every segment's bytes must be in the file: mapping a range past its end is
 * the SIGBUS. Also finds PT_DYNAMIC and PT_GNU_STACK. */
static int check_segments(const unsigned char* b, size_t len, const ehdr_t* eh,
                          const char* path, char* err, size_t errlen) {
  bool dynamic = false, stack = false;
  for (unsigned i = 0; i < eh->e_phnum; i++) {
    phdr_t ph;
    memcpy(&ph, b + eh->e_phoff + (uint64_t)i * sizeof ph, sizeof ph);
    uint64_t end = span_end(ph.p_offset, 1, ph.p_filesz);
    if (end > len) {
      char what[64];
      snprintf(what, sizeof what, "program header %u (%s)", i,
               name_of(TABLE(segments), ph.p_type));
      return truncated(err, errlen, path, what, end, len);
    }
    if (ph.p_type == PT_DYNAMIC) dynamic = true;
    if (ph.p_type == PT_GNU_STACK) {
      stack = true;
      if (ph.p_flags & PF_X)
        return molt__errmsg_set(err, errlen, MOLT_EEXECSTACK,
                                "%s: PT_GNU_STACK: expected flags without PF_X, found %c%c%c "
                                "(0x%x); loading it would make the process's stack executable",
                                path, ph.p_flags & PF_R ? 'R' : '-',
                                ph.p_flags & PF_W ? 'W' : '-', 'E', (unsigned)ph.p_flags);
    }
  }
  /* No PT_GNU_STACK at all means "executable stack" to glibc on most
   * machines (x86-64 included), so its absence is refused as well. */
  if (!stack)
    return molt__errmsg_set(err, errlen, MOLT_EEXECSTACK,
                            "%s: PT_GNU_STACK: expected one without PF_X, found none (glibc "
                            "would then make the process's stack executable)", path);
  if (!dynamic)
    return molt__errmsg_set(err, errlen, MOLT_EELF,
                            "%s: PT_DYNAMIC: expected one, found none", path);
  return 0;
}

/* The ELF header alone, against the file's size: what can be refused from
 * the first bytes, before anything reads the rest. */
static int check_header(const unsigned char* b, size_t len, uint64_t file_size,
                        const char* path, ehdr_t* eh, char* err, size_t errlen) {
  int rc = check_ident(b, len, path, err, errlen);
  if (rc != 0) return rc;
  if (len < sizeof(ehdr_t))
    return truncated(err, errlen, path, "ELF header", sizeof(ehdr_t), file_size);

  /* Copied out rather than cast: the buffer need not be aligned. */
  memcpy(eh, b, sizeof *eh);
  if (eh->e_version != EV_CURRENT)
    return mismatch(err, errlen, MOLT_ENOTELF, path, "e_version", TABLE(versions), EV_CURRENT,
                    eh->e_version);
  if (eh->e_machine != HOST_MACHINE)
    return mismatch(err, errlen, MOLT_ENOTELF, path, "e_machine", TABLE(machines),
                    HOST_MACHINE, eh->e_machine);
  if (eh->e_type != ET_DYN)
    return mismatch(err, errlen, MOLT_ENOTELF, path, "e_type", TABLE(types), ET_DYN,
                    eh->e_type);

  if (eh->e_phentsize != sizeof(phdr_t))
    return molt__errmsg_set(err, errlen, MOLT_EELF, "%s: e_phentsize: expected %zu, found %u",
                            path, sizeof(phdr_t), (unsigned)eh->e_phentsize);
  if (eh->e_phnum == 0)
    return molt__errmsg_set(err, errlen, MOLT_EELF,
                            "%s: e_phnum: expected at least 1, found 0", path);
  uint64_t end = span_end(eh->e_phoff, eh->e_phnum, sizeof(phdr_t));
  if (end > file_size)
    return truncated(err, errlen, path, "program header table", end, file_size);
  return 0;
}

int molt__elf_check_header(const void* head, size_t len, uint64_t file_size, const char* path,
                           char* err, size_t errlen) {
  ehdr_t eh;
  return check_header(head, len, file_size, path, &eh, err, errlen);
}

int molt__elf_check(const void* bytes, size_t len, const char* path, char* err,
                    size_t errlen) {
  const unsigned char* b = bytes;
  ehdr_t eh;
  int rc = check_header(b, len, len, path, &eh, err, errlen);
  if (rc != 0) return rc;
  rc = check_sections(b, len, &eh, path, err, errlen);
  if (rc != 0) return rc;
  rc = check_segments(b, len, &eh, path, err, errlen);
  if (rc != 0) return rc;
  return molt__elf_policy_check(b, len, path, err, errlen);
}
