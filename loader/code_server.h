/* code_server.h: the current and old slot of every module, as Erlang's code
 * server keeps them. Loading moves current to old; purging empties old. */
#ifndef MOLT_LOADER_CODE_SERVER_H
#define MOLT_LOADER_CODE_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "version.h"

/* Called by a hard purge for a version that still runs actors: the hook
 * must kill them (asynchronously is fine; each actor drops its reference
 * when it is gone). Returns the number of actors signalled. */
typedef int (*molt_code_kill_cb)(molt_version_t* v, void* arg);

/* Set up the code server; private copies go under copy_dir (created 0700 if
 * missing). Returns 0 or a MOLT_E*: MOLT_EPERM if copy_dir belongs to another
 * user or others may write to it, MOLT_EBUSY if already set up. */
int molt__code_init(const char* copy_dir);
/* Drop every slot's reference; versions still referenced close later. */
void molt__code_close(void);
void molt__code_set_kill_hook(molt_code_kill_cb cb, void* arg);

/* Load path as the new current version of its module (the descriptor's
 * name; if expect_name is non-NULL the name must match). The previous
 * current becomes old. Refused with MOLT_EOLDCODE, nothing changed, if the
 * old slot is occupied. On success *out (may be NULL) is the new version,
 * borrowed: the slot holds it. */
int molt__code_load(const char* path, const char* expect_name,
                    molt_version_t** out, char* err, size_t errlen);

/* Open path as a version of expect_name (may be NULL) without installing it:
 * every check of molt__code_load, nothing changed. *out holds the caller's
 * reference (revision 0 until installed). For transactions, which must
 * check everything before anything changes. */
int molt__code_prepare(const char* path, const char* expect_name, molt_version_t** out,
                       char* err, size_t errlen);

/* Make room in name's old slot: empty already, or holding a version no
 * actor runs any more, which is then purged (as OTP's release handler
 * soft-purges). MOLT_EOLDCODE with a reason if actors still run it. */
int molt__code_make_room(const char* name, char* err, size_t errlen);

/* Install n prepared versions as the current ones of their modules, all or
 * none: refused (nothing changed) if any module's old slot is occupied.
 * Each slot takes its own reference; the caller keeps theirs. */
int molt__code_install_set(molt_version_t* const* v, size_t n, char* err, size_t errlen);

/* Install a builtin version (no file) as the current one of its name. The
 * slot takes its own reference; the caller keeps (and later drops) theirs. */
int molt__code_install_builtin(molt_version_t* v);

/* Undo a load that nothing has used yet: current is dropped and old, if
 * any, becomes current again. For aborted upgrades. MOLT_ENOMODULE if name
 * has no current version, MOLT_EBUSY if actors still run it. */
int molt__code_unload_current(const char* name, char* err, size_t errlen);

/* Take name out of the code server whole: its current and its old
 * version both go, if no actor runs either (MOLT_EBUSY, naming the version
 * and its actors, nothing changed). For a module nothing uses any more: one
 * loaded by hand, or added by a change that was undone. MOLT_ENOMODULE if
 * name has no version. The versions close once the last reference (a
 * caller of get_current) is dropped. */
int molt__code_unload(const char* name, char* err, size_t errlen);

/* Make name have no current version (current moves to old), as
 * erlang:delete_module/1. MOLT_EOLDCODE if old is occupied, MOLT_ENOMODULE
 * if there is no current version. */
int molt__code_delete(const char* name, char* err, size_t errlen);

/* Empty the old slot of name. Soft: MOLT_EOLDCODE if any actor runs the old
 * code. Hard: kill those actors via the kill hook, then empty the slot (the
 * version closes when the last of them is gone); MOLT_EOLDCODE, nothing
 * changed, if actors run it and no kill hook is set. The hook runs without
 * the code server's lock held. MOLT_ENOMODULE if the module is unknown; 0 if
 * there was nothing to purge. */
int molt__code_purge(const char* name, bool hard, char* err, size_t errlen);

/* The current version of name with a reference taken (the caller unrefs),
 * or NULL. Any thread. */
molt_version_t* molt__code_get_current(const char* name);

/* Snapshot of the slots for status: calls cb for every module name with its
 * current and old versions (either may be NULL), under the code server's
 * lock (cb must not call back into the code server). Any thread. */
typedef void (*molt_code_visit_cb)(const char* name, molt_version_t* current,
                                   molt_version_t* old, void* arg);
void molt__code_foreach(molt_code_visit_cb cb, void* arg);

#endif
