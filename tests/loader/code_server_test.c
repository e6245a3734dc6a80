/* code_server_test.c: the current and old slots: loading, revisions,
 * refusals that change nothing, soft and hard purge, unload and delete. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>

#include "code_server.h"
#include "loader_util.h"

#define V1 FIXTURE("good-1.0.0.so")
#define V2 FIXTURE("good-2.0.0.so")

static char* home;
static char* copy_dir;
static char err[1024];

static void make_home(void) {
  home = tu_mkdtemp("molt-home");
  cr_assert_not_null(home);
  cr_assert(asprintf(&copy_dir, "%s/copies", home) > 0);
  err[0] = '\0';
}

static void setup(void) {
  make_home();
  cr_assert_eq(molt__code_init(copy_dir), 0);
}

static void teardown(void) {
  molt__code_close();
  tu_rmrf(home);
  free(home);
  free(copy_dir);
}

TestSuite(code_server, .init = setup, .fini = teardown);
TestSuite(code_init, .init = make_home, .fini = teardown);

static molt_version_t* load_ok(const char* path) {
  molt_version_t* v = NULL;
  int rc = molt__code_load(path, NULL, &v, err, sizeof err);
  cr_assert_eq(rc, 0, "%s: %s (%s)", path, molt_err_name(rc), err);
  cr_assert_not_null(v);
  return v;
}

/* What foreach reports for one name. */
typedef struct {
  const char* name;
  molt_version_t* current;
  molt_version_t* old;
  int seen;
} slots_t;

static void visit(const char* name, molt_version_t* current, molt_version_t* old, void* arg) {
  slots_t* s = arg;
  if (strcmp(name, s->name) != 0) return;
  s->current = current;
  s->old = old;
  s->seen++;
}

static slots_t slots(const char* name) {
  slots_t s = {.name = name};
  molt__code_foreach(visit, &s);
  return s;
}

static void assert_slots(const char* name, const char* current_vsn, unsigned current_rev,
                         const char* old_vsn, unsigned old_rev) {
  slots_t s = slots(name);
  if (!current_vsn) cr_assert_null(s.current, "%s: unexpected current", name);
  else {
    cr_assert_not_null(s.current, "%s: no current", name);
    cr_assert_str_eq(s.current->vsn, current_vsn);
    cr_assert_eq(s.current->revision, current_rev);
  }
  if (!old_vsn) cr_assert_null(s.old, "%s: unexpected old", name);
  else {
    cr_assert_not_null(s.old, "%s: no old", name);
    cr_assert_str_eq(s.old->vsn, old_vsn);
    cr_assert_eq(s.old->revision, old_rev);
  }
}

Test(code_init, creates_the_copy_dir_private) {
  cr_assert_eq(molt__code_init(copy_dir), 0);
  struct stat st;
  cr_assert_eq(stat(copy_dir, &st), 0);
  cr_assert(S_ISDIR(st.st_mode));
  cr_assert_eq(st.st_mode & 0777, 0700);
  cr_assert_eq(molt__code_init(copy_dir), MOLT_EBUSY, "initialised twice");
}

Test(code_init, refuses_a_file_as_copy_dir) {
  cr_assert_eq(tu_write_file(copy_dir, "x", 1), 0);
  cr_assert_eq(molt__code_init(copy_dir), MOLT_ENOTDIR);
}

Test(code_init, refuses_a_copy_dir_others_can_write) {
  cr_assert_eq(mkdir(copy_dir, 0700), 0);
  cr_assert_eq(chmod(copy_dir, 0777), 0);
  cr_assert_eq(molt__code_init(copy_dir), MOLT_EPERM);
}

Test(code_init, refuses_to_load_before_init) {
  cr_assert_eq(molt__code_load(V1, NULL, NULL, err, sizeof err), MOLT_EINVAL);
  lu_assert_says(err, "not initialised", NULL);
}

Test(code_server, first_load_is_current_with_revision_1) {
  molt_version_t* v = load_ok(V1);
  cr_assert_eq(v->revision, 1);
  assert_slots("good", "1.0.0", 1, NULL, 0);
  cr_assert_eq(atomic_load(&v->refs), 1, "only the slot's reference");
}

Test(code_server, second_load_moves_current_to_old) {
  load_ok(V1);
  molt_version_t* v2 = load_ok(V2);
  cr_assert_eq(v2->revision, 2);
  assert_slots("good", "2.0.0", 2, "1.0.0", 1);
}

Test(code_server, refuses_a_third_load_while_old_is_occupied) {
  molt_version_t* v1 = load_ok(V1);
  molt_version_t* v2 = load_ok(V2);
  molt_version_t* out = NULL;
  cr_assert_eq(molt__code_load(V1, NULL, &out, err, sizeof err), MOLT_EOLDCODE);
  cr_assert_null(out);
  cr_assert_str_eq(err,
                   "good: old version 1.0.0 (revision 1) is still loaded; purge it first");
  assert_slots("good", "2.0.0", 2, "1.0.0", 1);
  slots_t s = slots("good");
  cr_assert_eq(s.current, v2);
  cr_assert_eq(s.old, v1);
  cr_assert_eq(lu_count_files(copy_dir), 2, "the refused version's copy remains");
}

/* With the name known up front, the refusal comes before the file is even
 * opened: a path that does not exist is refused for the old code. */
Test(code_server, refuses_before_opening_when_the_name_is_given) {
  load_ok(V1);
  load_ok(V2);
  cr_assert_eq(molt__code_load("/nonexistent/good.so", "good", NULL, err, sizeof err),
               MOLT_EOLDCODE);
  cr_assert_eq(lu_count_files(copy_dir), 2);
}

Test(code_server, failed_loads_change_nothing) {
  molt_version_t* v1 = load_ok(V1);
  cr_assert_eq(molt__code_load(FIXTURE("bad_magic-1.0.0.so"), NULL, NULL, err, sizeof err),
               MOLT_EBADMAGIC);
  cr_assert_eq(molt__code_load(FIXTURE("wrong_name-1.0.0.so"), "good", NULL, err, sizeof err),
               MOLT_ENAME);
  lu_assert_says(err, "wrong_name-1.0.0.so: name: expected \"good\", found \"impostor\"",
                 NULL);
  assert_slots("good", "1.0.0", 1, NULL, 0);
  cr_assert_eq(slots("good").current, v1);
  cr_assert_eq(slots("impostor").seen, 0);
  cr_assert_eq(slots("bad_magic").seen, 0);
  cr_assert_eq(lu_count_files(copy_dir), 1);
  /* A refused load does not use up a revision. */
  cr_assert_eq(load_ok(V2)->revision, 2);
}

Test(code_server, revisions_keep_counting_across_purges) {
  load_ok(V1);
  load_ok(V2);
  cr_assert_eq(molt__code_purge("good", false, err, sizeof err), 0, "%s", err);
  assert_slots("good", "2.0.0", 2, NULL, 0);
  load_ok(V1);
  assert_slots("good", "1.0.0", 3, "2.0.0", 2);
}

/* A reload of the running vsn is its next dev build; another vsn starts
 * over. */
Test(code_server, labels_count_reloads_of_the_same_vsn) {
  cr_assert_str_eq(load_ok(V1)->label, "1.0.0");
  cr_assert_eq(molt__code_purge("good", false, err, sizeof err), 0, "%s", err);
  molt_version_t* v = load_ok(V1);
  cr_assert_str_eq(v->label, "1.0.0+dev.1");
  cr_assert_eq(v->dev, 1);
  cr_assert_eq(molt__code_purge("good", false, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(load_ok(V1)->label, "1.0.0+dev.2");
  cr_assert_eq(molt__code_purge("good", false, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(load_ok(V2)->label, "2.0.0");
  cr_assert_eq(molt__code_purge("good", false, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(load_ok(V2)->label, "2.0.0+dev.1");
}

Test(code_server, soft_purge_waits_for_actors) {
  molt_version_t* v1 = load_ok(V1);
  load_ok(V2);
  char* priv = strdup(v1->priv_path);
  atomic_store(&v1->actors, 2);
  cr_assert_eq(molt__code_purge("good", false, err, sizeof err), MOLT_EOLDCODE);
  cr_assert_str_eq(err, "good: old version 1.0.0 (revision 1) still runs 2 actors; a hard "
                        "purge would kill them");
  assert_slots("good", "2.0.0", 2, "1.0.0", 1);
  cr_assert(lu_mapped(priv));

  atomic_store(&v1->actors, 0);
  cr_assert_eq(molt__code_purge("good", false, err, sizeof err), 0, "%s", err);
  assert_slots("good", "2.0.0", 2, NULL, 0);
  cr_assert_not(lu_mapped(priv), "purged version still mapped");
  cr_assert_eq(lu_count_files(copy_dir), 1);
  free(priv);
}

static struct {
  int calls;
  molt_version_t* victim;
  void* arg;
} killed;

static int kill_hook(molt_version_t* v, void* arg) {
  killed.calls++;
  killed.victim = v;
  killed.arg = arg;
  return (int)atomic_load(&v->actors);
}

/* The actor is played by the test: it holds a reference and counts itself
 * in actors, as the runtime does. */
Test(code_server, hard_purge_kills_and_closes_after_the_last_actor) {
  molt_version_t* v1 = load_ok(V1);
  load_ok(V2);
  char* priv = strdup(v1->priv_path);
  molt__version_ref(v1);
  atomic_store(&v1->actors, 1);
  molt__code_set_kill_hook(kill_hook, &killed);

  cr_assert_eq(molt__code_purge("good", true, err, sizeof err), 0, "%s", err);
  cr_assert_eq(killed.calls, 1);
  cr_assert_eq(killed.victim, v1);
  cr_assert_eq(killed.arg, &killed);
  assert_slots("good", "2.0.0", 2, NULL, 0);
  cr_assert(lu_mapped(priv), "closed while an actor still runs it");

  atomic_store(&v1->actors, 0); /* the actor exits */
  molt__version_unref(v1);
  cr_assert_not(lu_mapped(priv), "not dlclose'd after the last reference");
  cr_assert_eq(lu_count_files(copy_dir), 1);
  free(priv);
}

Test(code_server, hard_purge_without_actors_kills_nobody) {
  load_ok(V1);
  load_ok(V2);
  molt__code_set_kill_hook(kill_hook, NULL);
  cr_assert_eq(molt__code_purge("good", true, err, sizeof err), 0, "%s", err);
  cr_assert_eq(killed.calls, 0);
  assert_slots("good", "2.0.0", 2, NULL, 0);
}

Test(code_server, hard_purge_needs_a_kill_hook) {
  molt_version_t* v1 = load_ok(V1);
  load_ok(V2);
  atomic_store(&v1->actors, 1);
  cr_assert_eq(molt__code_purge("good", true, err, sizeof err), MOLT_EOLDCODE);
  lu_assert_says(err, "no kill hook", NULL);
  assert_slots("good", "2.0.0", 2, "1.0.0", 1);
  atomic_store(&v1->actors, 0);
}

Test(code_server, purge_of_nothing) {
  cr_assert_eq(molt__code_purge("nosuch", false, err, sizeof err), MOLT_ENOMODULE);
  cr_assert_str_eq(err, "nosuch: no such module");
  load_ok(V1);
  cr_assert_eq(molt__code_purge("good", false, err, sizeof err), 0);
  cr_assert_eq(molt__code_purge("good", true, err, sizeof err), 0);
  assert_slots("good", "1.0.0", 1, NULL, 0);
}

Test(code_server, get_current_takes_a_reference) {
  cr_assert_null(molt__code_get_current("good"));
  molt_version_t* v1 = load_ok(V1);
  molt_version_t* got = molt__code_get_current("good");
  cr_assert_eq(got, v1);
  cr_assert_eq(atomic_load(&got->refs), 2);
  molt__version_unref(got);
  cr_assert_eq(atomic_load(&v1->refs), 1);
}

/* A version someone still uses outlives its purge, and closes with the last
 * reference. */
Test(code_server, a_used_version_outlives_its_slot) {
  molt_version_t* held = molt__code_get_current("good");
  cr_assert_null(held);
  load_ok(V1);
  held = molt__code_get_current("good");
  char* priv = strdup(held->priv_path);
  load_ok(V2);
  cr_assert_eq(molt__code_purge("good", false, err, sizeof err), 0, "%s", err);
  cr_assert(lu_mapped(priv));
  cr_assert_str_eq(held->vsn, "1.0.0");
  molt__version_unref(held);
  cr_assert_not(lu_mapped(priv));
  free(priv);
}

Test(code_server, unload_current_brings_old_back) {
  load_ok(V1);
  molt_version_t* v2 = load_ok(V2);
  char* priv = strdup(v2->priv_path);
  cr_assert_eq(molt__code_unload_current("good", err, sizeof err), 0, "%s", err);
  assert_slots("good", "1.0.0", 1, NULL, 0);
  cr_assert_not(lu_mapped(priv));
  cr_assert_eq(molt__code_unload_current("good", err, sizeof err), 0, "%s", err);
  cr_assert_eq(slots("good").seen, 0, "a name with no versions is not listed");
  cr_assert_eq(molt__code_unload_current("good", err, sizeof err), MOLT_ENOMODULE);
  /* Revisions are never reused. */
  cr_assert_eq(load_ok(V2)->revision, 3);
  free(priv);
}

Test(code_server, unload_current_refuses_a_version_with_actors) {
  load_ok(V1);
  molt_version_t* v2 = load_ok(V2);
  atomic_store(&v2->actors, 1);
  cr_assert_eq(molt__code_unload_current("good", err, sizeof err), MOLT_EBUSY);
  lu_assert_says(err, "good: version 2.0.0 (revision 2) already runs 1 actors", NULL);
  assert_slots("good", "2.0.0", 2, "1.0.0", 1);
  atomic_store(&v2->actors, 0);
}

Test(code_server, unload_takes_both_slots) {
  cr_assert_eq(molt__code_unload("good", err, sizeof err), MOLT_ENOMODULE);
  lu_assert_says(err, "good: no such module", NULL);
  load_ok(V1);
  molt_version_t* v2 = load_ok(V2);
  char* priv = strdup(v2->priv_path);
  cr_assert_eq(molt__code_unload("good", err, sizeof err), 0, "%s", err);
  cr_assert_eq(slots("good").seen, 0, "an unloaded name is not listed");
  cr_assert_null(molt__code_get_current("good"));
  cr_assert_not(lu_mapped(priv));
  cr_assert_eq(molt__code_unload("good", err, sizeof err), MOLT_ENOMODULE);
  /* Revisions are never reused. */
  cr_assert_eq(load_ok(V1)->revision, 3);
  free(priv);
}

Test(code_server, unload_refuses_while_actors_run_either_version) {
  molt_version_t* v1 = load_ok(V1);
  molt_version_t* v2 = load_ok(V2);
  atomic_store(&v1->actors, 2);
  cr_assert_eq(molt__code_unload("good", err, sizeof err), MOLT_EBUSY);
  lu_assert_says(err, "good: version 1.0.0 (revision 1) runs 2 actors", NULL);
  assert_slots("good", "2.0.0", 2, "1.0.0", 1);
  atomic_store(&v1->actors, 0);
  atomic_store(&v2->actors, 1);
  cr_assert_eq(molt__code_unload("good", err, sizeof err), MOLT_EBUSY);
  lu_assert_says(err, "good: version 2.0.0 (revision 2) runs 1 actors", NULL);
  assert_slots("good", "2.0.0", 2, "1.0.0", 1);
  atomic_store(&v2->actors, 0);
}

Test(code_server, delete_moves_current_to_old) {
  cr_assert_eq(molt__code_delete("good", err, sizeof err), MOLT_ENOMODULE);
  load_ok(V1);
  cr_assert_eq(molt__code_delete("good", err, sizeof err), 0, "%s", err);
  assert_slots("good", NULL, 0, "1.0.0", 1);
  cr_assert_null(molt__code_get_current("good"));
  cr_assert_eq(molt__code_delete("good", err, sizeof err), MOLT_ENOMODULE);
  /* The deleted version holds the old slot until purged. */
  cr_assert_eq(molt__code_load(V2, NULL, NULL, err, sizeof err), MOLT_EOLDCODE);
  cr_assert_eq(molt__code_purge("good", false, err, sizeof err), 0, "%s", err);
  load_ok(V1);
  load_ok(V2);
  cr_assert_eq(molt__code_delete("good", err, sizeof err), MOLT_EOLDCODE);
  assert_slots("good", "2.0.0", 3, "1.0.0", 2);
}

static void collect(const char* name, molt_version_t* current, molt_version_t* old,
                    void* arg) {
  char* names = arg;
  strcat(names, name);
  strcat(names, " ");
}

Test(code_server, foreach_lists_modules_by_name) {
  load_ok(FIXTURE("wrong_name-1.0.0.so")); /* calls itself impostor */
  load_ok(V1);
  char names[64] = "";
  molt__code_foreach(collect, names);
  cr_assert_str_eq(names, "good impostor ");
}

static int s_init(const molt_args_t* args, void** state) { return 0; }
static int s_handle(void* state, const molt_msg_t* msg) { return 0; }
static void s_free_state(void* state) {}

Test(code_server, installs_a_builtin) {
  static const molt_module_t sup = {
      .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t),
      .name = "supervisor", .vsn = "1", .init = s_init, .handle = s_handle,
      .free_state = s_free_state};
  molt_version_t* v = NULL;
  cr_assert_eq(molt__version_builtin(&sup, &v), 0);
  cr_assert_eq(molt__code_install_builtin(v), 0);
  cr_assert_eq(v->revision, 1);
  cr_assert_eq(atomic_load(&v->refs), 2, "the slot takes its own reference");
  molt__version_unref(v);
  molt_version_t* got = molt__code_get_current("supervisor");
  cr_assert_eq(got, v);
  cr_assert(got->builtin);
  molt__version_unref(got);
}

Test(code_server, close_leaves_held_versions_alive) {
  load_ok(V1);
  molt_version_t* held = molt__code_get_current("good");
  char* priv = strdup(held->priv_path);
  molt__code_close();
  cr_assert(lu_mapped(priv));
  cr_assert_null(molt__code_get_current("good"));
  molt__version_unref(held);
  cr_assert_not(lu_mapped(priv));
  free(priv);
}

/* Readers take and drop references while versions come and go: under ASan
 * any use after close shows. */
static atomic_bool stop, wrong_code;

static void* reader(void* arg) {
  molt_msg_t msg = {.kind = MOLT_MSG_USER};
  while (!atomic_load(&stop)) {
    molt_version_t* v = molt__code_get_current("good");
    if (!v) continue;
    /* Not cr_assert: it may only fail the test from the test's own thread. */
    int rc = v->handle(NULL, &msg);
    if (rc != MOLT_OK && rc != MOLT_STOP) atomic_store(&wrong_code, true);
    molt__version_unref(v);
  }
  return NULL;
}

Test(code_server, readers_survive_loads_and_purges, .timeout = 60) {
  load_ok(V1);
  pthread_t threads[4];
  for (int i = 0; i < 4; i++) pthread_create(&threads[i], NULL, reader, NULL);
  for (int i = 0; i < 40; i++) {
    load_ok(i % 2 ? V1 : V2);
    cr_assert_eq(molt__code_purge("good", false, err, sizeof err), 0, "%s", err);
  }
  atomic_store(&stop, true);
  for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);
  cr_assert_not(atomic_load(&wrong_code));
  assert_slots("good", "1.0.0", 41, NULL, 0);
  cr_assert_eq(lu_count_files(copy_dir), 1);
}
