/* elf_policy.c: what a module must not do, refused from its file's bytes
 * before it is loaded (the list and the reasons are molt/module.h's). Not
 * the structural checks (elf_check.c), which vouch for the headers read
 * here. */
#include "elf_policy.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "descriptor.h"
#include "elf_image.h"
#include "errmsg.h"
#include "molt/errno.h"

/* Why refuse from the file rather than catch it at run time? Each of
 * these works perfectly on the first load: the initial-exec module
 * loads until the process's static TLS surplus runs out some reloads
 * later, the unique symbol silently makes dlclose a no-op, and the thread
 * or signal handler crashes the container only after a purge unmaps its
 * code. By then nothing names the module. The file says all of it.
 *
 * The symbols are read from the section headers' SHT_DYNSYM, which the
 * dynamic section's DT_SYMTAB must point at: a table the dynamic linker
 * reads but no section describes is refused as malformed rather than
 * left unread. */

static const struct {
  const char* name;
  const char* why;
} forbidden[] = {
#define XX(sym, why) {#sym, why},
    MOLT_FORBIDDEN_IMPORTS(XX)
#undef XX
};

typedef struct {
  const image_t* im;
  int rc;
  char* err;
  size_t errlen;
} walk_t;

/* "pthread_create@GLIBC_2.34" and "pthread_create@@GLIBC_2.34" are
 * pthread_create: .dynsym names carry no version (that is .gnu.version's),
 * but a hand-made table might. */
static bool same_base(const char* name, const char* base) {
  size_t n = strlen(base);
  return strncmp(name, base, n) == 0 && (name[n] == '\0' || name[n] == '@');
}

static const char* forbidden_why(const char* name) {
  for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++)
    if (same_base(name, forbidden[i].name)) return forbidden[i].why;
  return NULL;
}

static bool check_symbol(void* ctx, const dynsym_t* d) {
  walk_t* w = ctx;
  char shown[MOLT_SHOWN_SIZE];
  if (ST_BIND(d->s.st_info) == STB_GNU_UNIQUE) {
    w->rc = molt__errmsg_set(w->err, w->errlen, MOLT_EFORBIDDEN,
                             "%s: defines STB_GNU_UNIQUE symbol %s: the module could never be "
                             "unmapped; build with -fno-gnu-unique",
                             w->im->path, d->name ? molt__shown(d->name, shown) : "(unnamed)");
    return true;
  }
  const char* why;
  if (d->s.st_shndx == SHN_UNDEF && d->name && (why = forbidden_why(d->name))) {
    w->rc = molt__errmsg_set(w->err, w->errlen, MOLT_EFORBIDDEN,
                             "%s: imports %s: %s (see molt/module.h)", w->im->path,
                             molt__shown(d->name, shown), why);
    return true;
  }
  return false;
}

/* The dynamic section's DT_FLAGS and DT_SYMTAB (0 if absent). Its bytes
 * are PT_DYNAMIC's file range, which molt__elf_check saw inside the file. */
static void dynamic_entries(const image_t* im, uint64_t* flags, uint64_t* symtab) {
  *flags = *symtab = 0;
  for (unsigned i = 0; i < im->eh.e_phnum; i++) {
    phdr_t ph = segment(im, i);
    if (ph.p_type != PT_DYNAMIC) continue;
    for (uint64_t at = 0; at < ph.p_filesz && ph.p_filesz - at >= sizeof(dyn_t);
         at += sizeof(dyn_t)) {
      dyn_t dyn;
      memcpy(&dyn, im->b + ph.p_offset + at, sizeof dyn);
      if (dyn.d_tag == DT_NULL) break;
      if (dyn.d_tag == DT_FLAGS) *flags = dyn.d_un.d_val;
      if (dyn.d_tag == DT_SYMTAB) *symtab = dyn.d_un.d_ptr;
    }
    return;
  }
}

static bool described(const image_t* im, uint64_t symtab) {
  for (uint64_t i = 0; i < im->nsections; i++) {
    shdr_t sh = section(im, i);
    if (sh.sh_type == SHT_DYNSYM && sh.sh_addr == symtab) return true;
  }
  return false;
}

/* The descriptor's .size against its symbol's st_size: the loader reads
 * .size bytes of it (MOLT_HAS_FIELD), so a symbol shorter than that (a
 * hand-made smaller struct exported under the name) has the loader read
 * whatever follows it. Only once magic and abi match, as the loader
 * orders its checks: before that, .size means nothing and the descriptor
 * checks name what is wrong. */
static int check_descriptor(const image_t* im, char* err, size_t errlen) {
  sym_t s;
  uint32_t head[3]; /* magic, abi, size */
  if (!find_symbol(im, MOLT_DESCRIPTOR_SYMBOL, &s) || !read_vaddr(im, s.st_value, head, sizeof head))
    return 0; /* the descriptor checks say what is missing */
  if (head[0] != MOLT_MAGIC || head[1] != MOLT_ABI_VERSION || s.st_size >= head[2]) return 0;
  return molt__errmsg_set(err, errlen, MOLT_EFORBIDDEN,
                          "%s: %s: the symbol is %llu bytes, smaller than its own .size (%u): "
                          "the loader would read past it",
                          im->path, MOLT_DESCRIPTOR_SYMBOL, (unsigned long long)s.st_size, head[2]);
}

int molt__elf_policy_check(const void* bytes, size_t len, const char* path, char* err,
                           size_t errlen) {
  image_t im = image_of(bytes, len, path);
  uint64_t flags, symtab;
  dynamic_entries(&im, &flags, &symtab);
  if (flags & DF_STATIC_TLS)
    return molt__errmsg_set(err, errlen, MOLT_EFORBIDDEN,
                            "%s: uses initial-exec TLS (DF_STATIC_TLS): every reload takes static "
                            "TLS the process never gets back; build with -ftls-model=global-dynamic",
                            path);
  if (symtab && !described(&im, symtab))
    return molt__errmsg_set(err, errlen, MOLT_EELF,
                            "%s: DT_SYMTAB: expected the address of a SHT_DYNSYM section, found "
                            "0x%llx, which none has", path, (unsigned long long)symtab);
  walk_t w = {.im = &im, .err = err, .errlen = errlen};
  if (each_dynsym(&im, check_symbol, &w)) return w.rc;
  return check_descriptor(&im, err, errlen);
}
