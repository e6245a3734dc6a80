/* manifest_descriptors.h: a manifest's module entries held against the
 * descriptors their files declare, read without running anything of them
 * (descriptor_file.h). What the bundler and unpack share, so that a
 * manifest that misnames its modules never becomes a release. Not the
 * digests (manifest_files.c) nor the loading. */
#ifndef MOLT_RELEASE_MANIFEST_DESCRIPTORS_H
#define MOLT_RELEASE_MANIFEST_DESCRIPTORS_H

#include <stddef.h>

#include "manifest.h"

/* Check modules[index] of a manifest against the module file at path,
 * named shown in messages: the file must pass the loader's checks and its
 * descriptor declare the entry's name, vsn and, if the entry has one,
 * state_vsn. An entry without state_vsn is given the file's. Refusals:
 * MOLT_EMANIFEST "modules[1].vsn: the manifest says \"1.0.0\",
 * modules/tally-2.0.0.so says \"2.0.0\"" (likewise .name, and .state_vsn
 * without quotes), or the loader's code with "modules[1].file: " before
 * its message. On failure mod is unchanged. */
int molt__manifest_descriptor_check(molt_manifest_module_t* mod, size_t index, const char* path, const char* shown,
                                    char* err, size_t errlen);

/* The same for every module of m, whose files lie under dir (each named
 * by its manifest path in messages). Stops at the first refusal. */
int molt__manifest_descriptors_check(molt_manifest_t* m, const char* dir, char* err, size_t errlen);

#endif
