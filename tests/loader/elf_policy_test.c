/* elf_policy_test.c: what a module must not do (molt/module.h), refused
 * from the file before it is loaded, with its one line; what it may do
 * (atexit) still loads; and the trust rule for the module file itself. */
#include <criterion/criterion.h>
#include <pwd.h>
#include <sys/stat.h>

#include "code_server.h"
#include "descriptor_file.h"
#include "elf_check.h"
#include "loader_util.h"
#include "module_file.h"
#include "molt/errno.h"

static char* home;
static char err[1024];

static void setup(void) {
  home = tu_mkdtemp("molt-policy");
  cr_assert_not_null(home);
  char* copies;
  cr_assert(asprintf(&copies, "%s/copies", home) > 0);
  cr_assert_eq(molt__code_init(copies), 0);
  free(copies);
  err[0] = '\0';
}

static void teardown(void) {
  molt__code_close();
  tu_rmrf(home);
  free(home);
}

TestSuite(elf_policy, .init = setup, .fini = teardown, .timeout = 30);

/* path's bytes through molt__elf_check, which ends with the policy. */
static int check_file(const char* path) {
  size_t len;
  char* img = tu_read_file(path, &len);
  cr_assert_not_null(img, "%s", path);
  int rc = molt__elf_check(img, len, path, err, sizeof err);
  free(img);
  return rc;
}

/* Refused by molt__elf_check, by the loader (nothing mapped, no private
 * copy left) and by the descriptor reader the bundler and unpack use,
 * each time with the one line want. */
static void refused_everywhere(const char* file, int code, const char* want) {
  const char* path = file;
  cr_assert_eq(check_file(path), code, "%s: %s (%s)", path, molt_err_name(check_file(path)), err);
  cr_assert_str_eq(err, want);

  molt_version_t* v = NULL;
  err[0] = '\0';
  cr_assert_eq(molt__code_load(path, NULL, &v, err, sizeof err), code);
  cr_assert_str_eq(err, want);
  cr_assert_null(v);
  char* copies;
  cr_assert(asprintf(&copies, "%s/copies", home) > 0);
  cr_assert_eq(lu_count_files(copies), 0, "a private copy of %s was left", path);
  free(copies);

  molt_descriptor_id_t id;
  err[0] = '\0';
  cr_assert_eq(molt__descriptor_read_file(path, &id, err, sizeof err), code);
  cr_assert_str_eq(err, want);
}

Test(elf_policy, refuses_an_imported_pthread_create) {
  refused_everywhere(FIXTURE("forbidden_thread-1.0.0.so"), MOLT_EFORBIDDEN,
                     FIXTURE("forbidden_thread-1.0.0.so") ": imports pthread_create: a thread "
                     "outlives the module's purge (see molt/module.h)");
}

Test(elf_policy, refuses_an_imported_sigaction) {
  refused_everywhere(FIXTURE("forbidden_signal-1.0.0.so"), MOLT_EFORBIDDEN,
                     FIXTURE("forbidden_signal-1.0.0.so") ": imports sigaction: a signal handler "
                     "is process-wide and outlives the module's purge (see molt/module.h)");
}

Test(elf_policy, refuses_initial_exec_tls) {
  refused_everywhere(FIXTURE("static_tls-1.0.0.so"), MOLT_EFORBIDDEN,
                     FIXTURE("static_tls-1.0.0.so") ": uses initial-exec TLS (DF_STATIC_TLS): "
                     "every reload takes static TLS the process never gets back; build with "
                     "-ftls-model=global-dynamic");
}

Test(elf_policy, refuses_a_gnu_unique_symbol) {
  refused_everywhere(FIXTURE("unique-1.0.0.so"), MOLT_EFORBIDDEN,
                     FIXTURE("unique-1.0.0.so") ": defines STB_GNU_UNIQUE symbol _ZZ4hitsvE1n: "
                     "the module could never be unmapped; build with -fno-gnu-unique");
}

Test(elf_policy, refuses_a_descriptor_symbol_smaller_than_its_size) {
  char want[512];
  snprintf(want, sizeof want,
           "%s: molt_module: the symbol is %zu bytes, smaller than its own .size (%zu): the "
           "loader would read past it",
           FIXTURE("small_desc-1.0.0.so"), offsetof(molt_module_t, format_state),
           sizeof(molt_module_t));
  refused_everywhere(FIXTURE("small_desc-1.0.0.so"), MOLT_EFORBIDDEN, want);
}

Test(elf_policy, loads_a_module_that_uses_atexit) {
  cr_assert_eq(check_file(FIXTURE("uses_atexit-1.0.0.so")), 0, "%s", err);
  molt_version_t* v = NULL;
  int rc = molt__code_load(FIXTURE("uses_atexit-1.0.0.so"), NULL, &v, err, sizeof err);
  cr_assert_eq(rc, 0, "%s (%s)", molt_err_name(rc), err);
  cr_assert_eq(molt__code_delete("uses_atexit", err, sizeof err), 0, "%s", err);
}

Test(elf_policy, passes_every_example_fixture_that_does_nothing_forbidden) {
  const char* ok[] = {"good-1.0.0.so", "good-2.0.0.so", "linger-1.0.0.so", "crasher-1.0.0.so",
                      "short_size-1.0.0.so", "unresolved-1.0.0.so"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", MOLT_FIXTURE_DIR, ok[i]);
    cr_assert_eq(check_file(path), 0, "%s", err);
  }
}

/* The dynamic linker reads the symbols DT_SYMTAB points at; a table no
 * section header describes would be read by it and not by the policy. */
Test(elf_policy, refuses_a_dynamic_symbol_table_no_section_describes) {
  size_t len;
  char* img = tu_read_file(FIXTURE("good-1.0.0.so"), &len);
  cr_assert_not_null(img);
  ElfW(Ehdr) eh;
  memcpy(&eh, img, sizeof eh);
  bool moved = false;
  for (unsigned i = 0; i < eh.e_shnum; i++) {
    ElfW(Shdr) sh;
    size_t at = eh.e_shoff + (size_t)i * sizeof sh;
    memcpy(&sh, img + at, sizeof sh);
    if (sh.sh_type != SHT_DYNSYM) continue;
    sh.sh_addr += 8;
    memcpy(img + at, &sh, sizeof sh);
    moved = true;
  }
  cr_assert(moved);
  cr_assert_eq(molt__elf_check(img, len, "/x/foo.so", err, sizeof err), MOLT_EELF);
  cr_assert(strstr(err, "/x/foo.so: DT_SYMTAB: expected the address of a SHT_DYNSYM section"),
            "%s", err);
  free(img);
}

/* A copy of the good module at home/name with mode, owned by uid. */
static char* copy_as(const char* name, mode_t mode, uid_t uid) {
  char* path;
  cr_assert(asprintf(&path, "%s/%s", home, name) > 0);
  cr_assert_eq(tu_copy_file(FIXTURE("good-1.0.0.so"), path), 0);
  cr_assert_eq(chmod(path, mode), 0);
  cr_assert_eq(chown(path, uid, (gid_t)-1), 0, "chown %s: %s", path, strerror(errno));
  return path;
}

static void file_refused(const char* path, const char* want) {
  unsigned char* bytes = NULL;
  size_t len = 0;
  cr_assert_eq(molt__module_file_read(path, &bytes, &len, err, sizeof err), MOLT_EACCES);
  cr_assert_str_eq(err, want);
  molt_version_t* v = NULL;
  cr_assert_eq(molt__code_load(path, NULL, &v, err, sizeof err), MOLT_EACCES);
  cr_assert_str_eq(err, want);
}

Test(elf_policy, refuses_a_module_file_group_or_others_can_write) {
  char *path = copy_as("open.so", 0666, geteuid()), want[1024];
  snprintf(want, sizeof want,
           "%s: writable by group or others (mode 0666): another user could change what the "
           "container runs; chmod go-w %s", path, path);
  file_refused(path, want);
  cr_assert_eq(chmod(path, 0620), 0);
  cr_assert_eq(molt__module_file_read(path, &(unsigned char*){NULL}, &(size_t){0}, err,
                                      sizeof err), MOLT_EACCES);
  free(path);
}

Test(elf_policy, refuses_a_module_file_another_user_owns) {
  struct passwd* nobody = getpwnam("nobody");
  if (geteuid() != 0 || !nobody) cr_skip_test("needs root and a user nobody");
  char *path = copy_as("theirs.so", 0644, nobody->pw_uid), want[1024];
  snprintf(want, sizeof want,
           "%s: owned by uid %u, neither root nor this container's uid 0: another user could "
           "change what the container runs", path, (unsigned)nobody->pw_uid);
  file_refused(path, want);
  free(path);
}

Test(elf_policy, loads_a_module_file_root_owns_read_only) {
  char* path = copy_as("root.so", 0444, 0);
  molt_version_t* v = NULL;
  int rc = molt__code_load(path, NULL, &v, err, sizeof err);
  cr_assert_eq(rc, 0, "%s (%s)", molt_err_name(rc), err);
  cr_assert_eq(molt__code_delete("good", err, sizeof err), 0, "%s", err);
  free(path);
}
