/* manifest.h: a release manifest turned into molt structs at the edge (the
 * cJSON tree never outlives parsing). Not the release handler. */
#ifndef MOLT_RUNTIME_MANIFEST_H
#define MOLT_RUNTIME_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The file a bundle's manifest has, at the bundle's root. */
#define MOLT_MANIFEST_FILE "release.json"

typedef struct molt_manifest_module {
  char* name;
  char* vsn;
  char* file;          /* relative to the bundle (or source) directory */
  uint8_t sha256[32];
  bool has_sha256;     /* false only in a source manifest */
} molt_manifest_module_t;

typedef enum { MOLT_ONE_FOR_ONE, MOLT_ONE_FOR_ALL, MOLT_REST_FOR_ONE } molt_strategy_t;
typedef enum { MOLT_PERMANENT, MOLT_TRANSIENT, MOLT_TEMPORARY } molt_restart_t;

struct molt_sup_spec;

/* One child of a supervisor: either a worker (module != NULL) or a nested
 * supervisor (sup != NULL). count > 1 starts that many identical workers,
 * ids "<id>.0", "<id>.1", ... */
typedef struct molt_child_spec {
  char* id;
  char* module;
  char* args_json;           /* the "args" object as compact JSON, "{}" if absent */
  molt_restart_t restart;    /* default permanent */
  uint32_t shutdown_ms;      /* default 5000 */
  uint32_t count;            /* default 1 */
  struct molt_sup_spec* sup;
} molt_child_spec_t;

typedef struct molt_sup_spec {
  char* name;                /* registered name, may be NULL */
  molt_strategy_t strategy;  /* default one_for_one */
  uint32_t intensity;        /* max restarts ... default 3 */
  uint32_t period_ms;        /* ... within this period, default 5000 */
  size_t nchildren;
  molt_child_spec_t* children;
} molt_sup_spec_t;

typedef struct molt_manifest {
  char* name;
  char* version;
  size_t nmodules;
  molt_manifest_module_t* modules;
  molt_sup_spec_t* sup;      /* the root supervisor; may be NULL (no actors) */
} molt_manifest_t;

/* Parse manifest text. With require_sha256 every module must carry a
 * "sha256" (bundles); without it the field is optional (source form).
 * Refuses malformed JSON, a duplicate key at any depth, a missing field, a
 * wrong type, an unknown key, a duplicate module, a child naming a module
 * not listed, and a file path that is absolute or escapes its directory
 * ("..", empty components). On failure returns MOLT_EMANIFEST with a
 * one-line reason naming the JSON path of the field (e.g.
 * "modules[1].sha256: expected 64 hex digits, found \"xyz\"") and *out is
 * untouched. *out is freed with molt__manifest_free. */
int molt__manifest_parse(const char* text, size_t len, bool require_sha256,
                         molt_manifest_t** out, char* err, size_t errlen);

/* Read and parse a file (errors name the file). */
int molt__manifest_read(const char* path, bool require_sha256,
                        molt_manifest_t** out, char* err, size_t errlen);

/* Check that every module file exists under dir and matches its sha256.
 * MOLT_ECHECKSUM naming the file, expected and found digests. */
int molt__manifest_verify_files(const molt_manifest_t* m, const char* dir,
                                char* err, size_t errlen);

/* Look a module up by name; NULL if absent. */
const molt_manifest_module_t* molt__manifest_module(const molt_manifest_t* m,
                                                    const char* name);

void molt__manifest_free(molt_manifest_t* m);

/* SHA-256 of a file (libsodium) and hex conversions. */
int molt__sha256_file(const char* path, uint8_t out[32]);
void molt__sha256_hex(const uint8_t digest[32], char hex[65]);
int molt__sha256_parse(const char* hex, uint8_t out[32]);

#endif
