/* descriptor_file_test.c: a module's descriptor read from its file without
 * loading it (loader/descriptor_file.c), held against what the loader
 * itself finds and refuses in the same files. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "descriptor_file.h"
#include "loader_util.h"
#include "version.h"

static char* copy_dir;
static char* scratch;

static void setup(void) {
  copy_dir = tu_mkdtemp("molt-copies");
  scratch = tu_mkdtemp("molt-scratch");
  cr_assert(copy_dir && scratch);
}

static void teardown(void) {
  tu_rmrf(copy_dir);
  tu_rmrf(scratch);
  free(copy_dir);
  free(scratch);
}

TestSuite(descriptor_file, .init = setup, .fini = teardown, .timeout = 60);

static const char* const good[] = {
    FIXTURE("good-1.0.0.so"),         FIXTURE("good-2.0.0.so"), FIXTURE("blob-1.0.0.so"),
    FIXTURE("blob-2.0.0.so"),         FIXTURE("blob-3.0.0.so"), FIXTURE("tally-c-1.0.0.so"),
    FIXTURE("slow-2.0.0.so"),         FIXTURE("wrong_name-1.0.0.so"),
    MOLT_MODULE_DIR "/counter-2.0.0.so", MOLT_MODULE_DIR "/driver-1.0.0.so",
};

Test(descriptor_file, reads_what_the_loader_finds_in_every_module_and_maps_nothing) {
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    molt_descriptor_id_t id;
    char err[1024] = "";
    int rc = molt__descriptor_read_file(good[i], &id, err, sizeof err);
    cr_assert_eq(rc, 0, "%s: %s", good[i], err);
    cr_expect_not(lu_mapped(good[i]), "%s was mapped", good[i]);
    molt_version_t* v = NULL;
    cr_assert_eq(molt__version_open(good[i], NULL, copy_dir, &v, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(id.name, v->name, "%s", good[i]);
    cr_expect_str_eq(id.vsn, v->vsn, "%s", good[i]);
    cr_expect_eq(id.state_vsn, v->state_vsn, "%s", good[i]);
    molt__version_unref(v);
  }
}

Test(descriptor_file, the_blob_versions_declare_their_layouts) {
  const char* vsns[] = {"1.0.0", "2.0.0", "3.0.0"};
  uint32_t layouts[] = {1, 2, 2};
  for (int i = 0; i < 3; i++) {
    char path[4096], err[1024] = "";
    molt_descriptor_id_t id;
    snprintf(path, sizeof path, FIXTURE("blob-%s.so"), vsns[i]);
    cr_assert_eq(molt__descriptor_read_file(path, &id, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(id.name, "blob");
    cr_expect_str_eq(id.vsn, vsns[i]);
    cr_expect_eq(id.state_vsn, layouts[i]);
  }
}

/* Same code, same message as molt__version_open, which dlopens. */
static void refused_alike(const char* path, int code) {
  molt_descriptor_id_t id;
  char mine[1024] = "", loader[1024] = "";
  molt_version_t* v = NULL;
  int rc = molt__descriptor_read_file(path, &id, mine, sizeof mine);
  cr_expect_eq(rc, code, "%s: %s (%s)", path, molt_err_name(rc), mine);
  cr_expect_eq(molt__version_open(path, NULL, copy_dir, &v, loader, sizeof loader), code, "%s", loader);
  cr_expect_str_eq(mine, loader);
}

Test(descriptor_file, refuses_what_the_loader_refuses_with_its_message) {
  refused_alike(FIXTURE("not_elf.so"), MOLT_ENOTELF);
  refused_alike(FIXTURE("exec_stack-1.0.0.so"), MOLT_EEXECSTACK);
  refused_alike(FIXTURE("no_desc-1.0.0.so"), MOLT_ENODESC);
  refused_alike(FIXTURE("bad_magic-1.0.0.so"), MOLT_EBADMAGIC);
  refused_alike(FIXTURE("other_abi-1.0.0.so"), MOLT_EABI);
  refused_alike(FIXTURE("short_size-1.0.0.so"), MOLT_EBADSIZE);
  refused_alike(FIXTURE("bad_name-1.0.0.so"), MOLT_EBADDESC);
  refused_alike(FIXTURE("null_handle-1.0.0.so"), MOLT_EBADDESC);

  size_t len = 0;
  char* img = tu_read_file(FIXTURE("good-1.0.0.so"), &len);
  char* half = NULL;
  cr_assert(asprintf(&half, "%s/half.so", scratch) > 0);
  cr_assert_eq(tu_write_file(half, img, len / 2), 0);
  refused_alike(half, MOLT_EELF);
  free(half);
  free(img);
}

Test(descriptor_file, a_file_that_cannot_be_read_is_named) {
  molt_descriptor_id_t id;
  char err[1024] = "";
  cr_expect_eq(molt__descriptor_read_file(FIXTURE("nosuch.so"), &id, err, sizeof err), MOLT_ENOENT);
  cr_expect_str_eq(err, FIXTURE("nosuch.so") ": no such file or directory");
  cr_expect_eq(molt__descriptor_read_file(MOLT_FIXTURE_DIR, &id, err, sizeof err), MOLT_EINVAL);
  cr_expect_str_eq(err, MOLT_FIXTURE_DIR ": expected a regular file");
}

/* What only dlopen can see is left to the load that follows. */
Test(descriptor_file, an_unresolved_symbol_is_for_the_load_to_refuse) {
  molt_descriptor_id_t id;
  char err[1024] = "";
  cr_expect_eq(molt__descriptor_read_file(FIXTURE("unresolved-1.0.0.so"), &id, err, sizeof err), 0, "%s", err);
  cr_expect_str_eq(id.name, "unresolved");
}

/* Whatever a damaged file's headers claim, nothing outside its bytes is
 * read (ASan watches) and nothing crashes: every byte of the good module
 * in turn inverted. */
Test(descriptor_file, a_damaged_file_never_reads_outside_its_bytes) {
  size_t len = 0;
  char* img = tu_read_file(FIXTURE("good-1.0.0.so"), &len);
  cr_assert_not_null(img);
  unsigned char* copy = malloc(len); /* exactly len: one byte past is an ASan report */
  int read = 0;
  for (size_t at = 0; at < len; at++) {
    memcpy(copy, img, len);
    copy[at] ^= 0xff;
    molt_descriptor_id_t id;
    char err[1024];
    read += molt__descriptor_read_bytes(copy, len, "damaged.so", &id, err, sizeof err) == 0;
  }
  cr_expect_gt(read, 0, "the undamaged parts of the file must still read");
  free(copy);
  free(img);
}
