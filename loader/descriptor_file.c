/* descriptor_file.c: a module's descriptor read from its file's bytes, as
 * the dynamic linker would lay it out, with nothing mapped or run. Not the
 * loader (version.c), and not a general ELF reader: it finds one symbol
 * and resolves the few pointers the descriptor checks look at.
 *
 * Why not dlopen it in a child process? That runs the module's
 * constructors, which is what the bundler and unpack must not do, and a
 * fork of the multi-threaded container that then calls the dynamic linker
 * can hang on a lock another thread held at the fork. The descriptor is
 * constant data: its integers are in the file as they will be in memory,
 * and its pointers are either relocated (an R_*_RELATIVE entry whose addend
 * is the target's address, or a symbol's) or written in place (REL and
 * RELR keep the address in the word itself). That is all this needs. */
#include "descriptor_file.h"

#include <elf.h>
#include <link.h> /* ElfW() and __ELF_NATIVE_CLASS: the host's own ELF flavour */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "elf_check.h"
#include "elf_image.h"
#include "errmsg.h"
#include "fs.h"
#include "molt/errno.h"

#if defined(__x86_64__)
#define R_RELATIVE R_X86_64_RELATIVE
#elif defined(__aarch64__)
#define R_RELATIVE R_AARCH64_RELATIVE
#elif defined(__i386__)
#define R_RELATIVE R_386_RELATIVE
#elif defined(__arm__)
#define R_RELATIVE R_ARM_RELATIVE
#elif defined(__riscv)
#define R_RELATIVE R_RISCV_RELATIVE
#elif defined(__powerpc64__)
#define R_RELATIVE R_PPC64_RELATIVE
#elif defined(__s390x__)
#define R_RELATIVE R_390_RELATIVE
#else
#error "molt: add this machine's R_*_RELATIVE to loader/descriptor_file.c"
#endif

/* A module is a few hundred kilobytes; far more is not a module. */
#define FILE_MAX ((size_t)1 << 30)

typedef ElfW(Rela) rela_t;
typedef ElfW(Rel) rel_t;

/* What a pointer field of the descriptor holds once loaded. */
typedef enum {
  PTR_NULL,
  PTR_ADDR,  /* an address in this object: *addr */
  PTR_BOUND, /* a symbol of another object, bound at load: not NULL, not readable here */
} ptr_kind_t;

/* The string at vaddr into buf (cap bytes, always terminated): at most
 * cap - 1 characters, so one longer than the descriptor checks allow
 * still shows as too long. false if vaddr is in no segment. */
static bool read_string(const image_t* im, addr_t vaddr, char* buf, size_t cap) {
  uint64_t off, avail;
  if (!locate(im, vaddr, 1, &off, &avail)) return false;
  size_t n = 0;
  while (n + 1 < cap && n < avail && im->b[off + n]) {
    buf[n] = (char)im->b[off + n];
    n++;
  }
  buf[n] = '\0';
  return true;
}

/* Symbol sym of the table section `link` names: its address if defined. */
static ptr_kind_t symbol_value(const image_t* im, uint64_t link, uint64_t sym, uint64_t addend, addr_t* addr) {
  if (link >= im->nsections) return PTR_BOUND;
  shdr_t sh = section(im, link);
  if (sym >= entries(im, &sh, sizeof(sym_t))) return PTR_BOUND;
  sym_t s;
  memcpy(&s, im->b + sh.sh_offset + sym * sizeof(s), sizeof(s));
  if (s.st_shndx == SHN_UNDEF) return PTR_BOUND;
  *addr = s.st_value + addend;
  return PTR_ADDR;
}

/* What the pointer-sized word at vaddr holds once relocated. inplace is
 * the word as the file has it. */
static ptr_kind_t pointer_at(const image_t* im, addr_t vaddr, addr_t inplace, addr_t* addr) {
  for (uint64_t i = 0; i < im->nsections; i++) {
    shdr_t sh = section(im, i);
    bool rela = sh.sh_type == SHT_RELA;
    if (!rela && sh.sh_type != SHT_REL) continue;
    uint64_t n = entries(im, &sh, rela ? sizeof(rela_t) : sizeof(rel_t));
    for (uint64_t k = 0; k < n; k++) {
      rela_t r = {0};
      memcpy(&r, im->b + sh.sh_offset + k * (rela ? sizeof(rela_t) : sizeof(rel_t)),
             rela ? sizeof(rela_t) : sizeof(rel_t));
      if (r.r_offset != vaddr) continue;
      addr_t addend = rela ? (addr_t)r.r_addend : inplace;
      uint64_t sym = R_SYM(r.r_info);
      if (R_TYPE(r.r_info) == R_RELATIVE) {
        *addr = addend;
        return addend ? PTR_ADDR : PTR_NULL;
      }
      return sym ? symbol_value(im, sh.sh_link, sym, addend, addr) : PTR_BOUND;
    }
  }
  /* No entry: the word is final as it is (or RELR adds only the load
   * base to it, which keeps 0 meaning NULL). */
  *addr = inplace;
  return inplace ? PTR_ADDR : PTR_NULL;
}

/* A stand-in for a callback the file holds: the descriptor checks only
 * ask whether init, handle and free_state are set, and nothing here ever
 * calls one. */
static int present_init(const molt_args_t* args, void** state) { return MOLT_EINVAL; }
static int present_handle(void* state, const molt_msg_t* msg) { return MOLT_EINVAL; }
static void present_free(void* state) {}

static addr_t word(const unsigned char* raw, size_t offset) {
  addr_t w;
  memcpy(&w, raw + offset, sizeof(w));
  return w;
}

static ptr_kind_t field(const image_t* im, addr_t desc, const unsigned char* raw, size_t offset, addr_t* addr) {
  return pointer_at(im, desc + offset, word(raw, offset), addr);
}

/* name or vsn, read into buf; NULL if the field is NULL. */
static int string_field(const image_t* im, addr_t desc, const unsigned char* raw, size_t offset, const char* what,
                        char* buf, size_t cap, const char** out, char* err, size_t errlen) {
  addr_t at = 0;
  ptr_kind_t k = field(im, desc, raw, offset, &at);
  *out = NULL;
  if (k == PTR_NULL) return 0;
  if (k == PTR_BOUND)
    return molt__errmsg_set(err, errlen, MOLT_EBADDESC,
                            "%s: %s: expected a string in the module, found one bound at load from another object",
                            im->path, what);
  if (!read_string(im, at, buf, cap))
    return molt__errmsg_set(err, errlen, MOLT_EBADDESC,
                            "%s: %s: expected a string in the module, found address 0x%llx, outside its segments",
                            im->path, what, (unsigned long long)at);
  *out = buf;
  return 0;
}

static bool callback_set(const image_t* im, addr_t desc, const unsigned char* raw, size_t offset) {
  addr_t at;
  return field(im, desc, raw, offset, &at) != PTR_NULL;
}

int molt__descriptor_read_bytes(const void* bytes, size_t len, const char* path, molt_descriptor_id_t* out,
                                char* err, size_t errlen) {
  int rc = molt__elf_check(bytes, len, path, err, errlen);
  if (rc) return rc;
  image_t im = image_of(bytes, len, path);

  sym_t s;
  unsigned char raw[MOLT_DESCRIPTOR_MIN_SIZE];
  if (!find_symbol(&im, MOLT_DESCRIPTOR_SYMBOL, &s))
    return molt__errmsg_set(err, errlen, MOLT_ENODESC, "%s: %s: expected an exported module descriptor, found none",
                            path, MOLT_DESCRIPTOR_SYMBOL);
  /* Everything the checks read lies within the mandatory fields; a
   * descriptor too short for them is still read that far, as the loader
   * would, and then refused for its size. */
  if (!read_vaddr(&im, s.st_value, raw, sizeof(raw)))
    return molt__errmsg_set(err, errlen, MOLT_EBADDESC,
                            "%s: %s: expected %zu bytes of descriptor in a loaded segment, found address 0x%llx",
                            path, MOLT_DESCRIPTOR_SYMBOL, sizeof(raw), (unsigned long long)s.st_value);

  char name[MOLT_MODULE_NAME_MAX + 2], vsn[MOLT_MODULE_VSN_MAX + 2];
  molt_module_t d = {0};
  memcpy(&d.magic, raw + offsetof(molt_module_t, magic), sizeof(d.magic));
  memcpy(&d.abi, raw + offsetof(molt_module_t, abi), sizeof(d.abi));
  memcpy(&d.size, raw + offsetof(molt_module_t, size), sizeof(d.size));
  memcpy(&d.state_vsn, raw + offsetof(molt_module_t, state_vsn), sizeof(d.state_vsn));
  /* Magic, abi and size first, as the loader orders its checks: until
   * they match, the pointers mean nothing and are not followed. */
  if (d.magic == MOLT_MAGIC && d.abi == MOLT_ABI_VERSION && d.size >= MOLT_DESCRIPTOR_MIN_SIZE) {
    if ((rc = string_field(&im, s.st_value, raw, offsetof(molt_module_t, name), "name", name, sizeof(name), &d.name,
                           err, errlen)) ||
        (rc = string_field(&im, s.st_value, raw, offsetof(molt_module_t, vsn), "vsn", vsn, sizeof(vsn), &d.vsn, err,
                           errlen)))
      return rc;
    if (callback_set(&im, s.st_value, raw, offsetof(molt_module_t, init))) d.init = present_init;
    if (callback_set(&im, s.st_value, raw, offsetof(molt_module_t, handle))) d.handle = present_handle;
    if (callback_set(&im, s.st_value, raw, offsetof(molt_module_t, free_state))) d.free_state = present_free;
  }
  if ((rc = molt__descriptor_check(&d, path, NULL, err, errlen))) return rc;
  memcpy(out->name, d.name, strlen(d.name) + 1);
  memcpy(out->vsn, d.vsn, strlen(d.vsn) + 1);
  out->state_vsn = d.state_vsn;
  return 0;
}

int molt__descriptor_read_file(const char* path, molt_descriptor_id_t* out, char* err, size_t errlen) {
  char* bytes = NULL;
  size_t len = 0;
  int rc = molt__fs_read(path, FILE_MAX, &bytes, &len);
  if (rc == MOLT_EINVAL) return molt__errmsg_set(err, errlen, rc, "%s: expected a regular file", path);
  if (rc == MOLT_EMSGSIZE) return molt__errmsg_set(err, errlen, rc, "%s: larger than 1 GiB: not a module", path);
  if (rc) return molt__errmsg_set(err, errlen, rc, "%s: %s", path, molt__errmsg_strerror(rc));
  rc = molt__descriptor_read_bytes(bytes, len, path, out, err, errlen);
  free(bytes);
  return rc;
}
