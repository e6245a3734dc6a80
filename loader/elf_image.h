/* elf_image.h: a module file's bytes seen as the dynamic linker will lay
 * them out: its section and program headers, its dynamic symbols, where an
 * address lands in the file. Only for bytes molt__elf_check has passed; not
 * a checker itself. Small accessors shared by descriptor_file.c and
 * elf_policy.c, hence static inline. */
#ifndef MOLT_LOADER_ELF_IMAGE_H
#define MOLT_LOADER_ELF_IMAGE_H

#include <elf.h>
#include <link.h> /* ElfW() and __ELF_NATIVE_CLASS: the host's own ELF flavour */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#if __ELF_NATIVE_CLASS == 64
#define ST_BIND ELF64_ST_BIND
#define R_SYM ELF64_R_SYM
#define R_TYPE ELF64_R_TYPE
#else
#define ST_BIND ELF32_ST_BIND
#define R_SYM ELF32_R_SYM
#define R_TYPE ELF32_R_TYPE
#endif

typedef ElfW(Ehdr) ehdr_t;
typedef ElfW(Phdr) phdr_t;
typedef ElfW(Shdr) shdr_t;
typedef ElfW(Sym) sym_t;
typedef ElfW(Dyn) dyn_t;
typedef ElfW(Addr) addr_t;

/* The file, with the tables molt__elf_check has vouched for: the program
 * and section header tables lie inside it. Everything else the headers
 * say is checked before it is read. Headers are copied out, never cast:
 * the bytes need not be aligned. */
typedef struct {
  const unsigned char* b;
  size_t len;
  ehdr_t eh;
  uint64_t nsections;
  const char* path;
} image_t;

static inline bool inside(const image_t* im, uint64_t off, uint64_t size) {
  return off <= im->len && size <= im->len - off;
}

static inline shdr_t section(const image_t* im, uint64_t i) {
  shdr_t sh;
  memcpy(&sh, im->b + im->eh.e_shoff + i * sizeof(sh), sizeof(sh));
  return sh;
}

static inline phdr_t segment(const image_t* im, unsigned i) {
  phdr_t ph;
  memcpy(&ph, im->b + im->eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
  return ph;
}

/* The image of bytes[0, len), which molt__elf_check passed. */
static inline image_t image_of(const void* bytes, size_t len, const char* path) {
  image_t im = {.b = bytes, .len = len, .path = path};
  memcpy(&im.eh, bytes, sizeof(im.eh));
  im.nsections = im.eh.e_shnum ? im.eh.e_shnum : section(&im, 0).sh_size;
  return im;
}

/* The entries of a section whose contents lie inside the file and whose
 * entries are entsize bytes; 0 for anything else, which is then skipped. */
static inline uint64_t entries(const image_t* im, const shdr_t* sh, size_t entsize) {
  if (sh->sh_entsize != entsize || !inside(im, sh->sh_offset, sh->sh_size)) return 0;
  return sh->sh_size / entsize;
}

/* Where the n bytes at vaddr are once loaded: *off in the file, and
 * *avail, how many bytes of the file the segment holding them has from
 * there (past those, up to its memory size, it is the zero-filled .bss).
 * false if no PT_LOAD holds all n. Both come from the one segment, so
 * off + avail never passes the end of the file (molt__elf_check saw every
 * segment's file range inside it). */
static inline bool locate(const image_t* im, addr_t vaddr, uint64_t n, uint64_t* off,
                          uint64_t* avail) {
  for (unsigned i = 0; i < im->eh.e_phnum; i++) {
    phdr_t ph = segment(im, i);
    if (ph.p_type != PT_LOAD || vaddr < ph.p_vaddr) continue;
    uint64_t at = vaddr - ph.p_vaddr;
    if (at > ph.p_memsz || n > ph.p_memsz - at) continue;
    *off = ph.p_offset + at;
    *avail = at >= ph.p_filesz ? 0 : ph.p_filesz - at;
    return true;
  }
  return false;
}

/* n bytes at vaddr as loaded, into out. */
static inline bool read_vaddr(const image_t* im, addr_t vaddr, void* out, uint64_t n) {
  uint64_t off, avail;
  if (!locate(im, vaddr, n, &off, &avail)) return false;
  memset(out, 0, n);
  if (avail) memcpy(out, im->b + off, avail < n ? avail : n);
  return true;
}

/* One symbol of a dynamic symbol table, its name NULL if the string table
 * does not hold a terminated one at st_name. */
typedef struct {
  sym_t s;
  const char* name;
} dynsym_t;

/* Calls each(ctx, sym) for every entry of every SHT_DYNSYM section whose
 * table and string table lie inside the file, until each returns true;
 * then returns true. */
static inline bool each_dynsym(const image_t* im, bool (*each)(void* ctx, const dynsym_t* sym),
                               void* ctx) {
  for (uint64_t i = 0; i < im->nsections; i++) {
    shdr_t sh = section(im, i);
    if (sh.sh_type != SHT_DYNSYM || sh.sh_link >= im->nsections) continue;
    shdr_t strtab = section(im, sh.sh_link);
    if (!inside(im, strtab.sh_offset, strtab.sh_size)) continue;
    const char* names = (const char*)im->b + strtab.sh_offset;
    uint64_t n = entries(im, &sh, sizeof(sym_t));
    for (uint64_t k = 0; k < n; k++) {
      dynsym_t d = {.name = NULL};
      memcpy(&d.s, im->b + sh.sh_offset + k * sizeof(d.s), sizeof(d.s));
      if (d.s.st_name < strtab.sh_size &&
          memchr(names + d.s.st_name, '\0', strtab.sh_size - d.s.st_name))
        d.name = names + d.s.st_name;
      if (each(ctx, &d)) return true;
    }
  }
  return false;
}

typedef struct {
  const char* want;
  sym_t* out;
} find_ctx_t;

static inline bool find_one(void* ctx, const dynsym_t* d) {
  find_ctx_t* f = ctx;
  unsigned bind = ST_BIND(d->s.st_info);
  if (d->s.st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK)) return false;
  if (!d->name || strcmp(d->name, f->want) != 0) return false;
  *f->out = d->s;
  return true;
}

/* The defined symbol `name` of the dynamic symbol table, as dlsym finds
 * it (global or weak). false if there is none. */
static inline bool find_symbol(const image_t* im, const char* name, sym_t* out) {
  find_ctx_t f = {.want = name, .out = out};
  return each_dynsym(im, find_one, &f);
}

#endif
