/* supervisor.h: supervisors, a builtin module whose actors start, watch
 * and restart the children a molt_sup_spec_t describes. */
#ifndef MOLT_SUPERVISOR_SUPERVISOR_H
#define MOLT_SUPERVISOR_SUPERVISOR_H

#include <stddef.h>
#include <stdint.h>

#include "sup_exit.h"
#include "sup_spec.h"
#include "molt/module.h"

/* Create and drop the builtin version (runtime start and stop). */
int molt__supervisor_init(void);
void molt__supervisor_close(void);

/* Start a top-level supervisor for spec (copied) from any thread. Children
 * start in order; if one fails, those started are stopped and the error is
 * returned with a reason naming the child ("child counter (counter): ..."). */
int molt__supervisor_start(const molt_sup_spec_t* spec, molt_pid_t* pid, char* err, size_t errlen);

/* As molt__supervisor_start, and on_exit(why, data) is called once when
 * the supervisor exits, whatever the reason (a stop asked for too): after
 * its children have stopped, on its scheduler's thread, as its last act
 * (it must not block); never if the start fails. So the container learns
 * that its root gave up, as OTP's application controller does. An
 * untrappable kill, which skips terminate, is told too (reason
 * MOLT_EXIT_KILLED), as the supervisor's state is freed. */
int molt__supervisor_start_watched(const molt_sup_spec_t* spec, molt_sup_exit_cb on_exit, void* data,
                                   molt_pid_t* pid, char* err, size_t errlen);

/* Told, on the supervisor's scheduler, of every exit of a child that the
 * supervisor did not ask for and that is not normal or shutdown (a crash,
 * a kill): the supervisor's and the child's names, the child's module,
 * pid and exit reason. One observer per process, set from any thread
 * (NULL: none); it must not block. What an upgrade's observation window
 * counts. */
typedef void (*molt_sup_crash_cb)(const char* sup, const char* child, const char* module, molt_pid_t pid,
                                  int reason, void* data);
void molt__supervisor_observe(molt_sup_crash_cb cb, void* data);

/* Shut a supervisor down: its children stop in reverse start order (each
 * runs terminate), then it exits. Waits up to timeout_ms, then kills it.
 * Any thread but a scheduler's. */
int molt__supervisor_stop(molt_pid_t pid, uint64_t timeout_ms);

/* Change a running supervisor's children to spec's, as a release upgrade
 * does: children kept (same id and kind) keep running, and restart under
 * the new spec from then on; new children start in spec order, and if one
 * fails to start, those started here are stopped and nothing changed (the
 * error names the child); then children the spec dropped are stopped, each
 * running its terminate. Any thread but a scheduler's. */
int molt__supervisor_update(molt_pid_t pid, const molt_sup_spec_t* spec, char* err, size_t errlen);

#endif
