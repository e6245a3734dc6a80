/* release_remove_test.c: deleting a release from the store
 * (runtime/release/release_remove.c): an unpacked or old one leaves the
 * file, the history and the disk; the permanent and the running one are
 * refused; the file is saved before the bundle goes, and a failed save
 * changes nothing. */
#include "store_util.h"

TestSuite(release_remove, .init = su_setup, .fini = su_teardown, .timeout = 60);

static molt_store_t* s;

static void ok(int rc, const char* err) { cr_assert_eq(rc, 0, "%s", err); }

/* 1.0.0 permanent, 1.1.0 and 2.0.0 unpacked. */
static void booted_with_two_more(void) {
  char err[512] = "";

  s = su_open_three();
  ok(molt__store_set_permanent(s, "1.0.0", err, sizeof err), err);
}

static void reopen(void) { s = su_reopen(s); }

Test(release_remove, an_unpacked_release_leaves_the_file_and_the_disk) {
  char err[512] = "";
  const char* states = "1.0.0=permanent/1 1.1.0=unpacked/0";

  booted_with_two_more();
  ok(molt__store_remove(s, "2.0.0", err, sizeof err), err);
  su_assert_states(s, states);
  cr_assert_null(molt__store_find(s, "2.0.0"));
  su_assert_ls("releases", ".lock RELEASES.json demo-1.0.0 demo-1.1.0");
  reopen();
  su_assert_states(s, states);
  su_assert_history(s, "1.0.0");
  molt__store_close(s);
}

/* 1.0.0 -> 1.1.0 -> 2.0.0, each committed: rollback would go to 1.1.0.
 * Removed, it leaves the way back, which then goes to 1.0.0. */
Test(release_remove, an_old_release_leaves_the_history_and_rollback_skips_it) {
  char err[512] = "";

  booted_with_two_more();
  su_commit_to(s, "1.1.0");
  su_commit_to(s, "2.0.0");
  su_assert_history(s, "1.0.0 1.1.0 2.0.0");
  cr_assert_str_eq(molt__store_rollback_target(s)->vsn, "1.1.0");
  ok(molt__store_remove(s, "1.1.0", err, sizeof err), err);
  su_assert_states(s, "1.0.0=old/1 2.0.0=permanent/3");
  su_assert_history(s, "1.0.0 2.0.0");
  cr_assert_str_eq(molt__store_rollback_target(s)->vsn, "1.0.0");
  reopen();
  su_assert_history(s, "1.0.0 2.0.0");
  /* The last old release removed: nowhere left to roll back to. */
  ok(molt__store_remove(s, "1.0.0", err, sizeof err), err);
  su_assert_history(s, "2.0.0");
  cr_assert_null(molt__store_rollback_target(s));
  su_assert_ls("releases", ".lock RELEASES.json demo-2.0.0");
  molt__store_close(s);
}

Test(release_remove, the_permanent_and_the_running_release_are_refused) {
  char err[512] = "";
  const char* states = "1.0.0=permanent/1 1.1.0=current/0 2.0.0=unpacked/0";

  booted_with_two_more();
  ok(molt__store_set_installed(s, "1.1.0", err, sizeof err), err);
  cr_assert_eq(molt__store_remove(s, "1.0.0", err, sizeof err), MOLT_EBUSY);
  cr_assert_str_eq(err, "release 1.0.0 is permanent (what the container boots): not removed");
  cr_assert_eq(molt__store_remove(s, "1.1.0", err, sizeof err), MOLT_EBUSY);
  cr_assert_str_eq(err, "release 1.1.0 is running (current, not committed): not removed");
  cr_assert_eq(molt__store_remove(s, "9.9.9", err, sizeof err), MOLT_ENORELEASE);
  cr_assert_str_eq(err, "no release 9.9.9 in this home");
  su_assert_states(s, states);
  su_assert_ls("releases", ".lock RELEASES.json demo-1.0.0 demo-1.1.0 demo-2.0.0");
  molt__store_close(s);
}

/* A bad first boot leaves its release unpacked and nothing permanent:
 * removed, the home is as new, and a release of another name may come. */
Test(release_remove, the_last_release_removed_leaves_the_home_unnamed) {
  char *demo = su_bundle("1.0.0", "counter:1.0.0"), err[512] = "";
  char* other = su_bundle_named("other", "1.0.0", "counter:1.0.0", "");

  s = su_open();
  su_unpack(s, demo);
  cr_assert_str_eq(s->name, "demo");
  ok(molt__store_remove(s, "1.0.0", err, sizeof err), err);
  cr_assert_eq(s->nreleases, 0);
  cr_assert_null(s->name);
  reopen();
  cr_assert_null(s->name);
  su_assert_ls("releases", ".lock RELEASES.json");
  su_unpack(s, other);
  cr_assert_str_eq(s->name, "other");
  molt__store_close(s);
  free(demo);
  free(other);
}

/* A RELEASES.json.tmp that is a directory makes the save fail: the
 * release stays, in memory, in the file and on disk, in its place in the
 * history. */
Test(release_remove, a_failed_save_changes_nothing) {
  char *tmp = NULL, err[512] = "";

  booted_with_two_more();
  su_commit_to(s, "1.1.0");
  cr_assert_geq(asprintf(&tmp, "%s/releases/RELEASES.json.tmp", su_home), 0);
  cr_assert_eq(mkdir(tmp, 0700), 0);
  cr_assert_lt(molt__store_remove(s, "1.0.0", err, sizeof err), 0);
  cr_assert_not_null(strstr(err, "RELEASES.json.tmp"), "%s", err);
  cr_assert_lt(molt__store_remove(s, "2.0.0", err, sizeof err), 0);
  su_assert_states(s, "1.0.0=old/1 1.1.0=permanent/2 2.0.0=unpacked/0");
  su_assert_history(s, "1.0.0 1.1.0");
  cr_assert_str_eq(molt__store_rollback_target(s)->vsn, "1.0.0");
  cr_assert_str_eq(molt__store_find(s, "1.0.0")->vsn, "1.0.0");
  cr_assert_eq(rmdir(tmp), 0);
  su_assert_ls("releases", ".lock RELEASES.json demo-1.0.0 demo-1.1.0 demo-2.0.0");
  ok(molt__store_remove(s, "1.0.0", err, sizeof err), err);
  su_assert_states(s, "1.1.0=permanent/2 2.0.0=unpacked/0");
  molt__store_close(s);
  free(tmp);
}
