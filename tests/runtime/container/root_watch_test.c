/* root_watch_test.c: the container's watch on its root supervisor
 * (runtime/container/root_watch.c): an exit heard before the container
 * stops wakes its loop and is described in one line; one heard once the
 * container stops the root itself is no news. */
#include <criterion/criterion.h>
#include <string.h>
#include <uv.h>

#include "molt/errno.h"
#include "molt/module.h"
#include "root_watch.h"

static uv_loop_t loop;
static molt_root_watch_t w;

static void setup(void) {
  cr_assert_eq(uv_loop_init(&loop), 0);
  cr_assert_eq(molt__root_watch_init(&w, &loop), 0);
}

static void teardown(void) {
  molt__root_watch_close(&w);
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_assert_eq(uv_loop_close(&loop), 0);
}

TestSuite(root_watch, .init = setup, .fini = teardown, .timeout = 10);

/* The loop runs until the watch stops it: an exit must have woken it. */
static void run_until_woken(void) { cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 1, "the loop was not stopped"); }

Test(root_watch, a_give_up_wakes_the_loop_and_names_child_reason_and_restarts) {
  molt_sup_exit_t why = {.name = "demo_sup", .reason = MOLT_EXIT_SHUTDOWN, .gave_up = true, .child = "counter",
                         .child_reason = MOLT_EIO, .restarts = 5, .period_ms = 10000};
  molt__root_watch_on_exit(&why, &w);
  run_until_woken();
  cr_assert_str_eq(w.line, "root supervisor demo_sup gave up: child counter exited EIO (i/o error), "
                           "5 restarts within 10000 ms");
  cr_assert_str_eq(w.name, "demo_sup");
  cr_assert(w.gave_up);
  cr_assert(molt__root_watch_stop(&w));
}

Test(root_watch, a_failed_restart_and_a_single_restart_read_right) {
  molt_sup_exit_t why = {.name = "s", .reason = MOLT_EXIT_SHUTDOWN, .gave_up = true, .restart_failed = true,
                         .child = "a", .child_reason = MOLT_ENOMODULE, .restarts = 1, .period_ms = 500};
  molt__root_watch_on_exit(&why, &w);
  run_until_woken();
  cr_assert_str_eq(w.line, "root supervisor s gave up: child a failed to restart: ENOMODULE (no such module), "
                           "1 restart within 500 ms");
}

/* Something else made the root exit (an exit signal from an actor): no
 * give-up, but the container stops all the same. */
Test(root_watch, an_exit_that_is_not_a_give_up_stops_the_container_too) {
  molt_sup_exit_t why = {.name = "demo_sup", .reason = MOLT_EINVAL};
  molt__root_watch_on_exit(&why, &w);
  run_until_woken();
  cr_assert_str_eq(w.line, "root supervisor demo_sup exited: EINVAL (invalid argument)");
  cr_assert_not(w.gave_up);
  cr_assert(molt__root_watch_stop(&w));
}

/* Only the first exit counts. */
Test(root_watch, the_first_exit_counts) {
  molt_sup_exit_t first = {.name = "one", .reason = MOLT_EIO}, second = {.name = "two", .reason = MOLT_EIO};
  molt__root_watch_on_exit(&first, &w);
  molt__root_watch_on_exit(&second, &w);
  run_until_woken();
  cr_assert_str_eq(w.name, "one");
  cr_assert(molt__root_watch_stop(&w));
}

/* Once the container stops the root itself, its exit is no news: a
 * `molt stop` must not turn into a give-up. */
Test(root_watch, an_exit_after_stop_is_no_news) {
  cr_assert_not(molt__root_watch_stop(&w));
  molt_sup_exit_t why = {.name = "demo_sup", .reason = MOLT_EXIT_SHUTDOWN};
  molt__root_watch_on_exit(&why, &w);
  cr_assert_not(w.exited);
  cr_assert_str_eq(w.line, "");
  cr_assert_not(molt__root_watch_stop(&w));
}
