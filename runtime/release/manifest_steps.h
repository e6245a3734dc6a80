/* manifest_steps.h: how the manifest parser hands the "upgrade" and
 * "downgrade" lists to manifest_steps.c. Private to the manifest files;
 * printing them back is manifest_print.c's. */
#ifndef MOLT_RELEASE_MANIFEST_STEPS_H
#define MOLT_RELEASE_MANIFEST_STEPS_H

#include <cjson/cJSON.h>

#include "jsonpath.h"
#include "manifest.h"

/* Convert root's optional "upgrade" and "downgrade" members into m, whose
 * version and modules are already converted. What is built hangs off m
 * even on failure, for molt__manifest_steps_free. MOLT_EMANIFEST with the
 * JSON path in p's message, MOLT_ENOMEM. */
int molt__manifest_steps_convert(molt_jsonpath_t* p, const cJSON* root, molt_manifest_t* m);

void molt__manifest_steps_free(molt_manifest_t* m);

#endif
