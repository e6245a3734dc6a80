/* elf_check_test.c: molt__elf_check on the fixtures and on copies of the
 * good module broken one header field, or one byte of length, at a time. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>

#include "elf_check.h"
#include "loader_util.h"
#include "molt/errno.h"

#define PATH "/x/foo.so"

static char* img;
static size_t len;
static char err[512];

static void setup(void) {
  img = tu_read_file(FIXTURE("good-1.0.0.so"), &len);
  cr_assert_not_null(img);
  err[0] = '\0';
}

static void teardown(void) { free(img); }

TestSuite(elf_check, .init = setup, .fini = teardown);

static int check(size_t n) { return molt__elf_check(img, n, PATH, err, sizeof err); }

static ElfW(Ehdr) get_ehdr(void) {
  ElfW(Ehdr) eh;
  memcpy(&eh, img, sizeof eh);
  return eh;
}

static void put_ehdr(ElfW(Ehdr) eh) { memcpy(img, &eh, sizeof eh); }

/* The file offset of the first program header of type, which must exist. */
static size_t phdr_at(unsigned type) {
  ElfW(Ehdr) eh = get_ehdr();
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    ElfW(Phdr) ph;
    size_t off = eh.e_phoff + i * sizeof ph;
    memcpy(&ph, img + off, sizeof ph);
    if (ph.p_type == type) return off;
  }
  cr_assert_fail("good-1.0.0.so has no program header of type %u", type);
  return 0;
}

static void retype_phdr(unsigned from, unsigned to) {
  ElfW(Phdr) ph;
  size_t off = phdr_at(from);
  memcpy(&ph, img + off, sizeof ph);
  ph.p_type = to;
  memcpy(img + off, &ph, sizeof ph);
}

Test(elf_check, accepts_the_good_module) { cr_assert_eq(check(len), 0, "%s", err); }

/* The other fixtures are broken above the ELF level: the check must let
 * them through to dlopen and the descriptor checks. */
Test(elf_check, accepts_fixtures_whose_elf_is_fine) {
  const char* files[] = {"good-2.0.0.so",     "bad_magic-1.0.0.so",  "other_abi-1.0.0.so",
                         "short_size-1.0.0.so", "no_desc-1.0.0.so",  "bad_name-1.0.0.so",
                         "null_handle-1.0.0.so", "unresolved-1.0.0.so", "wrong_name-1.0.0.so"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", MOLT_FIXTURE_DIR, files[i]);
    size_t n = 0;
    char* bytes = tu_read_file(path, &n);
    cr_assert_not_null(bytes, "%s", path);
    cr_expect_eq(molt__elf_check(bytes, n, path, err, sizeof err), 0, "%s", err);
    free(bytes);
  }
}

Test(elf_check, refuses_a_text_file) {
  size_t n = 0;
  char* text = tu_read_file(FIXTURE("not_elf.so"), &n);
  cr_assert_not_null(text);
  int rc = molt__elf_check(text, n, PATH, err, sizeof err);
  free(text);
  cr_assert_eq(rc, MOLT_ENOTELF, "%s", err);
  cr_assert_str_eq(err, PATH ": EI_MAG: expected 7f 45 4c 46 (\\x7fELF), found 54 68 69 73: "
                        "not an ELF file");
}

Test(elf_check, refuses_an_empty_file) {
  cr_assert_eq(check(0), MOLT_ENOTELF);
  lu_assert_says(err, PATH, "EI_MAG", "expected", "found a file of 0 bytes", NULL);
}

Test(elf_check, refuses_another_class) {
  img[EI_CLASS] = ELFCLASS32;
  cr_assert_eq(check(len), MOLT_ENOTELF);
  cr_assert_str_eq(err, PATH ": EI_CLASS: expected ELFCLASS64 (2), found ELFCLASS32 (1)");
}

Test(elf_check, refuses_another_byte_order) {
  img[EI_DATA] = ELFDATA2MSB;
  cr_assert_eq(check(len), MOLT_ENOTELF);
  cr_assert_str_eq(err, PATH ": EI_DATA: expected ELFDATA2LSB (1), found ELFDATA2MSB (2)");
}

Test(elf_check, refuses_another_elf_version) {
  img[EI_VERSION] = EV_NONE;
  cr_assert_eq(check(len), MOLT_ENOTELF);
  cr_assert_str_eq(err, PATH ": EI_VERSION: expected EV_CURRENT (1), found EV_NONE (0)");
}

Test(elf_check, refuses_another_machine) {
  lu_set_machine(img, LU_OTHER_MACHINE);
  cr_assert_eq(check(len), MOLT_ENOTELF);
#if defined(__x86_64__)
  cr_assert_str_eq(err, PATH ": e_machine: expected x86-64 (62), found AArch64 (183)");
#else
  lu_assert_says(err, PATH, "e_machine: expected", "found " LU_OTHER_MACHINE_SHOWN, NULL);
#endif
}

Test(elf_check, refuses_an_executable) {
  ElfW(Ehdr) eh = get_ehdr();
  eh.e_type = ET_EXEC;
  put_ehdr(eh);
  cr_assert_eq(check(len), MOLT_ENOTELF);
  cr_assert_str_eq(err, PATH ": e_type: expected ET_DYN (3), found ET_EXEC (2)");
}

/* The linker writes the section header table last: a copy missing only its
 * tail loads without complaint in dlopen, and is caught here. */
Test(elf_check, refuses_a_missing_tail) {
  ElfW(Ehdr) eh = get_ehdr();
  size_t table_end = eh.e_shoff + (size_t)eh.e_shnum * eh.e_shentsize;
  cr_assert_eq(table_end, len, "fixture: section headers are not at the end");
  cr_assert_eq(check(len - 100), MOLT_EELF);
  char want[256];
  snprintf(want, sizeof want,
           PATH ": truncated: section header table ends at byte %zu, file has %zu bytes",
           table_end, len - 100);
  cr_assert_str_eq(err, want);
}

/* Every proper prefix of the file is refused, and the check never reads
 * past the buffer (each prefix gets an allocation of exactly its size, so
 * ASan sees any overrun). */
Test(elf_check, refuses_every_truncation) {
  for (size_t n = 0; n < len; n++) {
    char* prefix = malloc(n ? n : 1);
    memcpy(prefix, img, n);
    int rc = molt__elf_check(prefix, n, PATH, err, sizeof err);
    free(prefix);
    cr_assert_eq(rc, n < SELFMAG ? MOLT_ENOTELF : MOLT_EELF, "at %zu bytes: %s (%s)", n,
                 molt_err_name(rc), err);
  }
}

Test(elf_check, refuses_a_segment_past_the_end) {
  size_t off = phdr_at(PT_LOAD);
  ElfW(Phdr) ph;
  memcpy(&ph, img + off, sizeof ph);
  ph.p_filesz = len + 1; /* the first PT_LOAD starts at offset 0 */
  memcpy(img + off, &ph, sizeof ph);
  cr_assert_eq(check(len), MOLT_EELF);
  lu_assert_says(err, PATH ": truncated: program header 0 (PT_LOAD) ends at byte", NULL);
}

/* Offsets from a hostile header must not wrap into something that looks
 * inside the file. */
Test(elf_check, refuses_offsets_that_would_wrap) {
  ElfW(Ehdr) good = get_ehdr(), eh = good;
  eh.e_phoff = UINT64_MAX - 8;
  put_ehdr(eh);
  cr_assert_eq(check(len), MOLT_EELF);
  lu_assert_says(err, "truncated: program header table ends at byte 18446744073709551615",
                 NULL);

  eh = good;
  eh.e_shoff = UINT64_MAX - 8;
  put_ehdr(eh);
  cr_assert_eq(check(len), MOLT_EELF);
  lu_assert_says(err, "truncated: section header table", NULL);

  put_ehdr(good);
  size_t off = phdr_at(PT_LOAD);
  ElfW(Phdr) ph;
  memcpy(&ph, img + off, sizeof ph);
  ph.p_offset = UINT64_MAX - 8;
  ph.p_filesz = 16;
  memcpy(img + off, &ph, sizeof ph);
  cr_assert_eq(check(len), MOLT_EELF);
  lu_assert_says(err, "truncated: program header 0 (PT_LOAD)", NULL);
}

Test(elf_check, refuses_a_bad_program_header_size) {
  ElfW(Ehdr) eh = get_ehdr();
  eh.e_phentsize = 12;
  put_ehdr(eh);
  cr_assert_eq(check(len), MOLT_EELF);
  cr_assert_str_eq(err, PATH ": e_phentsize: expected 56, found 12");
}

Test(elf_check, refuses_no_program_headers) {
  ElfW(Ehdr) eh = get_ehdr();
  eh.e_phnum = 0;
  put_ehdr(eh);
  cr_assert_eq(check(len), MOLT_EELF);
  cr_assert_str_eq(err, PATH ": e_phnum: expected at least 1, found 0");
}

Test(elf_check, refuses_no_section_header_table) {
  ElfW(Ehdr) eh = get_ehdr();
  eh.e_shoff = 0;
  put_ehdr(eh);
  cr_assert_eq(check(len), MOLT_EELF);
  lu_assert_says(err, PATH ": e_shoff: expected a section header table, found none", NULL);
}

Test(elf_check, refuses_an_executable_stack) {
  size_t n = 0;
  char* bytes = tu_read_file(FIXTURE("exec_stack-1.0.0.so"), &n);
  cr_assert_not_null(bytes);
  int rc = molt__elf_check(bytes, n, PATH, err, sizeof err);
  free(bytes);
  cr_assert_eq(rc, MOLT_EEXECSTACK, "%s", err);
  lu_assert_says(err, PATH ": PT_GNU_STACK: expected flags without PF_X, found RWE (0x7)",
                 NULL);
}

/* Without PT_GNU_STACK glibc assumes an executable stack. */
Test(elf_check, refuses_a_missing_stack_header) {
  retype_phdr(PT_GNU_STACK, PT_NULL);
  cr_assert_eq(check(len), MOLT_EEXECSTACK);
  lu_assert_says(err, PATH ": PT_GNU_STACK: expected one without PF_X, found none", NULL);
}

Test(elf_check, refuses_a_missing_dynamic_segment) {
  retype_phdr(PT_DYNAMIC, PT_NULL);
  cr_assert_eq(check(len), MOLT_EELF);
  cr_assert_str_eq(err, PATH ": PT_DYNAMIC: expected one, found none");
}

Test(elf_check, reads_an_unaligned_buffer) {
  char* shifted = malloc(len + 1);
  memcpy(shifted + 1, img, len);
  int rc = molt__elf_check(shifted + 1, len, PATH, err, sizeof err);
  free(shifted);
  cr_assert_eq(rc, 0, "%s", err);
}

Test(elf_check, cuts_the_message_to_the_buffer) {
  img[EI_CLASS] = ELFCLASS32;
  char small[8] = "xxxxxxx";
  cr_assert_eq(molt__elf_check(img, len, PATH, small, sizeof small), MOLT_ENOTELF);
  cr_assert_str_eq(small, "/x/foo.");
  cr_assert_eq(molt__elf_check(img, len, PATH, NULL, 0), MOLT_ENOTELF);
}

static int check_header(size_t n, uint64_t file_size) {
  char* head = malloc(n ? n : 1); /* exactly n bytes, so ASan sees an overrun */
  memcpy(head, img, n);
  int rc = molt__elf_check_header(head, n, file_size, PATH, err, sizeof err);
  free(head);
  return rc;
}

/* From the first sizeof(Ehdr) bytes alone, the good module passes, and
 * what those bytes say is wrong is refused whatever the file's size. */
Test(elf_check, header_alone_passes_the_good_module_and_refuses_what_it_shows) {
  cr_assert_eq(check_header(sizeof(ElfW(Ehdr)), len), 0, "%s", err);
  cr_assert_eq(check_header(sizeof(ElfW(Ehdr)), (uint64_t)3 << 30), 0, "%s", err);
  lu_set_machine(img, LU_OTHER_MACHINE);
  cr_assert_eq(check_header(sizeof(ElfW(Ehdr)), len), MOLT_ENOTELF);
  lu_assert_says(err, PATH ": e_machine: expected", "found " LU_OTHER_MACHINE_SHOWN, NULL);
}

/* The program header table must end inside the file's size, which the
 * header check knows without the bytes; a file shorter than the header
 * is named by its size. */
Test(elf_check, header_alone_checks_the_program_header_table_against_the_file_size) {
  ElfW(Ehdr) eh = get_ehdr();
  uint64_t table_end = eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(ElfW(Phdr));
  cr_assert_eq(check_header(sizeof eh, table_end), 0, "%s", err);
  cr_assert_eq(check_header(sizeof eh, table_end - 1), MOLT_EELF);
  char want[256];
  snprintf(want, sizeof want,
           PATH ": truncated: program header table ends at byte %llu, file has %llu bytes",
           (unsigned long long)table_end, (unsigned long long)table_end - 1);
  cr_assert_str_eq(err, want);
  cr_assert_eq(check_header(40, 40), MOLT_EELF);
  cr_assert_str_eq(err, PATH ": truncated: ELF header ends at byte 64, file has 40 bytes");
}
