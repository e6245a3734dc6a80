/* version.h: one loaded module version, a dlopen'd private copy of a module
 * file that passed every check. Not the slots (code_server.h) nor actors. */
#ifndef MOLT_LOADER_VERSION_H
#define MOLT_LOADER_VERSION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "descriptor.h"
#include "molt/module.h"

/* Everything the runtime needs from a version, copied out of the image at
 * load so that nothing outside the image points into it except the
 * callbacks, which are only called while a reference is held. */
typedef struct molt_version {
  char* name;          /* copy of desc->name (malloc, not molt_alloc) */
  char* vsn;           /* copy of desc->vsn (malloc) */
  uint32_t state_vsn;
  unsigned revision;   /* 1 for the first load of this name, then 2, 3, ... */
  /* What status and ps show: vsn, or "vsn+dev.N" for the Nth load in a row
   * of the same vsn (a rebuild that kept the vsn string is still new code).
   * Set with revision when the version is installed. */
  unsigned dev;
  char label[MOLT_MODULE_VSN_MAX + 16];
  char* src_path;      /* the file it was loaded from */
  char* priv_path;     /* the private copy that was dlopen'd */
  /* SHA-256 of the loaded bytes, computed on first ask (molt__version_sha256):
   * nothing at load time compares it with anything, so a load does not pay
   * for it (a third of a small module's load). */
  pthread_mutex_t hash_lock;
  bool hashed;
  uint8_t sha256[32];
  void* dl;            /* dlopen handle */
  const molt_module_t* desc;

  /* Callbacks, read from the descriptor within its size (MOLT_HAS_FIELD);
   * a field the module's descriptor is too short to hold is NULL. */
  int (*init)(const molt_args_t*, void**);
  int (*handle)(void*, const molt_msg_t*);
  void (*terminate)(void*, int);
  int (*code_change)(molt_direction_t, const char*, uint32_t, const void*,
                     const char*, void**);
  void (*free_state)(void*);
  char* (*format_state)(const void*);

  atomic_long refs;    /* lifetime: the slot's reference + one per user */
  atomic_long actors;  /* actors running this code (soft purge refuses > 0) */
  bool builtin;        /* runtime-provided (e.g. the supervisor): never dlclose'd */
} molt_version_t;

/* Verify the file at path and load it: read it once into memory
 * (molt__module_file_read: never blocks, refuses anything but a regular
 * file of at most MOLT_MODULE_FILE_MAX bytes, checks the ELF header before
 * reading the rest), check the ELF (class, machine, ET_DYN, program and
 * section headers inside the file, no executable stack), write the same
 * bytes to a fresh private path under copy_dir, dlopen(RTLD_NOW|RTLD_LOCAL),
 * find the descriptor and check magic, abi, size, name (if expect_name is
 * non-NULL) in that order.
 * On success *out has refs == 1 (the caller's) and revision 0 (the code
 * server numbers it). On failure returns a MOLT_E* code, writes a one-line
 * reason naming the file, the field, what was expected and what was found
 * into err (if non-NULL), and leaves nothing behind (no copy, no mapping). */
int molt__version_open(const char* path, const char* expect_name,
                       const char* copy_dir, molt_version_t** out, char* err,
                       size_t errlen);

/* The SHA-256 of the bytes v was loaded from (hashed from its private
 * copy, which nobody can change, the first time it is asked for). 0, or a
 * MOLT_E* error (a builtin has no bytes: MOLT_EINVAL). Any thread. */
int molt__version_sha256(molt_version_t* v, uint8_t out[32]);

/* Take and drop references. The last unref closes the version: dlclose,
 * unlink the private copy, free. Any thread. */
void molt__version_ref(molt_version_t* v);
void molt__version_unref(molt_version_t* v);
/* Between enter and leave no version is freed, so a thread that read a
 * version pointer from a slot it does not own (an actor that may exit
 * meanwhile) may read its name and vsn. Any thread; readers do not block
 * each other; keep the section short (a scan of the actor table). */
void molt__version_readers_enter(void);
void molt__version_readers_leave(void);
/* The same for n references at once (n > 0): an upgrade moves a whole
 * scheduler's actors with one atomic each way, not one per actor. */
void molt__version_ref_n(molt_version_t* v, long n);
void molt__version_unref_n(molt_version_t* v, long n);

/* Wrap a descriptor compiled into the container (the supervisor) as a
 * version. Never closed. */
int molt__version_builtin(const molt_module_t* desc, molt_version_t** out);

#endif
