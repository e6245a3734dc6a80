/* release_store_unpack_test.c: taking bundles into a home's release store
 * (runtime/release_unpack.c): the layout and digests of the copy,
 * relocation, the idempotent repeat, and every refusal leaving nothing
 * behind. */
#include "store_util.h"
#include "sha256.h"

TestSuite(unpack, .init = su_setup, .fini = su_teardown, .timeout = 60);

static void refuse(molt_store_t* s, const char* bundle, int want_rc, const char* want_msg) {
  molt_release_t* sentinel = (molt_release_t*)&sentinel;
  molt_release_t* r = sentinel;
  char err[1024] = "";
  int rc = molt__store_unpack(s, bundle, &r, err, sizeof err);

  cr_assert_eq(rc, want_rc, "rc %d (%s), expected %d", rc, err, want_rc);
  cr_assert_not_null(strstr(err, want_msg), "message \"%s\" lacks \"%s\"", err, want_msg);
  cr_assert_null(strchr(err, '\n'), "not one line: %s", err);
  cr_assert_eq(r, sentinel, "*out was set on failure");
}

Test(unpack, layout_and_checksums) {
  char* b = su_bundle("1.0.0", "counter:1.0.0 driver:1.0.0");
  char *copy = NULL, *mod = NULL, *orig = NULL, err[1024] = "";
  char *stored, *given;
  molt_store_t* s = su_open();
  molt_release_t* r = su_unpack(s, b);

  cr_assert_str_eq(r->vsn, "1.0.0");
  cr_assert_str_eq(r->dir, "releases/demo-1.0.0");
  cr_assert_eq(r->state, MOLT_REL_UNPACKED);
  cr_assert_eq(r->permanent_seq, 0);
  cr_assert_str_eq(s->name, "demo");
  cr_assert_eq(s->nreleases, 1);
  cr_assert_eq(molt__store_find(s, "1.0.0"), r);
  su_assert_ls("releases", ".lock RELEASES.json demo-1.0.0");
  su_assert_ls("releases/demo-1.0.0", "modules release.json");
  su_assert_ls("releases/demo-1.0.0/modules", "counter-1.0.0.so driver-1.0.0.so");
  su_assert_states(s, "1.0.0=unpacked/0");

  /* The path is absolute and the copy checks against its own manifest. */
  cr_assert_eq(r->path[0], '/');
  cr_assert_not_null(strstr(r->path, "/home/releases/demo-1.0.0"), "%s", r->path);
  cr_assert_eq(molt__manifest_verify_files(r->manifest, r->path, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(r->manifest->modules[1].name, "driver");
  cr_assert_geq(asprintf(&mod, "%s/modules/driver-1.0.0.so", r->path), 0);
  size_t len = 0, want_len = 0;
  stored = tu_read_file(mod, &len);
  given = tu_read_file(SU_IDENT("driver", "1.0.0"), &want_len);
  cr_assert(stored && given && len == want_len && memcmp(stored, given, len) == 0, "the copy differs");
  free(stored);
  free(given);

  /* A bundler-made manifest is already in printed form: stored as is. */
  cr_assert_geq(asprintf(&copy, "%s/release.json", r->path), 0);
  cr_assert_geq(asprintf(&orig, "%s/release.json", b), 0);
  stored = tu_read_file(copy, NULL);
  given = tu_read_file(orig, NULL);
  cr_assert_str_eq(stored, given);
  molt__store_close(s);
  free(stored);
  free(given);
  free(copy);
  free(orig);
  free(mod);
  free(b);
}

Test(unpack, home_is_relocatable) {
  char* b = su_bundle("1.0.0", "counter:1.0.0");
  char *moved = su_path("moved-home"), err[1024] = "";
  molt_store_t* s = su_open();
  molt_release_t* r;

  su_unpack(s, b);
  molt__store_close(s);
  cr_assert_eq(rename(su_home, moved), 0);
  free(su_home);
  su_home = moved;
  s = su_open();
  r = molt__store_find(s, "1.0.0");
  cr_assert_not_null(r);
  cr_assert_not_null(strstr(r->path, "/moved-home/releases/demo-1.0.0"), "%s", r->path);
  cr_assert_eq(molt__manifest_verify_files(r->manifest, r->path, err, sizeof err), 0, "%s", err);
  molt__store_close(s);
  free(b);
}

Test(unpack, same_content_again_changes_nothing) {
  char* b = su_bundle("1.0.0", "counter:1.0.0");
  char *file = NULL, *before, *after;
  molt_store_t* s = su_open();
  molt_release_t* r = su_unpack(s, b);

  cr_assert_geq(asprintf(&file, "%s/releases/RELEASES.json", su_home), 0);
  before = tu_read_file(file, NULL);
  cr_assert_eq(su_unpack(s, b), r);
  /* The store's own copy is the same content too. */
  cr_assert_eq(su_unpack(s, r->path), r);
  cr_assert_eq(s->nreleases, 1);
  after = tu_read_file(file, NULL);
  cr_assert_str_eq(before, after);
  su_assert_ls("releases", ".lock RELEASES.json demo-1.0.0");
  molt__store_close(s);
  free(before);
  free(after);
  free(file);
  free(b);
}

Test(unpack, same_version_other_content_is_refused) {
  char* b = su_bundle("1.0.0", "counter:1.0.0");
  molt_store_t* s = su_open();
  molt_release_t* r = su_unpack(s, b);
  char *again, err[1024] = "";

  tu_rmrf(b);
  again = su_bundle("1.0.0", "counter:1.0.1");
  refuse(s, again, MOLT_EEXIST, "release demo-1.0.0 is already unpacked, with different content");
  cr_assert_eq(s->nreleases, 1);
  cr_assert_str_eq(r->manifest->modules[0].vsn, "1.0.0");
  cr_assert_eq(molt__manifest_verify_files(r->manifest, r->path, err, sizeof err), 0, "%s", err);
  su_assert_ls("releases", ".lock RELEASES.json demo-1.0.0");
  molt__store_close(s);
  free(again);
  free(b);
}

Test(unpack, release_of_another_name_is_refused) {
  char *b = su_bundle("1.0.0", "counter:1.0.0"), *other;
  molt_store_t* s = su_open();

  other = su_bundle_named("other", "2.0.0", "counter:2.0.0", "");
  su_unpack(s, b);
  refuse(s, other, MOLT_EINVAL, ": release other, but this home runs release demo");
  su_assert_ls("releases", ".lock RELEASES.json demo-1.0.0");
  su_assert_states(s, "1.0.0=unpacked/0");
  molt__store_close(s);
  free(other);
  free(b);
}

static void assert_empty(molt_store_t* s) {
  cr_assert_eq(s->nreleases, 0);
  cr_assert_null(s->name);
  su_assert_ls("releases", ".lock");
}

Test(unpack, bad_digest_leaves_nothing) {
  char *b = su_bundle("1.0.0", "counter:1.0.0 driver:1.0.0"), *mod = NULL;
  molt_store_t* s = su_open();

  cr_assert_geq(asprintf(&mod, "%s/modules/driver-1.0.0.so", b), 0);
  su_put(mod, "tampered\n");
  refuse(s, b, MOLT_ECHECKSUM, "modules/driver-1.0.0.so: sha256 expected ");
  assert_empty(s);
  /* The message says which bundle. */
  refuse(s, b, MOLT_ECHECKSUM, b);
  molt__store_close(s);
  free(mod);
  free(b);
}

Test(unpack, missing_module_or_manifest_leaves_nothing) {
  char *b = su_bundle("1.0.0", "counter:1.0.0 driver:1.0.0"), *mod = NULL, *man = NULL;
  molt_store_t* s = su_open();

  cr_assert_geq(asprintf(&mod, "%s/modules/counter-1.0.0.so", b), 0);
  cr_assert_geq(asprintf(&man, "%s/release.json", b), 0);
  cr_assert_eq(unlink(mod), 0);
  refuse(s, b, MOLT_ENOENT, "modules/counter-1.0.0.so: no such file or directory");
  assert_empty(s);
  su_put(man, "{\"name\": \"demo\", \"version\": \"1.0.0\", \"modules\": [], \"x\": 1}");
  refuse(s, b, MOLT_EMANIFEST, "release.json: top level: unknown key \"x\"");
  cr_assert_eq(unlink(man), 0);
  refuse(s, b, MOLT_ENOENT, "release.json: no such file or directory");
  refuse(s, "/nonexistent/bundle", MOLT_ENOENT, "/nonexistent/bundle/release.json");
  assert_empty(s);
  molt__store_close(s);
  free(mod);
  free(man);
  free(b);
}

/* A source manifest (no digests) is not a bundle. */
Test(unpack, source_manifest_is_refused) {
  char *dir = su_path("src-bundle"), *man = NULL;
  molt_store_t* s = su_open();

  cr_assert_eq(mkdir(dir, 0755), 0);
  cr_assert_geq(asprintf(&man, "%s/release.json", dir), 0);
  su_put(man,
         "{\"name\": \"demo\", \"version\": \"1\", \"modules\": ["
         "{\"name\": \"m\", \"vsn\": \"1\", \"file\": \"m.so\"}]}");
  refuse(s, dir, MOLT_EMANIFEST, "modules[0].sha256: required field missing");
  assert_empty(s);
  molt__store_close(s);
  free(man);
  free(dir);
}

Test(unpack, failed_save_leaves_nothing) {
  char *b = su_bundle("1.0.0", "counter:1.0.0"), *tmp = NULL;
  molt_store_t* s = su_open();

  cr_assert_geq(asprintf(&tmp, "%s/releases/RELEASES.json.tmp", su_home), 0);
  cr_assert_eq(mkdir(tmp, 0700), 0);
  refuse(s, b, -EISDIR, "RELEASES.json.tmp");
  cr_assert_eq(s->nreleases, 0);
  cr_assert_null(s->name);
  su_assert_ls("releases", ".lock RELEASES.json.tmp");
  cr_assert_eq(rmdir(tmp), 0);
  su_unpack(s, b);
  su_assert_states(s, "1.0.0=unpacked/0");
  molt__store_close(s);
  free(tmp);
  free(b);
}

/* Killed mid-unpack: before the rename a *.tmp.* directory is left, which
 * open removes; after the rename and before the save, a directory the
 * file does not list, which the next unpack of that version replaces. */
Test(unpack, leftovers_of_a_killed_unpack) {
  char *b = su_bundle("1.0.0", "counter:1.0.0"), *dir = NULL, *junk = NULL;
  molt_store_t* s = su_open();

  molt__store_close(s);
  cr_assert_geq(asprintf(&dir, "%s/releases/demo-1.0.0.tmp.4242.0", su_home), 0);
  cr_assert_eq(mkdir(dir, 0700), 0);
  cr_assert_geq(asprintf(&junk, "%s/half.so", dir), 0);
  su_put(junk, "half a module");
  s = su_open();
  su_assert_ls("releases", ".lock");

  free(dir);
  free(junk);
  cr_assert_geq(asprintf(&dir, "%s/releases/demo-1.0.0", su_home), 0);
  cr_assert_eq(mkdir(dir, 0700), 0);
  cr_assert_geq(asprintf(&junk, "%s/junk", dir), 0);
  su_put(junk, "not listed, so not a release");
  su_unpack(s, b);
  su_assert_ls("releases/demo-1.0.0", "modules release.json");
  molt__store_close(s);
  free(dir);
  free(junk);
  free(b);
}

/* Written by hand: a module in a nested directory, its digest computed
 * with molt__sha256_file, and the manifest in a spelling of its own. */
Test(unpack, hand_made_bundle_with_nested_paths) {
  char *dir = su_path("hand"), *sub = su_path("hand/lib"), *sub2 = su_path("hand/lib/x");
  char *mod = su_path("hand/lib/x/m.so"), *man = su_path("hand/release.json"), *text = NULL;
  char hex[65], *stored = NULL;
  uint8_t digest[32];
  molt_store_t* s = su_open();
  molt_release_t* r;

  cr_assert_eq(mkdir(dir, 0755), 0);
  cr_assert_eq(mkdir(sub, 0755), 0);
  cr_assert_eq(mkdir(sub2, 0755), 0);
  cr_assert_eq(tu_copy_file(SU_IDENT("m", "3"), mod), 0);
  cr_assert_eq(molt__sha256_file(mod, digest), 0);
  molt__sha256_hex(digest, hex);
  cr_assert_geq(
      asprintf(&text,
               "{\"version\":\"3\",\"name\":\"demo\",\"modules\":[{\"name\":\"m\","
               "\"vsn\":\"3\",\"file\":\"lib/x/m.so\",\"sha256\":\"%s\"}],"
               "\"upgrade\":[{\"from\":\"2\",\"steps\":[{\"op\":\"add\",\"module\":\"m\"}]}]}",
               hex),
      0);
  su_put(man, text);
  r = su_unpack(s, dir);
  su_assert_ls("releases/demo-3/lib/x", "m.so");
  cr_assert_eq(r->manifest->nupgrade, 1);
  cr_assert_eq(r->manifest->upgrade[0].steps[0].op, MOLT_STEP_ADD);
  /* Stored in the printed form, which still parses to the same thing. */
  free(text);
  cr_assert_geq(asprintf(&text, "%s/release.json", r->path), 0);
  stored = tu_read_file(text, NULL);
  cr_assert_not_null(strstr(stored, "\"name\":\t\"demo\",\n\t\"version\""), "%s", stored);
  molt__store_close(s);
  free(stored);
  free(text);
  free(man);
  free(mod);
  free(sub2);
  free(sub);
  free(dir);
}

Test(unpack, out_may_be_null) {
  char* b = su_bundle("1.0.0", "counter:1.0.0");
  char err[512] = "";
  molt_store_t* s = su_open();

  cr_assert_eq(molt__store_unpack(s, b, NULL, err, sizeof err), 0, "%s", err);
  cr_assert_eq(molt__store_unpack(s, b, NULL, NULL, 0), 0);
  cr_assert_eq(s->nreleases, 1);
  molt__store_close(s);
  free(b);
}

Test(unpack, keeps_version_order) {
  char *a = su_bundle("1.10.0", "counter:3"), *b = su_bundle("1.9.0", "counter:2");
  char* c = su_bundle("1.0.0", "counter:1");
  molt_store_t* s = su_open();

  su_unpack(s, a);
  su_unpack(s, c);
  su_unpack(s, b);
  su_assert_states(s, "1.0.0=unpacked/0 1.9.0=unpacked/0 1.10.0=unpacked/0");
  molt__store_close(s);
  s = su_open();
  su_assert_states(s, "1.0.0=unpacked/0 1.9.0=unpacked/0 1.10.0=unpacked/0");
  molt__store_close(s);
  free(a);
  free(b);
  free(c);
}

/* A bundle written by hand: modules/counter-1.0.0.so (ident) as
 * modules[0], and fixture copied to modules/<file> for modules[1], whose
 * entry is entry with its "%s" the file's digest. Returns its path. */
static char* hand_bundle(const char* tag, const char* fixture, const char* file, const char* entry) {
  char *dir = su_path("%s", tag), *mods = su_path("%s/modules", tag), *man = su_path("%s/release.json", tag);
  char *first = su_path("%s/modules/counter-1.0.0.so", tag), *second = su_path("%s/modules/%s", tag, file);
  char hex0[65], hex1[65], *e = NULL, *text = NULL;
  uint8_t digest[32];

  cr_assert_eq(mkdir(dir, 0755), 0);
  cr_assert_eq(mkdir(mods, 0755), 0);
  cr_assert_eq(tu_copy_file(SU_IDENT("counter", "1.0.0"), first), 0);
  cr_assert_eq(tu_copy_file(fixture, second), 0);
  cr_assert_eq(molt__sha256_file(first, digest), 0);
  molt__sha256_hex(digest, hex0);
  cr_assert_eq(molt__sha256_file(second, digest), 0);
  molt__sha256_hex(digest, hex1);
  cr_assert_geq(asprintf(&e, entry, hex1), 0);
  cr_assert_geq(asprintf(&text,
                         "{\"name\": \"demo\", \"version\": \"1.0.0\", \"modules\": ["
                         "{\"name\": \"counter\", \"vsn\": \"1.0.0\", \"file\": \"modules/counter-1.0.0.so\", "
                         "\"sha256\": \"%s\"}, %s]}",
                         hex0, e),
                0);
  su_put(man, text);
  free(text);
  free(e);
  free(second);
  free(first);
  free(man);
  free(mods);
  return dir;
}

/* The message exactly: the bundle, the JSON path, both values. */
static void refuse_exactly(molt_store_t* s, const char* bundle, int want_rc, const char* what) {
  char want[4096];
  snprintf(want, sizeof want, "%s: %s", bundle, what);
  refuse(s, bundle, want_rc, want);
  assert_empty(s);
}

/* Before, a "vsn": "1.0.0" entry pointing at a 2.0.0 file was taken in,
 * and the upgrade that loaded it failed as "state_vsn of blob 1.0.0:
 * invalid release manifest". */
Test(unpack, a_module_that_is_not_what_its_entry_says_is_refused_with_path_and_both_values) {
  molt_store_t* s = su_open();
  char* b = hand_bundle("vsn", MOLT_FIXTURE_DIR "/blob-2.0.0.so", "blob-2.0.0.so",
                        "{\"name\": \"blob\", \"vsn\": \"1.0.0\", \"file\": \"modules/blob-2.0.0.so\", "
                        "\"sha256\": \"%s\"}");
  refuse_exactly(s, b, MOLT_EMANIFEST,
                 "modules[1].vsn: the manifest says \"1.0.0\", modules/blob-2.0.0.so says \"2.0.0\"");
  free(b);
  b = hand_bundle("layout", MOLT_FIXTURE_DIR "/blob-2.0.0.so", "blob-2.0.0.so",
                  "{\"name\": \"blob\", \"vsn\": \"2.0.0\", \"state_vsn\": 1, \"file\": \"modules/blob-2.0.0.so\", "
                  "\"sha256\": \"%s\"}");
  refuse_exactly(s, b, MOLT_EMANIFEST, "modules[1].state_vsn: the manifest says 1, modules/blob-2.0.0.so says 2");
  free(b);
  b = hand_bundle("name", MOLT_FIXTURE_DIR "/blob-2.0.0.so", "blob-2.0.0.so",
                  "{\"name\": \"stats\", \"vsn\": \"2.0.0\", \"file\": \"modules/blob-2.0.0.so\", \"sha256\": \"%s\"}");
  refuse_exactly(s, b, MOLT_EMANIFEST,
                 "modules[1].name: the manifest says \"stats\", modules/blob-2.0.0.so says \"blob\"");
  free(b);
  /* Not a module at all: the loader's own refusal, under the entry's path. */
  b = hand_bundle("text", MOLT_FIXTURE_DIR "/not_elf.so", "stats.so",
                  "{\"name\": \"stats\", \"vsn\": \"1.0.0\", \"file\": \"modules/stats.so\", \"sha256\": \"%s\"}");
  refuse(s, b, MOLT_ENOTELF, "modules[1].file: ");
  refuse(s, b, MOLT_ENOTELF, "/modules/stats.so: EI_MAG: expected 7f 45 4c 46");
  assert_empty(s);
  free(b);
  molt__store_close(s);
}

/* A bundle made before manifests carried state_vsn is taken in with its
 * modules' layouts, read from their files. */
Test(unpack, a_bundle_without_state_vsn_is_given_its_modules_layouts) {
  molt_store_t* s = su_open();
  char* b = hand_bundle("old", MOLT_FIXTURE_DIR "/blob-2.0.0.so", "blob-2.0.0.so",
                        "{\"name\": \"blob\", \"vsn\": \"2.0.0\", \"file\": \"modules/blob-2.0.0.so\", "
                        "\"sha256\": \"%s\"}");
  molt_release_t* r = su_unpack(s, b);
  cr_assert(r->manifest->modules[0].has_state_vsn && r->manifest->modules[1].has_state_vsn);
  cr_expect_eq(r->manifest->modules[0].state_vsn, 1);
  cr_expect_eq(r->manifest->modules[1].state_vsn, 2);
  molt__store_close(s);
  s = su_open();
  r = molt__store_find(s, "1.0.0");
  cr_assert_not_null(r);
  cr_expect(r->manifest->modules[1].has_state_vsn && r->manifest->modules[1].state_vsn == 2,
            "the stored manifest lacks the layout");
  /* The same bundle again is the same content. */
  cr_expect_eq(su_unpack(s, b), r);
  molt__store_close(s);
  free(b);
}
