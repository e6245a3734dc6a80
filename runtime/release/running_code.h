/* running_code.h: what a release's modules actually run, as the code
 * server has it (vsn, revision, state layout, bytes), set against what the
 * release's manifest lists: the drift a `molt load` outside any release
 * leaves behind. Not the code server, which it only reads, nor the
 * planner, which plans from it. */
#ifndef MOLT_RELEASE_RUNNING_CODE_H
#define MOLT_RELEASE_RUNNING_CODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "descriptor.h"
#include "manifest.h"

typedef struct molt_running_module {
  char name[MOLT_MODULE_NAME_MAX + 1];
  const char* release_vsn; /* the manifest's vsn (borrowed); NULL: the release has no such module */
  bool loaded;             /* a version of it is current; the fields below describe that version */
  char vsn[MOLT_MODULE_VSN_MAX + 1];
  char label[MOLT_MODULE_VSN_MAX + 16]; /* vsn, or vsn+dev.N */
  unsigned revision;
  uint32_t state_vsn;
  uint8_t sha256[32];
  /* What runs is not the release's code: another vsn, other bytes, nothing
   * at all, or a module the release does not list. Equal bytes under
   * another label (the same file loaded again) are the release's code. */
  bool differs;
} molt_running_module_t;

typedef struct molt_running {
  size_t n;
  molt_running_module_t* mods; /* the manifest's modules in its order, then the
                                  modules it does not list, by name */
} molt_running_t;

/* Read what runs, for every module of m and every other module with a
 * current version (builtins, such as the supervisor, left out). Hashes the
 * running versions' private copies the first time each is asked (cached
 * by the version after that). Any thread but a scheduler's; takes the code
 * server's lock briefly, never while hashing. 0 and *out (the caller's,
 * freed with molt__running_free), or MOLT_ENOMEM, or the error of a hash
 * that could not be computed, naming the module. */
int molt__running_read(const molt_manifest_t* m, molt_running_t* out, char* err, size_t errlen);

void molt__running_free(molt_running_t* r);

/* The entry of module name; NULL if there is none. */
const molt_running_module_t* molt__running_find(const molt_running_t* r, const char* name);

/* How many entries differ from the release. */
size_t molt__running_drift(const molt_running_t* r);

#endif
