/* descriptor_test.c: molt__descriptor_check on descriptors built in memory,
 * one broken field at a time, for the cases no fixture file needs. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "descriptor.h"
#include "loader_util.h"

#define PATH "/x/foo.so"

static int t_init(const molt_args_t* args, void** state) { return 0; }
static int t_handle(void* state, const molt_msg_t* msg) { return 0; }
static void t_free_state(void* state) {}

static molt_module_t d;
static char err[512];

static void setup(void) {
  d = (molt_module_t){.magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION,
                      .size = sizeof(molt_module_t), .name = "counter", .vsn = "1.4.0",
                      .init = t_init, .handle = t_handle, .free_state = t_free_state};
  err[0] = '\0';
}

TestSuite(descriptor, .init = setup);

static int check(const char* expect_name) {
  return molt__descriptor_check(&d, PATH, expect_name, err, sizeof err);
}

Test(descriptor, accepts_a_good_one_without_optional_callbacks) {
  cr_assert_eq(check(NULL), 0, "%s", err);
  cr_assert_eq(check("counter"), 0, "%s", err);
}

Test(descriptor, accepts_a_larger_size_from_a_newer_module) {
  d.size = sizeof(molt_module_t) + 64;
  cr_assert_eq(check(NULL), 0, "%s", err);
}

Test(descriptor, accepts_the_smallest_size) {
  d.size = MOLT_DESCRIPTOR_MIN_SIZE;
  cr_assert_eq(check(NULL), 0, "%s", err);
}

/* The order is the documented one: magic, abi, size, name. */
Test(descriptor, checks_magic_first) {
  d.magic = 0x12345678u;
  d.abi = 9;
  d.size = 4;
  d.name = NULL;
  cr_assert_eq(check(NULL), MOLT_EBADMAGIC);
  cr_assert_str_eq(err, PATH ": magic: expected 0x544c4f4d, found 0x12345678");
  d.magic = MOLT_MAGIC;
  cr_assert_eq(check(NULL), MOLT_EABI);
  cr_assert_str_eq(err, PATH ": abi: expected 1, found 9");
  d.abi = MOLT_ABI_VERSION;
  cr_assert_eq(check(NULL), MOLT_EBADSIZE);
  char want[128];
  snprintf(want, sizeof want, PATH ": size: expected at least %zu (through free_state), found 4",
           MOLT_DESCRIPTOR_MIN_SIZE);
  cr_assert_str_eq(err, want);
  d.size = sizeof d;
  cr_assert_eq(check(NULL), MOLT_EBADDESC);
}

Test(descriptor, refuses_a_null_name) {
  d.name = NULL;
  cr_assert_eq(check(NULL), MOLT_EBADDESC);
  cr_assert_str_eq(err, PATH ": name: expected 1 to 63 characters of [a-z0-9_], found NULL");
}

Test(descriptor, refuses_bad_names) {
  const char* bad[] = {"", "Counter", "my-mod", "a b", "x.y", "caf\xc3\xa9"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    d.name = bad[i];
    cr_expect_eq(check(NULL), MOLT_EBADDESC, "name \"%s\"", bad[i]);
    lu_assert_says(err, PATH ": name: expected 1 to 63 characters of [a-z0-9_], found \"",
                   NULL);
  }
}

/* Non-printable bytes would break the one-line message: shown as '?'. */
Test(descriptor, shows_a_bad_name_on_one_line) {
  d.name = "bad\nname\x01";
  cr_assert_eq(check(NULL), MOLT_EBADDESC);
  lu_assert_says(err, "found \"bad?name?\"", NULL);
}

Test(descriptor, takes_names_up_to_63_characters) {
  char name[65];
  memset(name, 'a', 64);
  name[64] = '\0';
  d.name = name;
  cr_assert_eq(check(NULL), MOLT_EBADDESC);
  name[63] = '\0';
  cr_assert_eq(check(NULL), 0, "%s", err);
}

Test(descriptor, refuses_a_null_or_bad_vsn) {
  d.vsn = NULL;
  cr_assert_eq(check(NULL), MOLT_EBADDESC);
  cr_assert_str_eq(err, PATH ": vsn: expected 1 to 127 printable characters, found NULL");
  d.vsn = "";
  cr_assert_eq(check(NULL), MOLT_EBADDESC);
  d.vsn = "1.0 beta";
  cr_assert_eq(check(NULL), MOLT_EBADDESC);
  lu_assert_says(err, PATH ": vsn: expected", "found \"1.0 beta\"", NULL);
}

Test(descriptor, shortens_a_long_vsn_in_the_message) {
  char vsn[300];
  memset(vsn, '1', sizeof vsn - 1);
  vsn[sizeof vsn - 1] = '\0';
  d.vsn = vsn;
  cr_assert_eq(check(NULL), MOLT_EBADDESC);
  lu_assert_says(err, "...\"", NULL);
  cr_assert_lt(strlen(err), 250);
}

Test(descriptor, refuses_another_name_than_expected) {
  cr_assert_eq(check("gauge"), MOLT_ENAME);
  cr_assert_str_eq(err, PATH ": name: expected \"gauge\", found \"counter\"");
}

Test(descriptor, refuses_missing_mandatory_callbacks) {
  d.init = NULL;
  cr_assert_eq(check(NULL), MOLT_EBADDESC);
  cr_assert_str_eq(err, PATH ": init: expected a function, found NULL");
  d.init = t_init;
  d.handle = NULL;
  cr_assert_eq(check(NULL), MOLT_EBADDESC);
  cr_assert_str_eq(err, PATH ": handle: expected a function, found NULL");
  d.handle = t_handle;
  d.free_state = NULL;
  cr_assert_eq(check(NULL), MOLT_EBADDESC);
  cr_assert_str_eq(err, PATH ": free_state: expected a function, found NULL");
}
