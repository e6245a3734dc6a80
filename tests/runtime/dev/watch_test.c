/* watch_test.c: the module-directory watcher (loader/watch.c) against real
 * files written the ways builds write them, on a real uv loop. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "testutil.h"
#include "watch.h"

#define DEBOUNCE_MS 50

static uv_loop_t loop;
static molt_watch_t* w;
static char* root;
static char dir[4096];
static int reports;
static char last[4096];

static void on_change(const char* path, uint64_t event_ns, void* arg) {
  cr_assert(event_ns > 0 && event_ns <= uv_hrtime(), "event time %llu is not in the past",
            (unsigned long long)event_ns);
  reports++;
  snprintf(last, sizeof(last), "%s", path);
}

static void on_spin_done(uv_timer_t* t) { uv_stop(t->loop); }

/* Run the loop for ms milliseconds. */
static void spin(unsigned ms) {
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  uv_update_time(&loop); /* the test may have worked a while without the loop */
  uv_timer_start(&t, on_spin_done, ms, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t*)&t, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
}

static void setup(void) {
  root = tu_mkdtemp("molt-watch");
  snprintf(dir, sizeof(dir), "%s/modules", root);
  cr_assert_eq(mkdir(dir, 0700), 0);
  cr_assert_eq(uv_loop_init(&loop), 0);
  reports = 0;
  char err[256] = "";
  cr_assert_eq(molt__watch_start(&loop, dir, ".so", DEBOUNCE_MS, on_change, NULL, &w, err, sizeof(err)), 0, "%s",
               err);
}

static void teardown(void) {
  molt__watch_stop(w);
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_expect_eq(uv_loop_close(&loop), 0);
  tu_rmrf(root);
  free(root);
}

TestSuite(watch, .init = setup, .fini = teardown, .timeout = 60);

static void path_of(const char* name, char* out, size_t len) { snprintf(out, len, "%s/%s", dir, name); }

static void write_file(const char* name, const char* text) {
  char p[4200];
  path_of(name, p, sizeof(p));
  cr_assert_eq(tu_write_file(p, text, strlen(text)), 0);
}

Test(watch, a_file_written_in_several_writes_is_reported_once_after_it_is_closed) {
  char p[4200];
  path_of("m.so", p, sizeof(p));
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(write(fd, "chunk", 5), 5);
    spin(DEBOUNCE_MS * 2); /* long pauses between writes: still nothing */
  }
  cr_expect_eq(reports, 0, "reported before the file was closed");
  close(fd);
  spin(DEBOUNCE_MS * 4);
  cr_expect_eq(reports, 1);
  cr_expect_str_eq(last, p);
}

Test(watch, a_file_renamed_into_place_is_reported) {
  write_file("m.so.tmp", "built elsewhere");
  spin(DEBOUNCE_MS * 3);
  cr_expect_eq(reports, 0, "the temporary name is not a module");
  char from[4200], to[4200];
  path_of("m.so.tmp", from, sizeof(from));
  path_of("m.so", to, sizeof(to));
  cr_assert_eq(rename(from, to), 0);
  spin(DEBOUNCE_MS * 4);
  cr_expect_eq(reports, 1);
  cr_expect_str_eq(last, to);
}

Test(watch, a_file_rebuilt_twice_in_quick_succession_is_reported_once) {
  write_file("m.so", "first");
  spin(DEBOUNCE_MS / 5);
  write_file("m.so", "second build");
  spin(DEBOUNCE_MS * 4);
  cr_expect_eq(reports, 1);
}

Test(watch, other_files_are_ignored) {
  write_file("notes.txt", "x");
  write_file(".hidden.so", "x");
  spin(DEBOUNCE_MS * 4);
  cr_expect_eq(reports, 0);
}

Test(watch, the_directory_deleted_and_recreated_is_watched_again) {
  write_file("a.so", "v1");
  spin(DEBOUNCE_MS * 4);
  cr_assert_eq(reports, 1);
  tu_rmrf(dir);
  spin(250);
  cr_assert_eq(mkdir(dir, 0700), 0);
  spin(250); /* the retry re-adds the watch */
  write_file("b.so", "v1");
  spin(DEBOUNCE_MS * 4);
  cr_expect_eq(reports, 2, "after the directory came back");
  cr_expect(strstr(last, "/b.so"), "%s", last);
}

Test(watch, a_queue_overflow_rescans_and_reports_only_what_changed) {
  write_file("kept.so", "unchanged");
  spin(DEBOUNCE_MS * 4);
  cr_assert_eq(reports, 1);
  /* Without running the loop, queue more events than inotify holds. */
  char name[64];
  for (int i = 0; i < 17000; i++) {
    snprintf(name, sizeof(name), "f%d.txt", i);
    write_file(name, "");
  }
  write_file("new.so", "built during the overflow");
  spin(DEBOUNCE_MS * 6);
  cr_expect_eq(reports, 2, "the rescan must report new.so, and only it");
  cr_expect(strstr(last, "/new.so"), "%s", last);
}
