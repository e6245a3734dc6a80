/* module_file_test.c: a module file's type and size from its descriptor,
 * and reading it whole only once its ELF header passed (loader/module_file.c). */
#include <criterion/criterion.h>
#include <sys/socket.h>

#include "loader_util.h"
#include "module_file.h"
#include "molt/errno.h"

static char* dir;
static char err[1024];

static void setup(void) {
  dir = tu_mkdtemp("molt-module-file");
  cr_assert_not_null(dir);
  err[0] = '\0';
}

static void teardown(void) {
  tu_rmrf(dir);
  free(dir);
}

TestSuite(module_file, .init = setup, .fini = teardown, .timeout = 30);

static int stat_path(const char* path, uint64_t* size) {
  int fd = open(path, MOLT_MODULE_FILE_OPEN_FLAGS);
  cr_assert_geq(fd, 0, "%s", path);
  int rc = molt__module_file_stat(fd, "shown.so", size, err, sizeof err);
  close(fd);
  return rc;
}

Test(module_file, stat_takes_a_file_of_exactly_the_cap_and_refuses_one_byte_more) {
  char* at = lu_sparse_file(dir, "at.so", MOLT_MODULE_FILE_MAX);
  char* over = lu_sparse_file(dir, "over.so", MOLT_MODULE_FILE_MAX + 1);
  uint64_t size = 0;
  cr_assert_eq(stat_path(at, &size), 0, "%s", err);
  cr_assert_eq(size, MOLT_MODULE_FILE_MAX);
  size = 7;
  cr_assert_eq(stat_path(over, &size), MOLT_EMSGSIZE);
  cr_assert_str_eq(err, "shown.so: size: expected at most 256 MiB for a module file, found "
                        "268435457 bytes");
  cr_assert_eq(size, 7, "size is set only on success");
  free(at);
  free(over);
}

/* The type comes from the descriptor, whatever opened it: a pipe and a
 * socket never had a path to open. */
Test(module_file, stat_names_what_is_not_a_regular_file) {
  int p[2], s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  uint64_t size = 0;
  cr_assert_eq(pipe(p), 0);
  cr_assert_geq(s, 0);
  cr_assert_eq(molt__module_file_stat(p[0], "p.so", &size, err, sizeof err), MOLT_EINVAL);
  cr_assert_str_eq(err, "p.so: expected a regular file, found a FIFO");
  cr_assert_eq(molt__module_file_stat(s, "s.so", &size, err, sizeof err), MOLT_EINVAL);
  cr_assert_str_eq(err, "s.so: expected a regular file, found a socket");
  close(p[0]);
  close(p[1]);
  close(s);
}

Test(module_file, read_returns_the_whole_module) {
  size_t want_len = 0, len = 0;
  char* want = tu_read_file(FIXTURE("good-1.0.0.so"), &want_len);
  unsigned char* bytes = NULL;
  cr_assert_not_null(want);
  cr_assert_eq(molt__module_file_read(FIXTURE("good-1.0.0.so"), &bytes, &len, err, sizeof err), 0,
               "%s", err);
  cr_assert_eq(len, want_len);
  cr_assert_arr_eq(bytes, want, len);
  free(bytes);
  free(want);
}

/* The header alone says the program header table lies past the end of a
 * file that has nothing but the header. */
Test(module_file, read_refuses_from_the_header_what_it_says_is_missing) {
  char path[4096];
  char* img = tu_read_file(FIXTURE("good-1.0.0.so"), NULL);
  cr_assert_not_null(img);
  snprintf(path, sizeof path, "%s/head.so", dir);
  cr_assert_eq(tu_write_file(path, img, sizeof(ElfW(Ehdr))), 0);
  free(img);
  unsigned char* bytes = (unsigned char*)"untouched";
  size_t len = 0;
  cr_assert_eq(molt__module_file_read(path, &bytes, &len, err, sizeof err), MOLT_EELF);
  lu_assert_says(err, path, "truncated: program header table ends at byte", "file has 64 bytes", NULL);
  cr_assert_str_eq((char*)bytes, "untouched");
}

Test(module_file, read_refuses_an_empty_file) {
  char path[4096];
  unsigned char* bytes = NULL;
  size_t len = 0;
  snprintf(path, sizeof path, "%s/empty.so", dir);
  cr_assert_eq(tu_write_file(path, "", 0), 0);
  cr_assert_eq(molt__module_file_read(path, &bytes, &len, err, sizeof err), MOLT_ENOTELF);
  lu_assert_says(err, path, "EI_MAG", "found a file of 0 bytes", NULL);
}

Test(module_file, read_names_a_missing_file) {
  unsigned char* bytes = NULL;
  size_t len = 0;
  cr_assert_eq(molt__module_file_read("/nonexistent/m.so", &bytes, &len, err, sizeof err),
               MOLT_ENOENT);
  cr_assert_str_eq(err, "/nonexistent/m.so: open: No such file or directory");
}
