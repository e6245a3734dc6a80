/* manifest_rules_test.c: the lexical rules for names, versions and module
 * paths (runtime/manifest_rules.c), at their edges. */
#include <criterion/criterion.h>

#include "manifest.h"

#define N63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"

Test(manifest_rules, names_are_short_and_plain) {
  cr_assert(molt__manifest_release_name_ok("demo-2_x"));
  cr_assert(molt__manifest_release_name_ok(N63));
  cr_assert_not(molt__manifest_release_name_ok(N63 "l"));
  cr_assert_not(molt__manifest_release_name_ok(""));
  cr_assert_not(molt__manifest_release_name_ok("Demo"));
  cr_assert_not(molt__manifest_release_name_ok("de/mo"));
  cr_assert(molt__manifest_module_name_ok("counter_2"));
  cr_assert_not(molt__manifest_module_name_ok("counter-2"));
  cr_assert(molt__manifest_id_ok("Drivers-1_x"));
  cr_assert_not(molt__manifest_id_ok("drivers.0"));
}

Test(manifest_rules, versions) {
  cr_assert(molt__manifest_version_ok("1.0.0-rc.1+build.5"));
  cr_assert(molt__manifest_version_ok(".."));
  cr_assert_not(molt__manifest_version_ok(""));
  cr_assert_not(molt__manifest_version_ok("1/0"));
  cr_assert_not(molt__manifest_version_ok("1 0"));
  cr_assert_not(molt__manifest_version_ok("1\t0"));
  cr_assert_not(molt__manifest_version_ok(N63 "l"));
}

Test(manifest_rules, file_paths) {
  cr_assert_null(molt__manifest_file_problem("modules/counter-1.0.0.so"));
  cr_assert_null(molt__manifest_file_problem("a..b/..c/c.."));
  cr_assert_null(molt__manifest_file_problem(".hidden.so"));
  cr_assert_str_eq(molt__manifest_file_problem(""), "is empty");
  cr_assert_str_eq(molt__manifest_file_problem("/x.so"), "is absolute");
  cr_assert_str_eq(molt__manifest_file_problem(".."), "has a \"..\" component");
  cr_assert_str_eq(molt__manifest_file_problem("a/../b"), "has a \"..\" component");
  cr_assert_str_eq(molt__manifest_file_problem("a/."), "has a \".\" component");
  cr_assert_str_eq(molt__manifest_file_problem("a//b"), "has an empty component");
  cr_assert_str_eq(molt__manifest_file_problem("a\\b"), "contains a backslash");
  cr_assert_str_eq(molt__manifest_file_problem("a\nb"), "contains a control character");
}
