/* version_test.c: molt__version_open on every fixture, the private copy it
 * dlopens, references and close, and builtin versions. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <sys/stat.h>

#include "descriptor.h"
#include "loader_util.h"
#include "version.h"

static char* copy_dir;
static char* scratch; /* files a test makes: patched or truncated copies */
static char err[1024];

static void setup(void) {
  copy_dir = tu_mkdtemp("molt-copies");
  scratch = tu_mkdtemp("molt-scratch");
  cr_assert(copy_dir && scratch);
  err[0] = '\0';
}

static void teardown(void) {
  tu_rmrf(copy_dir);
  tu_rmrf(scratch);
  free(copy_dir);
  free(scratch);
}

TestSuite(version, .init = setup, .fini = teardown);

static molt_version_t* open_ok(const char* path, const char* expect_name) {
  molt_version_t* v = NULL;
  int rc = molt__version_open(path, expect_name, copy_dir, &v, err, sizeof err);
  cr_assert_eq(rc, 0, "%s: %s (%s)", path, molt_err_name(rc), err);
  return v;
}

/* Opening path fails with code, the message names the file and says every
 * fragment (NULL-terminated), and nothing is left behind: no private copy
 * on disk, nothing under the copy dir mapped. */
#define expect_refusal(path, expect_name, code, ...)                                   \
  do {                                                                                 \
    molt_version_t* v_ = NULL;                                                         \
    int rc_ = molt__version_open(path, expect_name, copy_dir, &v_, err, sizeof err);   \
    cr_assert_eq(rc_, code, "%s: got %s (%s)", path, molt_err_name(rc_), err);         \
    cr_assert_null(v_);                                                                \
    lu_assert_says(err, path, __VA_ARGS__, NULL);                                      \
    cr_assert_eq(lu_count_files(copy_dir), 0, "a private copy was left behind");       \
    cr_assert_not(lu_mapped(copy_dir), "a private copy is still mapped");              \
  } while (0)

/* Write bytes[0, len) of the good module, with e_machine set to machine
 * unless it is 0, to scratch/name; returns the path (malloc'd). */
static char* write_good_variant(const char* name, size_t keep, unsigned machine) {
  size_t len = 0;
  char* img = tu_read_file(FIXTURE("good-1.0.0.so"), &len);
  cr_assert_not_null(img);
  if (machine) lu_set_machine(img, machine);
  char* path = NULL;
  cr_assert(asprintf(&path, "%s/%s", scratch, name) > 0);
  cr_assert_eq(tu_write_file(path, img, keep < len ? keep : len), 0);
  free(img);
  return path;
}

Test(version, opens_the_good_module) {
  molt_version_t* v = open_ok(FIXTURE("good-1.0.0.so"), NULL);
  cr_assert_str_eq(v->name, "good");
  cr_assert_str_eq(v->vsn, "1.0.0");
  cr_assert_eq(v->state_vsn, 1);
  cr_assert_eq(v->revision, 0);
  cr_assert_eq(atomic_load(&v->refs), 1);
  cr_assert_eq(atomic_load(&v->actors), 0);
  cr_assert_not(v->builtin);
  cr_assert_str_eq(v->src_path, FIXTURE("good-1.0.0.so"));
  cr_assert_str_eq(v->desc->name, "good");
  /* The strings are copies: they must outlive the image. */
  cr_assert_neq(v->name, v->desc->name);

  size_t len = 0;
  char* bytes = tu_read_file(FIXTURE("good-1.0.0.so"), &len);
  uint8_t sha[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(sha, (unsigned char*)bytes, len);
  free(bytes);
  uint8_t got[32];
  cr_assert_eq(molt__version_sha256(v, got), 0);
  cr_assert_arr_eq(got, sha, sizeof sha);
  cr_assert_eq(molt__version_sha256(v, got), 0, "asked again: the cached digest");
  cr_assert_arr_eq(got, sha, sizeof sha);

  cr_assert(v->init && v->handle && v->terminate && v->code_change && v->free_state);
  cr_assert_null(v->format_state, "good does not set format_state");
  void* state = (void*)1;
  cr_assert_eq(v->init(NULL, &state), 0);
  molt_msg_t msg = {.kind = MOLT_MSG_USER, .tag = 1};
  cr_assert_eq(v->handle(state, &msg), MOLT_OK);
  v->free_state(state);
  molt__version_unref(v);
}

Test(version, copies_privately_and_removes_the_copy_on_close) {
  molt_version_t* v = open_ok(FIXTURE("good-1.0.0.so"), NULL);
  char* priv = strdup(v->priv_path);
  cr_assert_eq(strncmp(priv, copy_dir, strlen(copy_dir)), 0, "%s", priv);
  cr_assert_str_neq(priv, v->src_path);
  struct stat st;
  cr_assert_eq(stat(priv, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
  cr_assert(lu_mapped(priv));

  molt__version_unref(v);
  cr_assert_not(lu_mapped(priv), "dlclose'd version still mapped");
  cr_assert_neq(stat(priv, &st), 0, "private copy not removed");
  cr_assert_eq(lu_count_files(copy_dir), 0);
  free(priv);
}

Test(version, lives_until_the_last_reference) {
  molt_version_t* v = open_ok(FIXTURE("good-1.0.0.so"), NULL);
  char* priv = strdup(v->priv_path);
  molt__version_ref(v);
  molt__version_ref(v);
  cr_assert_eq(atomic_load(&v->refs), 3);
  molt__version_unref(v);
  molt__version_unref(v);
  cr_assert_eq(atomic_load(&v->refs), 1);
  cr_assert(lu_mapped(priv));
  molt__version_unref(v);
  cr_assert_not(lu_mapped(priv));
  free(priv);
}

Test(version, opens_the_same_file_twice_as_two_versions) {
  molt_version_t* a = open_ok(FIXTURE("good-1.0.0.so"), NULL);
  molt_version_t* b = open_ok(FIXTURE("good-1.0.0.so"), NULL);
  cr_assert_str_neq(a->priv_path, b->priv_path);
  cr_assert_neq(a->dl, b->dl);
  cr_assert_neq(a->desc, b->desc);
  cr_assert_eq(lu_count_files(copy_dir), 2);
  molt__version_unref(a);
  molt__version_unref(b);
  cr_assert_eq(lu_count_files(copy_dir), 0);
}

/* glibc would hand back the cached v1 for a dlopen of the same path; the
 * private copy makes a rebuilt file load as the new code, beside the old. */
Test(version, loads_a_rebuilt_file_at_the_same_path_as_new_code) {
  char* path = NULL;
  cr_assert(asprintf(&path, "%s/good.so", scratch) > 0);
  cr_assert_eq(tu_copy_file(FIXTURE("good-1.0.0.so"), path), 0);
  molt_version_t* v1 = open_ok(path, "good");
  cr_assert_eq(tu_copy_file(FIXTURE("good-2.0.0.so"), path), 0);
  molt_version_t* v2 = open_ok(path, "good");

  molt_msg_t msg = {.kind = MOLT_MSG_USER};
  cr_assert_str_eq(v1->vsn, "1.0.0");
  cr_assert_str_eq(v2->vsn, "2.0.0");
  cr_assert_str_eq(v2->desc->vsn, "2.0.0");
  cr_assert_eq(v2->state_vsn, 2);
  cr_assert_eq(v1->handle(NULL, &msg), MOLT_OK);
  cr_assert_eq(v2->handle(NULL, &msg), MOLT_STOP);
  uint8_t d1[32], d2[32];
  cr_assert_eq(molt__version_sha256(v1, d1), 0);
  cr_assert_eq(molt__version_sha256(v2, d2), 0);
  cr_assert(memcmp(d1, d2, sizeof d1) != 0);
  molt__version_unref(v1);
  molt__version_unref(v2);
  free(path);
}

Test(version, refuses_a_missing_file) {
  expect_refusal(FIXTURE("nothing-here.so"), NULL, MOLT_ENOENT, "open",
                 "No such file or directory");
}

Test(version, refuses_a_directory) {
  expect_refusal(scratch, NULL, MOLT_EINVAL, "expected a regular file, found a directory");
}

/* Opened without O_NONBLOCK, a FIFO with no writer would block the load
 * until the test's timeout kills it. */
Test(version, refuses_a_fifo_at_once, .timeout = 5) {
  char* path = NULL;
  cr_assert(asprintf(&path, "%s/pipe.so", scratch) > 0);
  cr_assert_eq(mkfifo(path, 0600), 0);
  double t0 = lu_now();
  expect_refusal(path, NULL, MOLT_EINVAL, "expected a regular file, found a FIFO");
  cr_expect_lt(lu_now() - t0, 0.5, "took %.3f s", lu_now() - t0);
  free(path);
}

/* Read to EOF, /dev/zero would fill memory until the process died. */
Test(version, refuses_a_character_device, .timeout = 5) {
  expect_refusal("/dev/zero", NULL, MOLT_EINVAL,
                 "expected a regular file, found a character device");
}

/* 3 GiB of hole: once read whole (21.8 s, 2.7 GB of memory) before its
 * first bytes were looked at. The size is known from fstat. */
Test(version, refuses_a_3_gib_sparse_file_without_reading_it, .timeout = 60) {
  char* path = lu_sparse_file(scratch, "huge.so", (uint64_t)3 << 30);
  long rss0 = lu_max_rss_kib();
  double t0 = lu_now();
  expect_refusal(path, NULL, MOLT_EMSGSIZE, "size: expected at most 256 MiB for a module file",
                 "found 3221225472 bytes");
  double took = lu_now() - t0;
  cr_expect_lt(took, 0.5, "took %.3f s", took);
  long grew = lu_max_rss_kib() - rss0;
  cr_expect_lt(grew, 32 << 10, "memory grew by %ld KiB", grew);
  free(path);
}

/* Under the size cap, a file that is not ELF is refused from its first
 * bytes: its 200 MiB are never read nor allocated. */
Test(version, refuses_a_large_file_from_its_header_without_reading_the_rest, .timeout = 60) {
  char* path = lu_sparse_file(scratch, "zeros.so", (uint64_t)200 << 20);
  long rss0 = lu_max_rss_kib();
  double t0 = lu_now();
  expect_refusal(path, NULL, MOLT_ENOTELF, "EI_MAG", "found 00 00 00 00");
  double took = lu_now() - t0;
  cr_expect_lt(took, 0.5, "took %.3f s", took);
  long grew = lu_max_rss_kib() - rss0;
  cr_expect_lt(grew, 32 << 10, "memory grew by %ld KiB", grew);
  free(path);
}

Test(version, refuses_a_text_file) {
  expect_refusal(FIXTURE("not_elf.so"), NULL, MOLT_ENOTELF, "EI_MAG", "expected",
                 "found 54 68 69 73");
}

Test(version, refuses_a_module_for_another_machine) {
  char* path = write_good_variant("other_machine.so", SIZE_MAX, LU_OTHER_MACHINE);
  expect_refusal(path, NULL, MOLT_ENOTELF, "e_machine: expected",
                 "found " LU_OTHER_MACHINE_SHOWN);
  free(path);
}

/* Missing only its tail, dlopen would load it without a word. */
Test(version, refuses_a_file_missing_its_tail) {
  size_t len = 0;
  free(tu_read_file(FIXTURE("good-1.0.0.so"), &len));
  char* path = write_good_variant("tail.so", len - 64, 0);
  char says[128];
  snprintf(says, sizeof says, "section header table ends at byte %zu, file has %zu bytes",
           len, len - 64);
  expect_refusal(path, NULL, MOLT_EELF, "truncated", says);
  free(path);
}

/* Half written, dlopen would die of SIGBUS mapping pages the file lacks. */
Test(version, refuses_a_half_written_file) {
  size_t len = 0;
  free(tu_read_file(FIXTURE("good-1.0.0.so"), &len));
  char* path = write_good_variant("half.so", len / 2, 0);
  expect_refusal(path, NULL, MOLT_EELF, "truncated", "ends at byte", "file has");
  free(path);
}

Test(version, refuses_an_executable_stack_and_keeps_ours) {
  expect_refusal(FIXTURE("exec_stack-1.0.0.so"), NULL, MOLT_EEXECSTACK,
                 "PT_GNU_STACK: expected flags without PF_X", "found RWE");
  char* maps = tu_read_file("/proc/self/maps", NULL);
  char* stack = strstr(maps, "[stack]");
  cr_assert_not_null(stack);
  while (stack > maps && stack[-1] != '\n') stack--;
  char perms[5] = {0};
  cr_assert_eq(sscanf(stack, "%*[0-9a-f]-%*[0-9a-f] %4s", perms), 1);
  cr_assert_str_eq(perms, "rw-p", "the stack became executable");
  free(maps);
}

Test(version, refuses_an_unresolved_symbol) {
  expect_refusal(FIXTURE("unresolved-1.0.0.so"), NULL, MOLT_EDLOPEN, "dlopen",
                 "undefined symbol: molt_this_does_not_exist");
}

Test(version, refuses_a_file_without_descriptor) {
  expect_refusal(FIXTURE("no_desc-1.0.0.so"), NULL, MOLT_ENODESC,
                 "molt_module: expected an exported module descriptor, found none");
}

Test(version, refuses_bad_magic) {
  expect_refusal(FIXTURE("bad_magic-1.0.0.so"), NULL, MOLT_EBADMAGIC,
                 "magic: expected 0x544c4f4d, found 0x0badc0de");
}

Test(version, refuses_another_abi) {
  expect_refusal(FIXTURE("other_abi-1.0.0.so"), NULL, MOLT_EABI, "abi: expected 1, found 2");
}

Test(version, refuses_a_short_descriptor) {
  char says[128];
  snprintf(says, sizeof says, "size: expected at least %zu (through free_state), found %zu",
           MOLT_DESCRIPTOR_MIN_SIZE, offsetof(molt_module_t, free_state));
  expect_refusal(FIXTURE("short_size-1.0.0.so"), NULL, MOLT_EBADSIZE, says);
}

Test(version, refuses_a_bad_name) {
  expect_refusal(FIXTURE("bad_name-1.0.0.so"), NULL, MOLT_EBADDESC,
                 "name: expected 1 to 63 characters of [a-z0-9_], found \"Bad-Name\"");
}

Test(version, refuses_a_null_handle) {
  expect_refusal(FIXTURE("null_handle-1.0.0.so"), NULL, MOLT_EBADDESC,
                 "handle: expected a function, found NULL");
}

Test(version, refuses_another_name_than_expected) {
  expect_refusal(FIXTURE("wrong_name-1.0.0.so"), "wrong_name", MOLT_ENAME,
                 "name: expected \"wrong_name\", found \"impostor\"");
  molt_version_t* v = open_ok(FIXTURE("wrong_name-1.0.0.so"), NULL);
  cr_assert_str_eq(v->name, "impostor");
  molt__version_unref(v);
}

Test(version, refuses_a_missing_copy_dir) {
  char* gone = NULL;
  cr_assert(asprintf(&gone, "%s/gone", copy_dir) > 0);
  molt_version_t* v = NULL;
  int rc = molt__version_open(FIXTURE("good-1.0.0.so"), NULL, gone, &v, err, sizeof err);
  cr_assert_eq(rc, MOLT_ENOENT, "%s", err);
  cr_assert_null(v);
  lu_assert_says(err, gone, "private copy", NULL);
  cr_assert_not(lu_mapped("good-1.0.0.so"));
  free(gone);
}

static int b_init(const molt_args_t* args, void** state) { return 0; }
static int b_handle(void* state, const molt_msg_t* msg) { return MOLT_STOP; }
static void b_free_state(void* state) {}
static char* b_format_state(const void* state) { return NULL; }

Test(version, wraps_a_builtin_descriptor) {
  static const molt_module_t sup = {
      .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t),
      .state_vsn = 3, .name = "supervisor", .vsn = "0.1.0", .init = b_init,
      .handle = b_handle, .free_state = b_free_state, .format_state = b_format_state};
  molt_version_t* v = NULL;
  cr_assert_eq(molt__version_builtin(&sup, &v), 0);
  cr_assert(v->builtin);
  cr_assert_str_eq(v->name, "supervisor");
  cr_assert_eq(v->state_vsn, 3);
  cr_assert_null(v->dl);
  cr_assert_null(v->priv_path);
  cr_assert_eq(v->format_state, b_format_state);
  cr_assert_eq(atomic_load(&v->refs), 1);
  molt__version_unref(v); /* frees the copies; LSan would see a leak */
}

/* An optional callback the descriptor's size does not cover is NULL, even
 * if the bytes there happen to be a pointer. */
Test(version, ignores_fields_beyond_size) {
  molt_module_t old = {.magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION,
                       .size = offsetof(molt_module_t, format_state), .name = "old",
                       .vsn = "1", .init = b_init, .handle = b_handle,
                       .free_state = b_free_state, .format_state = b_format_state};
  molt_version_t* v = NULL;
  cr_assert_eq(molt__version_builtin(&old, &v), 0);
  cr_assert_null(v->format_state);
  cr_assert_eq(v->free_state, b_free_state);
  molt__version_unref(v);
}

Test(version, refuses_a_bad_builtin_descriptor) {
  molt_module_t bad = {.magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION + 1};
  molt_version_t* v = NULL;
  cr_assert_eq(molt__version_builtin(&bad, &v), MOLT_EABI);
  cr_assert_null(v);
}
