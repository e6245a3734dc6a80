/* manifest.h: a release manifest turned into molt structs at the edge (the
 * cJSON tree never outlives parsing). Not the release handler. */
#ifndef MOLT_RELEASE_MANIFEST_H
#define MOLT_RELEASE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sup_spec.h"

/* The file a bundle's manifest has, at the bundle's root. */
#define MOLT_MANIFEST_FILE "release.json"

typedef struct molt_manifest_module {
  char* name;
  char* vsn;
  char* file;          /* relative to the bundle (or source) directory */
  uint8_t sha256[32];
  bool has_sha256;     /* false only in a source manifest */
  /* Appended: the layout of the module's actor state, as its descriptor
   * declares it. molt-bundle reads it from the file and writes it into
   * every bundle; a source manifest may state it (then it is checked), and
   * a bundle made before it existed lacks it (unpack then reads it). */
  uint32_t state_vsn;
  bool has_state_vsn;
  /* Appended: the mailbox length above which an actor of this module
   * raises an alarm (runtime/container/alarms.c); 0: the release's. */
  uint32_t mailbox_alarm;
} molt_manifest_module_t;

/* The release's alarm thresholds ("alarms", all optional). 0 turns a
 * memory or callback alarm off. */
typedef struct molt_manifest_alarms {
  uint32_t mailbox;                /* messages waiting in one actor's mailbox [10000] */
  uint32_t scheduler_busy_percent; /* a scheduler busier than this... [90] */
  uint32_t scheduler_busy_s;       /* ...for this long [10] */
  uint32_t memory_mb;              /* the container's resident memory [0: off] */
  uint32_t actor_memory_mb;        /* what one actor's callbacks hold [0: off] */
  uint32_t callback_s;             /* one actor in one callback [5] */
} molt_manifest_alarms_t;

#define MOLT_MANIFEST_ALARMS_DEFAULT ((molt_manifest_alarms_t){10000, 90, 10, 0, 0, 5})


/* What one explicit step does to a module, as in OTP's appup. Each op is
 * read in the direction of travel, from the release left to the release
 * entered: update loads the entered side's version and calls code_change
 * (up or down), soft loads it with no state conversion, add loads a module
 * only the entered release has and starts its actors, remove stops the
 * actors of a module only the left release has and purges it. */
typedef enum { MOLT_STEP_UPDATE, MOLT_STEP_SOFT, MOLT_STEP_ADD, MOLT_STEP_REMOVE } molt_step_op_t;

typedef struct molt_manifest_step {
  molt_step_op_t op;
  char* module;
  char* extra;               /* update only, handed to code_change; NULL if absent */
} molt_manifest_step_t;

/* One entry of "upgrade" (vsn is its "from") or "downgrade" (its "to"):
 * the complete, ordered steps between that older release and this one. */
typedef struct molt_manifest_steps {
  char* vsn;
  size_t nsteps;
  molt_manifest_step_t* steps;
} molt_manifest_steps_t;

typedef struct molt_manifest {
  char* name;
  char* version;
  size_t nmodules;
  molt_manifest_module_t* modules;
  molt_sup_spec_t* sup;      /* the root supervisor; may be NULL (no actors) */
  /* Appended for the release handler. As in OTP the newer release carries
   * both directions: how to come up from each listed older version and how
   * to go back down to it. A release with a non-empty list supports only
   * the paths it lists in that direction; none (or an empty list) lets the
   * planner derive the steps from the module differences. */
  size_t nupgrade;
  molt_manifest_steps_t* upgrade;
  size_t ndowngrade;
  molt_manifest_steps_t* downgrade;
  /* Appended: the alarm thresholds; defaults where not given. */
  molt_manifest_alarms_t alarms;
  bool has_alarms; /* "alarms" was given (printed back only then) */
} molt_manifest_t;

/* Parse manifest text. With require_sha256 every module must carry a
 * "sha256" (bundles); without it the field is optional (source form).
 * Refuses malformed JSON, a duplicate key at any depth, a missing field, a
 * wrong type, an unknown key, a duplicate module, a child naming a module
 * not listed, and a file path that is absolute or escapes its directory
 * ("..", empty components). In "upgrade" and "downgrade" it also refuses a
 * version listed twice or not older than this release, a step naming one
 * module twice in its list, "extra" on anything but update, and a module
 * on the wrong side: what this manifest alone can tell (manifest_steps.c
 * has the table). On failure returns MOLT_EMANIFEST with a
 * one-line reason naming the JSON path of the field (e.g.
 * "modules[1].sha256: expected 64 hex digits, found \"xyz\"") and *out is
 * untouched. *out is freed with molt__manifest_free. */
int molt__manifest_parse(const char* text, size_t len, bool require_sha256,
                         molt_manifest_t** out, char* err, size_t errlen);

/* Read and parse a file (errors name the file). */
int molt__manifest_read(const char* path, bool require_sha256,
                        molt_manifest_t** out, char* err, size_t errlen);

/* Check that every module file exists under dir and matches its sha256.
 * MOLT_ECHECKSUM naming the file, expected and found digests. Also
 * MOLT_ENOENT naming a missing file, MOLT_EPERM for a file that resolves
 * (through a symlink) outside dir, MOLT_EINVAL for one that is not a
 * regular file or a module without a sha256 (source form). */
int molt__manifest_verify_files(const molt_manifest_t* m, const char* dir,
                                char* err, size_t errlen);

/* Look a module up by name; NULL if absent. */
const molt_manifest_module_t* molt__manifest_module(const molt_manifest_t* m,
                                                    const char* name);

void molt__manifest_free(molt_manifest_t* m);

/* The bundle form of m as pretty-printed JSON text ending in a newline,
 * every default written out; each args_json is copied in verbatim, so it
 * must be a JSON object's text (as the parser leaves it). *out is the
 * caller's, freed with molt__free. m must carry every sha256, and its
 * steps valid ops with extra on updates only (MOLT_EINVAL otherwise);
 * MOLT_ENOMEM. Empty upgrade/downgrade lists are left out. Parsing the text
 * back with require_sha256 gives an equal manifest. */
int molt__manifest_print(const molt_manifest_t* m, char** out);

/* The lexical rules a manifest's names obey, for code that builds paths
 * or registry keys from names it did not parse itself (a control request
 * naming a release, say). Names and versions are 1 to 63 bytes: release
 * names [a-z0-9_-], module names [a-z0-9_], child ids and supervisor names
 * [A-Za-z0-9_-]; versions anything but '/', whitespace and control bytes. */
bool molt__manifest_release_name_ok(const char* s);
bool molt__manifest_module_name_ok(const char* s);
bool molt__manifest_id_ok(const char* s);
bool molt__manifest_version_ok(const char* s);
/* NULL if file is an acceptable module path (relative, 1 to 255 bytes, no
 * empty, "." or ".." component, no backslash or control byte); else what is
 * wrong, a phrase to follow the path in a message ("is absolute"). */
const char* molt__manifest_file_problem(const char* file);

/* Release order: versions split at '.', parts that are both all digits
 * compared as numbers ("1.10.0" > "1.9.0", "1.0" < "1.0.0"), any other
 * pair of parts as strings (so "1.0.0-rc1" sorts after "1.0.0": not
 * semver). Distinct strings never compare equal ("1.01" vs "1.1" falls
 * back to strcmp), so 0 means the same version. <0, 0, >0 as strcmp. */
int molt__manifest_version_cmp(const char* a, const char* b);

/* "update", "soft", "add", "remove"; "?" for a value out of range. */
const char* molt__manifest_op_name(molt_step_op_t op);

#endif
