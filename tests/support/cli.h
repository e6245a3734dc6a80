/* cli.h: drive a real container through build/bin/molt, as a user
 * would: start `molt run` in a temporary home, run molt commands, read
 * the container's log. */
#ifndef MOLT_TEST_CLI_H
#define MOLT_TEST_CLI_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <sys/types.h>

/* The temporary home and the container's log (valid between setup and
 * teardown). */
extern char* ct_home;
extern char ct_log[4096];

/* .init / .fini: a fresh home; teardown kills a container still running
 * and checks its log for sanitizer reports. */
void ct_setup(void);
void ct_teardown(void);

/* When > 0, the containers ct_spawn (so ct_start, ct_launch, ct_start_run
 * and ct_start_dev) starts run with RLIMIT_NOFILE soft and hard set to
 * it, applied in the child before exec so the runtime sees it from its
 * first call; the test's own limit is untouched. ct_setup resets it to 0. */
extern long ct_nofile;

/* Start `molt run --release release --schedulers 2` (release NULL: the
 * home's permanent one) and wait until it serves; the test fails if it
 * does not within 10 s. The log is appended to across restarts. */
void ct_start(const char* release);
/* The same without waiting: for a container that may not live to serve. */
void ct_launch(const char* release);
/* Start build/bin/molt with argv (NULL-terminated, argv[0] "molt"), its
 * output appended to the log; its pid. Not waited for, and not the
 * container the other calls know of. */
pid_t ct_spawn(const char* const* argv);
/* Start `molt dev --home <home> --schedulers 2 <args...>` (NULL-terminated)
 * and wait until it serves, as ct_start. */
void ct_start_dev(const char* arg, ...);
/* The same for `molt run --home <home> --schedulers 2 <args...>`. */
void ct_start_run(const char* arg, ...);

/* Wait until needle occurs at least n times in the log. */
bool ct_wait_log_count(const char* needle, int n, int timeout_ms);
/* How many times needle occurs in the log now. */
int ct_log_count(const char* needle);

/* Send sig to the running container. */
void ct_signal(int sig);
/* Wait for the container to exit; its status, or -1 on timeout. */
int ct_wait_exit(int timeout_ms);
/* The same, but waitpid's raw status (WIFSIGNALED, WTERMSIG...). */
int ct_wait_status(int timeout_ms);
bool ct_wait_log(const char* needle, int timeout_ms);

/* Run `molt <args> --home <home>`, stdout+stderr into *out (malloc'd). */
int ct_molt(const char* args, char** out);
/* Write text, a source manifest, as <home>/<name>.json and bundle it with
 * molt-bundle, modules from module_dir (NULL: <home>/mods, see
 * ct_mods_add), into <home>/<name>. Returns
 * molt-bundle's exit status; its output (malloc'd, the caller frees) in
 * *out unless out is NULL. */
int ct_bundle(const char* name, const char* text, const char* module_dir, char** out);

/* Bundle release "fx" <vsn> into <home>/fx-<vsn> from its manifest's
 * parts: modules, the entries of its "modules" array; sup, its
 * "supervisor" object; more, further members (", \"upgrade\": [...]") or
 * NULL. Module files from <home>/mods (ct_mods_add); asserts it bundles. */
void ct_bundle_fx(const char* vsn, const char* modules, const char* sup, const char* more);

/* strace attached to every thread of the running container, with the
 * given -e options (trace=..., inject=...: fault injection into the real
 * process); returns once it is attached. ct_strace_stop detaches it.
 * ct_have_strace: whether strace is installed. */
pid_t ct_strace(const char* trace, const char* inject);
void ct_strace_stop(pid_t tracer);
bool ct_have_strace(void);

/* Copy the file at from into <home>/mods (made if missing) under its own
 * name: the module directory a test's ct_bundle calls give. */
void ct_mods_add(const char* from);

/* The crashy release (root_supervisor_test's): a steady tally child and a
 * crasher child that crashes after_ms after each start, under a root
 * "crashy_sup" that allows 2 restarts in 60 s; bundled into <home>/crashy,
 * whose path is returned (malloc'd). */
char* ct_crashy_bundle(int after_ms);

/* `molt dev` running the spin fixture (its one actor spins in a handler
 * for 4 s, 100 ms after it starts), once the spin has begun. */
void ct_start_spinning(void);

/* Run a molt command with --json that must succeed; its parsed output. */
cJSON* ct_json(const char* args);

/* The state of release vsn as `molt releases --json` gives it, into buf;
 * "-" if it is not listed. */
const char* ct_release_state(const char* vsn, char* buf, size_t len);

/* Run a molt command (with --json) and return its exit status, dropping
 * its output. */
int ct_json_ok(const char* args);

/* Sum of the number after `label` on every line of log that contains
 * `line` (e.g. the drivers' "sent N" in their terminate lines). */
long long ct_log_sum(const char* log, const char* line, const char* label);

/* Stop the demo container cleanly and check its log: the drivers' "sent"
 * adds up to the counter's "total", and no driver saw a mismatch. */
void ct_stop_expect_no_loss(void);

#endif
