/* molt_bench_test.c: the built molt-bench (tools/molt_bench.c) runs every
 * workload at toy sizes and prints its line in the BEAM anchors' format.
 * Checks the form of the output, never the speed: benchmarks are separate
 * commands (tools/bench-compare.sh). */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define BENCH MOLT_BUILD_DIR "/bin/molt-bench"
#define NUM "[0-9]+(\\.[0-9]+)?"

/* Run molt-bench with args; every line of its output must match one of
 * the patterns, in order, and it must exit 0. */
static void expect_lines(const char* args, const char* const* patterns, size_t n) {
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "%s %s", BENCH, args);
  FILE* p = popen(cmd, "r");
  cr_assert(p, "popen %s", cmd);
  char line[1024];
  size_t i = 0;
  while (fgets(line, sizeof(line), p)) {
    line[strcspn(line, "\n")] = '\0';
    cr_assert_lt(i, n, "unexpected line from %s: %s", args, line);
    regex_t re;
    cr_assert_eq(regcomp(&re, patterns[i], REG_EXTENDED | REG_NOSUB), 0, "bad pattern %s", patterns[i]);
    int rc = regexec(&re, line, 0, NULL, 0);
    regfree(&re);
    cr_assert_eq(rc, 0, "line %zu of `molt-bench %s`:\n  %s\ndoes not match\n  %s", i, args, line, patterns[i]);
    i++;
  }
  int status = pclose(p);
  cr_assert_eq(i, n, "`molt-bench %s` printed %zu lines, expected %zu", args, i, n);
  cr_assert_eq(status, 0, "`molt-bench %s` exited with status %d", args, status);
}

Test(molt_bench, ring_prints_the_beam_keys, .timeout = 60) {
  const char* want[] = {"^molt ring sched=2 n=10 m=10 msgs=100 msgs_per_s=" NUM " ns_per_msg=" NUM
                        " ring_setup_ms=" NUM "$"};
  expect_lines("ring 10 10 --schedulers 2", want, 1);
}

Test(molt_bench, ring_spread_over_schedulers, .timeout = 60) {
  const char* want[] = {"^molt ring sched=2 n=10 m=10 msgs=100 msgs_per_s=" NUM " .* spread=1$"};
  expect_lines("ring 10 10 --schedulers 2 --spread", want, 1);
}

Test(molt_bench, spawn_prints_rates_and_bytes, .timeout = 60) {
  const char* want[] = {"^molt spawn sched=1 n=1000 spawn_per_s=" NUM " ready_per_s=" NUM " bytes_per_proc=-?" NUM
                        " slot_bytes=" NUM " exit_per_s=" NUM "$"};
  expect_lines("spawn 1000 --schedulers 1", want, 1);
}

Test(molt_bench, pingpong_on_one_and_two_schedulers, .timeout = 60) {
  const char* one[] = {"^molt pingpong sched=1 round_trips=2000 batch=100 median_ns_per_rt=" NUM
                       " min_ns_per_rt=" NUM " p99_ns_per_rt=" NUM " single_rt_median_ns=" NUM
                       " single_rt_p99_ns=" NUM "$"};
  expect_lines("pingpong 2000 100 --schedulers 1", one, 1);
  const char* two[] = {"^molt pingpong sched=2 round_trips=2000 batch=100 "};
  expect_lines("pingpong 2000 100 --schedulers 2", two, 1);
  const char* across[] = {"^molt pingpong_across sched=2 round_trips=2000 batch=100 median_ns_per_rt=" NUM};
  expect_lines("pingpong_across 2000 100 --schedulers 2", across, 1);
}

Test(molt_bench, pingpong_across_needs_two_schedulers, .timeout = 60) {
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "%s pingpong_across 100 10 --schedulers 1 2>&1", BENCH);
  FILE* p = popen(cmd, "r");
  cr_assert(p);
  char line[512] = "";
  cr_assert(fgets(line, sizeof(line), p));
  int status = pclose(p);
  cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %d", status);
  cr_expect(strstr(line, "needs two schedulers"), "%s", line);
}

Test(molt_bench, upgrade_loses_nothing, .timeout = 120) {
  const char* up = "^molt upgrade sched=2 n=200 rate=1000 mode=txn dir=up pause_ms=" NUM " total_ms=" NUM
                   " change_ms=" NUM " actors=200 switched=200 us_per_proc=" NUM " minflt=[0-9]+ module=bench_cnt$";
  const char* down = "^molt upgrade sched=2 n=200 rate=1000 mode=txn dir=down pause_ms=" NUM
                     " .* actors=200 switched=200 ";
  /* Each change rehearsed first, as molt load does, on a line of its own. */
  const char* rehearsal = "^molt rehearsal sched=2 n=200 rate=1000 dir=(up|down) pause_ms=" NUM " fork_ms=" NUM
                          " total_ms=" NUM " actors=200 module=bench_cnt$";
  const char* want[] = {rehearsal, up, rehearsal, down, rehearsal, up, rehearsal, down,
                        "^molt upgrade_check sched=2 n=200 rate=1000 casts_sent=[0-9]+ casts_counted=[0-9]+ "
                        "lost=0 alive=200 module=bench_cnt$"};
  expect_lines("upgrade 200 1000 --schedulers 2", want, 9);
}

Test(molt_bench, softload_prints_load_latencies, .timeout = 60) {
  const char* want[] = {"^molt softload sched=2 module=counter so_bytes=[0-9]+ so_loads=[1-9] relro=[01] n=10 loads=3 load_median_us=" NUM
                        " load_min_us=" NUM " load_p90_us=" NUM " load_max_us=" NUM " prepare_median_us=" NUM
                        " switch_median_us=" NUM " pause_median_us=" NUM
                        " live_median_us=" NUM " live_p90_us=" NUM
                        " purge_median_us=" NUM " woke_none_loads=[0-3]$"};
  expect_lines("softload 3 10 --schedulers 2", want, 1);
}

Test(molt_bench, refuses_an_unknown_workload) {
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "%s nosuch >/dev/null 2>&1", BENCH);
  int status = system(cmd);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2);
}
