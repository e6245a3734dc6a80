/* rt.h: a real runtime for tests: start it in a temporary home, install
 * modules compiled into the test as builtin versions, and watch what the
 * actors do through a thread-safe note log. */
#ifndef MOLT_TEST_RT_H
#define MOLT_TEST_RT_H

#include <stdbool.h>
#include <stdint.h>

#include "molt/module.h"

/* Start nsched schedulers with a code server in a fresh temporary dir. */
void rt_setup(unsigned nsched);
void rt_teardown(void);
const char* rt_home(void);

/* Make desc the current version of its module, as if loaded. */
void rt_install(const molt_module_t* desc);

/* Spawn from the test thread; aborts the test on failure. */
molt_pid_t rt_spawn(const char* module, const char* args_json);
int rt_try_spawn(const char* module, const char* args_json, molt_pid_t* pid);

/* Send from outside any actor. */
int rt_send(molt_pid_t to, uint32_t tag, const void* data, size_t size);

bool rt_alive(molt_pid_t pid);
/* Wait until pid is gone; false on timeout. */
bool rt_wait_dead(molt_pid_t pid, unsigned timeout_ms);

/* Notes: actors call rt_note(...) from any thread; tests wait for them. */
void rt_note(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
/* Number of notes containing needle. */
int rt_count(const char* needle);
/* Wait until at least n notes contain needle; false on timeout. */
bool rt_wait_count(const char* needle, int n, unsigned timeout_ms);
/* All notes, one per line (for failure messages). Static buffer. */
const char* rt_notes(void);

/* Wait until pred(arg) is true; false on timeout. */
bool rt_wait(bool (*pred)(void* arg), void* arg, unsigned timeout_ms);

#endif
