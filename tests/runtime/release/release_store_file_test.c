/* release_store_file_test.c: RELEASES.json read strictly (runtime/
 * release_file.c): every corrupt, truncated or inconsistent file refused
 * with a one-line message naming the file and field, never a crash; a
 * stale temporary file ignored. */
#include "store_util.h"

static char* file; /* <home>/releases/RELEASES.json */
static char* good; /* its text after the setup below */

/* 1.0.0 permanent and 1.1.0 unpacked, written by the store itself. */
static void setup(void) {
  char *b1, *b2, err[512] = "";
  molt_store_t* s;

  su_setup();
  b1 = su_bundle("1.0.0", "counter:1.0.0");
  b2 = su_bundle("1.1.0", "counter:1.1.0");
  s = su_open();
  su_unpack(s, b1);
  su_unpack(s, b2);
  cr_assert_eq(molt__store_set_permanent(s, "1.0.0", err, sizeof err), 0, "%s", err);
  molt__store_close(s);
  cr_assert_geq(asprintf(&file, "%s/releases/RELEASES.json", su_home), 0);
  good = tu_read_file(file, NULL);
  cr_assert_not_null(good);
  free(b1);
  free(b2);
}

static void teardown(void) {
  free(file);
  free(good);
  su_teardown();
}

TestSuite(release_file, .init = setup, .fini = teardown, .timeout = 60);

/* Open must fail with rc and a one-line message "<file>: <want>...". */
static void refused(int rc_want, const char* want) {
  molt_store_t* sentinel = (molt_store_t*)&sentinel;
  molt_store_t* s = sentinel;
  char err[1024] = "", *prefix = NULL;
  int rc = molt__store_open(su_home, &s, err, sizeof err);

  cr_assert_eq(rc, rc_want, "rc %d (%s)", rc, err);
  cr_assert_eq(s, sentinel, "*out was set on failure");
  cr_assert_null(strchr(err, '\n'), "not one line: %s", err);
  cr_assert_geq(asprintf(&prefix, "%s: %s", file, want), 0);
  cr_assert_eq(strncmp(err, prefix, strlen(prefix)), 0, "message \"%s\" does not start \"%s\"", err,
               prefix);
  free(prefix);
}

/* The good file with the one occurrence of from replaced by to. */
static void edit(const char* from, const char* to) {
  char* at = strstr(good, from);
  char* text = NULL;

  cr_assert_not_null(at, "%s not in:\n%s", from, good);
  cr_assert_null(strstr(at + 1, from), "%s is not unique", from);
  cr_assert_geq(asprintf(&text, "%.*s%s%s", (int)(at - good), good, to, at + strlen(from)), 0);
  su_put(file, text);
  free(text);
}

static void corrupt(const char* from, const char* to, const char* want) {
  edit(from, to);
  refused(MOLT_EMANIFEST, want);
}

Test(release_file, good_file_opens) {
  molt_store_t* s = su_open();

  su_assert_states(s, "1.0.0=permanent/1 1.1.0=unpacked/0");
  su_assert_history(s, "1.0.0");
  cr_assert_eq(s->sequence, 1);
  molt__store_close(s);
}

/* Rollback trusts the history: every entry a release that has been
 * permanent, once, the permanent one last. */
Test(release_file, inconsistent_history) {
  corrupt("[\"1.0.0\"]", "[\"1.0.0\", \"1.0.0\"]",
          "history[1]: duplicate version \"1.0.0\" (also history[0])");
  corrupt("[\"1.0.0\"]", "[\"1.1.0\", \"1.0.0\"]",
          "history[0]: release \"1.1.0\" has not been permanent (unpacked, permanent_seq 0)");
  corrupt("[\"1.0.0\"]", "[\"9.9.9\", \"1.0.0\"]", "history[0]: \"9.9.9\" is not one of the releases");
  corrupt("[\"1.0.0\"]", "[1]", "history[0]: expected a string, found 1");
  corrupt("[\"1.0.0\"]", "[]", "history: ends with nothing, not with the permanent release 1.0.0");
  corrupt("[\"1.0.0\"]", "{}", "history: expected an array, found an object");
  corrupt("\"state\":\t\"permanent\"", "\"state\":\t\"old\"",
          "history: lists 1 release, but none is permanent");
}

/* A file written before the history was kept: the order is read from
 * permanent_seq, not from the versions, the permanent release last, and
 * the next save writes it. */
Test(release_file, a_file_without_history_reads_the_order_from_permanent_seq) {
  char *b3 = su_bundle("2.0.0", "counter:2.0.0"), err[512] = "";
  molt_store_t* s = su_open();

  su_unpack(s, b3);
  molt__store_close(s);
  free(b3);
  su_put(file, "{\"format\": 1, \"name\": \"demo\", \"sequence\": 4, \"releases\": ["
               "{\"version\": \"1.0.0\", \"dir\": \"releases/demo-1.0.0\", \"state\": \"old\", "
               "\"permanent_seq\": 3}, "
               "{\"version\": \"1.1.0\", \"dir\": \"releases/demo-1.1.0\", \"state\": \"permanent\", "
               "\"permanent_seq\": 4}, "
               "{\"version\": \"2.0.0\", \"dir\": \"releases/demo-2.0.0\", \"state\": \"old\", "
               "\"permanent_seq\": 2}]}");
  s = su_open();
  cr_assert_eq(s->nhistory, 3);
  cr_assert_str_eq(s->history[0]->vsn, "2.0.0");
  cr_assert_str_eq(s->history[1]->vsn, "1.0.0");
  cr_assert_str_eq(s->history[2]->vsn, "1.1.0");
  cr_assert_str_eq(molt__store_rollback_target(s)->vsn, "1.0.0");
  cr_assert_eq(molt__store_rollback(s, "1.0.0", err, sizeof err), 0, "%s", err);
  su_assert_history(s, "2.0.0 1.0.0");
  char* text = tu_read_file(file, NULL);
  cr_assert_not_null(strstr(text, "\"history\":\t[\"2.0.0\", \"1.0.0\"]"), "%s", text);
  free(text);
  molt__store_close(s);
}

Test(release_file, truncated_or_garbage) {
  size_t n = strlen(good);

  cr_assert_eq(tu_write_file(file, good, n / 2), 0);
  refused(MOLT_EMANIFEST, "malformed JSON at byte");
  cr_assert_eq(tu_write_file(file, good, n - 3), 0);
  refused(MOLT_EMANIFEST, "malformed JSON at byte");
  cr_assert_eq(tu_write_file(file, "", 0), 0);
  refused(MOLT_EMANIFEST, "malformed JSON at byte 0 of 0");
  su_put(file,
         "\x7f"
         "ELF\x02\x01\x01");
  refused(MOLT_EMANIFEST, "malformed JSON");
  su_put(file, "{} {}");
  refused(MOLT_EMANIFEST, "malformed JSON at byte 3 of 5");
  su_put(file, "[]");
  refused(MOLT_EMANIFEST, "top level: expected an object, found an array");
}

Test(release_file, nul_bytes) {
  char* text = strdup(good);

  /* Between tokens: cJSON stops there, short of the length. */
  *strchr(text, ',') = '\0';
  cr_assert_eq(tu_write_file(file, text, strlen(good)), 0);
  refused(MOLT_EMANIFEST, "malformed JSON at byte");
  /* Inside a key: cJSON would read it as "", refused before that. */
  strcpy(text, good);
  *strstr(text, "permanent_seq") = '\0';
  cr_assert_eq(tu_write_file(file, text, strlen(good)), 0);
  refused(MOLT_EMANIFEST, "releases[0]: key contains a NUL character (at byte offset");
  free(text);
}

/* A "\u0000" would cut a version or directory short: the release read
 * back would not be the one written. */
Test(release_file, escaped_nul_in_a_string) {
  corrupt("\"releases/demo-1.1.0\"", "\"releases/demo-1.1.0\\u0000/../../x\"",
          "releases[1].dir: string contains a NUL character (at byte offset");
  corrupt("\"version\":\t\"1.0.0\"", "\"version\":\t\"1.0.0\\u0000\"",
          "releases[0].version: string contains a NUL character");
}

Test(release_file, unknown_missing_and_duplicate_keys) {
  corrupt("\"sequence\"", "\"seq\"", "top level: unknown key \"seq\"");
  corrupt("\"dir\":\t\"releases/demo-1.0.0\"", "\"path\":\t\"releases/demo-1.0.0\"",
          "releases[0]: unknown key \"path\"");
  corrupt("\"format\":\t1,", "", "format: required field missing");
  corrupt("\"format\":\t1,", "\"format\":\t1, \"format\": 1,",
          "top level: duplicate key \"format\"");
  corrupt("\"state\":\t\"unpacked\"", "\"state\":\t\"unpacked\", \"state\": \"old\"",
          "releases[1]: duplicate key \"state\"");
  corrupt("\"dir\":\t\"releases/demo-1.1.0\",", "", "releases[1].dir: required field missing");
  corrupt("\"name\":\t\"demo\",", "", "name: required with releases");
}

Test(release_file, wrong_types_and_values) {
  corrupt("\"sequence\":\t1", "\"sequence\":\t\"1\"", "sequence: expected a number, found \"1\"");
  corrupt("\"sequence\":\t1", "\"sequence\":\t-1", "sequence: expected an integer from 0");
  su_put(file, "{\"format\": 1, \"sequence\": 0, \"releases\": {}}");
  refused(MOLT_EMANIFEST, "releases: expected an array, found an object");
  corrupt("\"format\":\t1", "\"format\":\t2", "format: this molt reads format 1, found 2");
  corrupt("\"state\":\t\"unpacked\"", "\"state\":\t\"installed\"",
          "releases[1].state: expected one of unpacked, current, permanent, old, found "
          "\"installed\"");
  corrupt("\"version\":\t\"1.1.0\"", "\"version\":\t\"1.1 0\"",
          "releases[1].version: expected a version");
  corrupt("\"name\":\t\"demo\"", "\"name\":\t\"De mo\"", "name: expected a release name");
}

Test(release_file, inconsistent_states) {
  corrupt("\"state\":\t\"unpacked\",\n\t\t\t\"permanent_seq\":\t0",
          "\"state\":\t\"permanent\",\n\t\t\t\"permanent_seq\":\t1",
          "releases[1].state: a second permanent release (also releases[0])");
  corrupt("\"permanent_seq\":\t1", "\"permanent_seq\":\t0",
          "releases[0].permanent_seq: a permanent release has been permanent; expected 1 or more");
  corrupt("\"permanent_seq\":\t1", "\"permanent_seq\":\t7",
          "releases[0].permanent_seq: 7 is beyond the sequence, 1");
  corrupt("\"version\":\t\"1.1.0\"", "\"version\":\t\"1.0.0\"",
          "releases[1].version: duplicate version \"1.0.0\" (also releases[0])");
}

/* The store removes what dir names; it must stay inside the home. */
Test(release_file, dir_outside_the_home) {
  corrupt("\"releases/demo-1.1.0\"", "\"../../etc\"",
          "releases[1].dir: path \"../../etc\" has a \"..\" component");
  corrupt("\"releases/demo-1.1.0\"", "\"/etc\"", "releases[1].dir: path \"/etc\" is absolute");
}

Test(release_file, bundle_missing_or_swapped) {
  char *dir = NULL, *a = NULL, *b = NULL, err[1024] = "";
  molt_store_t* s = NULL;

  cr_assert_geq(asprintf(&dir, "%s/releases/demo-1.1.0", su_home), 0);
  cr_assert_geq(asprintf(&a, "%s/releases/demo-1.0.0/release.json", su_home), 0);
  cr_assert_geq(asprintf(&b, "%s/release.json", dir), 0);
  cr_assert_eq(tu_copy_file(a, b), 0);
  cr_assert_eq(molt__store_open(su_home, &s, err, sizeof err), MOLT_EMANIFEST);
  cr_assert_not_null(strstr(err, "/demo-1.1.0/release.json: is release demo-1.0.0, not demo-1.1.0"),
                     "%s", err);
  tu_rmrf(dir);
  cr_assert_eq(molt__store_open(su_home, &s, err, sizeof err), MOLT_ENOENT);
  cr_assert_not_null(strstr(err, "/demo-1.1.0/release.json: no such file or directory"), "%s", err);
  cr_assert_null(s);
  free(dir);
  free(a);
  free(b);
}

Test(release_file, too_large_or_not_a_file) {
  size_t n = (1u << 20) + 10;
  char* big = malloc(n);

  memset(big, ' ', n);
  cr_assert_eq(tu_write_file(file, big, n), 0);
  refused(MOLT_EMANIFEST, "larger than 1 MiB");
  cr_assert_eq(unlink(file), 0);
  cr_assert_eq(mkdir(file, 0700), 0);
  refused(MOLT_EMANIFEST, "not a regular file");
  free(big);
}

/* A crash between writing RELEASES.json.tmp and renaming it leaves the
 * old file whole and a stale tmp, which open ignores and the next save
 * replaces. */
Test(release_file, stale_tmp_is_ignored) {
  char *tmp = NULL, err[512] = "";
  molt_store_t* s;

  cr_assert_geq(asprintf(&tmp, "%s.tmp", file), 0);
  su_put(tmp, "{\"format\": 1, \"name\": \"demo\", \"seq");
  s = su_open();
  su_assert_states(s, "1.0.0=permanent/1 1.1.0=unpacked/0");
  cr_assert_eq(molt__store_set_installed(s, "1.1.0", err, sizeof err), 0, "%s", err);
  cr_assert_not(su_exists(tmp), "the save left %s", tmp);
  su_assert_states(s, "1.0.0=permanent/1 1.1.0=current/0");
  molt__store_close(s);
  free(tmp);
}

/* The file is replaced whole, never rewritten in place: a reader holding
 * the old one keeps reading the old one. */
Test(release_file, save_replaces_the_file_whole) {
  struct stat before, after;
  char err[512] = "", *old_text;
  FILE* held = fopen(file, "r");
  molt_store_t* s = su_open();

  cr_assert_not_null(held);
  cr_assert_eq(stat(file, &before), 0);
  cr_assert_eq(molt__store_set_installed(s, "1.1.0", err, sizeof err), 0, "%s", err);
  cr_assert_eq(stat(file, &after), 0);
  cr_assert_neq(before.st_ino, after.st_ino);
  cr_assert_eq(after.st_mode & 0777, 0600);
  old_text = calloc(1, strlen(good) + 16);
  cr_assert_eq(fread(old_text, 1, strlen(good) + 15, held), strlen(good));
  cr_assert_str_eq(old_text, good);
  fclose(held);
  free(old_text);
  molt__store_close(s);
}
