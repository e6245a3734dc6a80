/* release_store_test.c: the release states and the moves between them
 * (runtime/release_store.c) through a whole lifecycle, each one saved and
 * read back; rollback walking the history of permanent releases back,
 * never forward; a current release demoted on open; one store per home; a
 * failed save changing nothing. */
#include "store_util.h"

TestSuite(release_store, .init = su_setup, .fini = su_teardown, .timeout = 60);

static molt_store_t* s;

/* Three releases unpacked into a fresh home. */
static void three(void) { s = su_open_three(); }

static void reopen(void) { s = su_reopen(s); }

static const char* vsn_of(const molt_release_t* r) { return r ? r->vsn : "(none)"; }

static void ok(int rc, const char* err) { cr_assert_eq(rc, 0, "%s", err); }

Test(release_store, whole_lifecycle) {
  char err[512] = "";
  const char* states;

  three();
  su_assert_states(s, "1.0.0=unpacked/0 1.1.0=unpacked/0 2.0.0=unpacked/0");
  cr_assert_null(molt__store_running(s));
  cr_assert_null(molt__store_rollback_target(s));

  /* First boot of a bundle: molt run --release. */
  ok(molt__store_set_permanent(s, "1.0.0", err, sizeof err), err);
  states = "1.0.0=permanent/1 1.1.0=unpacked/0 2.0.0=unpacked/0";
  su_assert_states(s, states);
  cr_assert_str_eq(vsn_of(molt__store_running(s)), "1.0.0");
  cr_assert_null(molt__store_rollback_target(s));
  reopen();
  su_assert_states(s, states);

  /* Upgrade to 1.1.0: current until committed. */
  ok(molt__store_set_installed(s, "1.1.0", err, sizeof err), err);
  su_assert_states(s, "1.0.0=permanent/1 1.1.0=current/0 2.0.0=unpacked/0");
  cr_assert_str_eq(vsn_of(molt__store_running(s)), "1.1.0");
  cr_assert_str_eq(vsn_of(molt__store_permanent(s)), "1.0.0");
  cr_assert_str_eq(vsn_of(molt__store_rollback_target(s)), "1.0.0");

  ok(molt__store_commit(s, err, sizeof err), err);
  states = "1.0.0=old/1 1.1.0=permanent/2 2.0.0=unpacked/0";
  su_assert_states(s, states);
  cr_assert_str_eq(vsn_of(molt__store_rollback_target(s)), "1.0.0");
  cr_assert_eq(molt__store_commit(s, err, sizeof err), MOLT_EINVAL);
  cr_assert_str_eq(err, "nothing to commit: no release is current");
  reopen();
  su_assert_states(s, states);

  /* Install 2.0.0; roll back before committing: back to the permanent. */
  ok(molt__store_set_installed(s, "2.0.0", err, sizeof err), err);
  cr_assert_str_eq(vsn_of(molt__store_rollback_target(s)), "1.1.0");
  ok(molt__store_set_installed(s, "1.1.0", err, sizeof err), err);
  states = "1.0.0=old/1 1.1.0=permanent/2 2.0.0=unpacked/0";
  su_assert_states(s, states);
  cr_assert_str_eq(vsn_of(molt__store_running(s)), "1.1.0");
  reopen();
  su_assert_states(s, states);

  /* With nothing current, rollback goes to the release that was
   * permanent before; 1.1.0, rolled back from, is off the way back. */
  su_assert_history(s, "1.0.0 1.1.0");
  cr_assert_str_eq(vsn_of(molt__store_rollback_target(s)), "1.0.0");
  ok(molt__store_rollback(s, "1.0.0", err, sizeof err), err);
  states = "1.0.0=permanent/3 1.1.0=old/2 2.0.0=unpacked/0";
  su_assert_states(s, states);
  su_assert_history(s, "1.0.0");
  cr_assert_null(molt__store_rollback_target(s));
  reopen();
  su_assert_states(s, states);
  su_assert_history(s, "1.0.0");

  /* Straight to 2.0.0 and commit: rollback returns to 1.0.0. */
  ok(molt__store_set_installed(s, "2.0.0", err, sizeof err), err);
  ok(molt__store_commit(s, err, sizeof err), err);
  states = "1.0.0=old/3 1.1.0=old/2 2.0.0=permanent/4";
  su_assert_states(s, states);
  su_assert_history(s, "1.0.0 2.0.0");
  cr_assert_str_eq(vsn_of(molt__store_rollback_target(s)), "1.0.0");
  reopen();
  su_assert_states(s, states);

  /* An old release installed and then left goes back to old, not
   * unpacked: it was permanent once and stays a rollback target. */
  ok(molt__store_set_installed(s, "1.1.0", err, sizeof err), err);
  su_assert_states(s, "1.0.0=old/3 1.1.0=current/2 2.0.0=permanent/4");
  cr_assert_str_eq(vsn_of(molt__store_rollback_target(s)), "2.0.0");
  ok(molt__store_set_installed(s, "2.0.0", err, sizeof err), err);
  su_assert_states(s, states);
  molt__store_close(s);
}

/* 1.0.0 -> 1.1.0 (commit) -> 2.0.0 (commit), then two rollbacks: 1.1.0,
 * then 1.0.0, never forward to 2.0.0 again, across a reopen. */
Test(release_store, rollback_walks_the_history_back_never_forward) {
  char err[512] = "";

  three();
  ok(molt__store_set_permanent(s, "1.0.0", err, sizeof err), err);
  ok(molt__store_set_installed(s, "1.1.0", err, sizeof err), err);
  ok(molt__store_commit(s, err, sizeof err), err);
  ok(molt__store_set_installed(s, "2.0.0", err, sizeof err), err);
  ok(molt__store_commit(s, err, sizeof err), err);
  su_assert_history(s, "1.0.0 1.1.0 2.0.0");
  cr_assert_str_eq(vsn_of(molt__store_rollback_target(s)), "1.1.0");

  ok(molt__store_rollback(s, "1.1.0", err, sizeof err), err);
  su_assert_states(s, "1.0.0=old/1 1.1.0=permanent/4 2.0.0=old/3");
  su_assert_history(s, "1.0.0 1.1.0");
  cr_assert_str_eq(vsn_of(molt__store_rollback_target(s)), "1.0.0");
  reopen();
  su_assert_history(s, "1.0.0 1.1.0");
  cr_assert_str_eq(vsn_of(molt__store_rollback_target(s)), "1.0.0");

  ok(molt__store_rollback(s, "1.0.0", err, sizeof err), err);
  su_assert_states(s, "1.0.0=permanent/5 1.1.0=old/4 2.0.0=old/3");
  su_assert_history(s, "1.0.0");
  cr_assert_null(molt__store_rollback_target(s));
  cr_assert_eq(molt__store_rollback(s, "2.0.0", err, sizeof err), MOLT_EINVAL);
  cr_assert_str_eq(err, "rollback goes to no release, not 2.0.0");
  su_assert_states(s, "1.0.0=permanent/5 1.1.0=old/4 2.0.0=old/3");
  molt__store_close(s);
}

/* A release made permanent again moves to the end, so the history holds
 * each release once however often two take turns. */
Test(release_store, a_release_made_permanent_again_moves_to_the_end) {
  char err[512] = "";

  three();
  ok(molt__store_set_permanent(s, "1.0.0", err, sizeof err), err);
  for (int i = 0; i < 3; i++) {
    ok(molt__store_set_installed(s, "2.0.0", err, sizeof err), err);
    ok(molt__store_commit(s, err, sizeof err), err);
    ok(molt__store_set_installed(s, "1.0.0", err, sizeof err), err);
    ok(molt__store_commit(s, err, sizeof err), err);
  }
  su_assert_history(s, "2.0.0 1.0.0");
  cr_assert_str_eq(vsn_of(molt__store_rollback_target(s)), "2.0.0");
  molt__store_close(s);
}

/* With an upgrade not committed, rollback returns to the permanent
 * release and the history stays as it was; any other version is refused
 * with nothing changed. */
Test(release_store, rollback_of_an_uncommitted_upgrade_keeps_the_history) {
  char err[512] = "";

  three();
  ok(molt__store_set_permanent(s, "1.0.0", err, sizeof err), err);
  ok(molt__store_set_installed(s, "1.1.0", err, sizeof err), err);
  ok(molt__store_commit(s, err, sizeof err), err);
  ok(molt__store_set_installed(s, "2.0.0", err, sizeof err), err);
  cr_assert_str_eq(vsn_of(molt__store_rollback_target(s)), "1.1.0");
  cr_assert_eq(molt__store_rollback(s, "1.0.0", err, sizeof err), MOLT_EINVAL);
  cr_assert_str_eq(err, "rollback goes to 1.1.0, not 1.0.0");
  cr_assert_eq(molt__store_rollback(s, "9.9.9", err, sizeof err), MOLT_ENORELEASE);
  su_assert_states(s, "1.0.0=old/1 1.1.0=permanent/2 2.0.0=current/0");
  ok(molt__store_rollback(s, "1.1.0", err, sizeof err), err);
  su_assert_states(s, "1.0.0=old/1 1.1.0=permanent/2 2.0.0=unpacked/0");
  su_assert_history(s, "1.0.0 1.1.0");
  cr_assert_str_eq(vsn_of(molt__store_rollback_target(s)), "1.0.0");
  molt__store_close(s);
}

Test(release_store, set_permanent_when_already_permanent_changes_nothing) {
  char err[512] = "";

  three();
  ok(molt__store_set_permanent(s, "1.0.0", err, sizeof err), err);
  ok(molt__store_set_permanent(s, "1.0.0", err, sizeof err), err);
  su_assert_states(s, "1.0.0=permanent/1 1.1.0=unpacked/0 2.0.0=unpacked/0");
  /* ...but a current release is displaced: the container runs 1.0.0. */
  ok(molt__store_set_installed(s, "2.0.0", err, sizeof err), err);
  ok(molt__store_set_permanent(s, "1.0.0", err, sizeof err), err);
  su_assert_states(s, "1.0.0=permanent/1 1.1.0=unpacked/0 2.0.0=unpacked/0");
  /* Making another one permanent displaces the current one too. */
  ok(molt__store_set_installed(s, "1.1.0", err, sizeof err), err);
  ok(molt__store_set_permanent(s, "2.0.0", err, sizeof err), err);
  su_assert_states(s, "1.0.0=old/1 1.1.0=unpacked/0 2.0.0=permanent/2");
  molt__store_close(s);
}

Test(release_store, unknown_version) {
  char err[512] = "";

  three();
  cr_assert_eq(molt__store_set_installed(s, "9.9.9", err, sizeof err), MOLT_ENORELEASE);
  cr_assert_str_eq(err, "no release 9.9.9 in this home");
  cr_assert_eq(molt__store_set_permanent(s, "9.9.9", err, sizeof err), MOLT_ENORELEASE);
  cr_assert_null(molt__store_find(s, "9.9.9"));
  cr_assert_null(molt__store_find(s, NULL));
  cr_assert_str_eq(molt__store_find(s, "1.1.0")->vsn, "1.1.0");
  molt__store_close(s);
}

/* The container died during an uncommitted upgrade: boot must run the
 * permanent release, and the file must say so. */
Test(release_store, current_is_demoted_on_open) {
  char err[512] = "";

  three();
  ok(molt__store_set_permanent(s, "1.0.0", err, sizeof err), err);
  ok(molt__store_set_installed(s, "1.1.0", err, sizeof err), err);
  reopen();
  su_assert_states(s, "1.0.0=permanent/1 1.1.0=unpacked/0 2.0.0=unpacked/0");
  cr_assert_str_eq(vsn_of(molt__store_running(s)), "1.0.0");

  /* An old release left current goes back to old. */
  ok(molt__store_set_installed(s, "1.1.0", err, sizeof err), err);
  ok(molt__store_commit(s, err, sizeof err), err);
  ok(molt__store_set_installed(s, "1.0.0", err, sizeof err), err);
  su_assert_states(s, "1.0.0=current/1 1.1.0=permanent/2 2.0.0=unpacked/0");
  reopen();
  su_assert_states(s, "1.0.0=old/1 1.1.0=permanent/2 2.0.0=unpacked/0");
  molt__store_close(s);
}

/* A RELEASES.json.tmp that is a directory makes every save fail, even for
 * root: the store in memory and the file must both stay as they were. */
Test(release_store, failed_save_changes_nothing) {
  char *tmp = NULL, err[512] = "";
  const char* states = "1.0.0=permanent/1 1.1.0=unpacked/0 2.0.0=unpacked/0";

  three();
  ok(molt__store_set_permanent(s, "1.0.0", err, sizeof err), err);
  cr_assert_geq(asprintf(&tmp, "%s/releases/RELEASES.json.tmp", su_home), 0);
  cr_assert_eq(mkdir(tmp, 0700), 0);
  cr_assert_lt(molt__store_set_installed(s, "1.1.0", err, sizeof err), 0);
  cr_assert_not_null(strstr(err, "RELEASES.json.tmp"), "%s", err);
  su_assert_states(s, states);
  cr_assert_str_eq(vsn_of(molt__store_running(s)), "1.0.0");
  cr_assert_lt(molt__store_set_permanent(s, "2.0.0", err, sizeof err), 0);
  su_assert_states(s, states);
  cr_assert_eq(s->sequence, 1);
  cr_assert_eq(rmdir(tmp), 0);
  ok(molt__store_set_installed(s, "1.1.0", err, sizeof err), err);
  cr_assert_eq(mkdir(tmp, 0700), 0);
  cr_assert_lt(molt__store_commit(s, err, sizeof err), 0);
  su_assert_states(s, "1.0.0=permanent/1 1.1.0=current/0 2.0.0=unpacked/0");
  su_assert_history(s, "1.0.0");
  /* A rollback whose save fails leaves the history too. */
  cr_assert_eq(rmdir(tmp), 0);
  ok(molt__store_commit(s, err, sizeof err), err);
  cr_assert_eq(mkdir(tmp, 0700), 0);
  cr_assert_lt(molt__store_rollback(s, "1.0.0", err, sizeof err), 0);
  su_assert_states(s, "1.0.0=old/1 1.1.0=permanent/2 2.0.0=unpacked/0");
  su_assert_history(s, "1.0.0 1.1.0");
  cr_assert_str_eq(vsn_of(molt__store_rollback_target(s)), "1.0.0");
  molt__store_close(s);
  free(tmp);
}

Test(release_store, one_store_per_home) {
  molt_store_t* other = NULL;
  char err[512] = "";

  s = su_open();
  cr_assert_eq(molt__store_open(su_home, &other, err, sizeof err), MOLT_EBUSY);
  cr_assert_null(other);
  cr_assert_not_null(strstr(err, "another process has this home's releases open"), "%s", err);
  molt__store_close(s);
  s = su_open();
  molt__store_close(s);
}

Test(release_store, new_home_is_created_private_and_empty) {
  struct stat st;
  char* rel = NULL;

  s = su_open();
  cr_assert_eq(s->nreleases, 0);
  cr_assert_null(s->name);
  cr_assert_null(molt__store_running(s));
  cr_assert_eq(s->home[0], '/');
  cr_assert_geq(asprintf(&rel, "%s/releases", su_home), 0);
  cr_assert_eq(stat(rel, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0700);
  /* Nothing to save yet, so no file is written. */
  su_assert_ls("releases", ".lock");
  molt__store_close(s);
  free(rel);
}

Test(release_store, state_names) {
  cr_assert_str_eq(molt__rel_state_name(MOLT_REL_UNPACKED), "unpacked");
  cr_assert_str_eq(molt__rel_state_name(MOLT_REL_CURRENT), "current");
  cr_assert_str_eq(molt__rel_state_name(MOLT_REL_PERMANENT), "permanent");
  cr_assert_str_eq(molt__rel_state_name(MOLT_REL_OLD), "old");
  cr_assert_str_eq(molt__rel_state_name((molt_rel_state_t)9), "?");
}
