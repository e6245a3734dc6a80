/* manifest_descriptors.c: each module entry of a manifest held against
 * what its file's descriptor declares. Without this, a "vsn": "1.0.0"
 * entry pointing at a 2.0.0 file was accepted by the bundler and by
 * unpack, and failed only at the upgrade, as an unexplained invalid
 * manifest. Not the digests (manifest_files.c). */
#include "manifest_descriptors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor_file.h"
#include "errmsg.h"
#include "molt/errno.h"

int molt__manifest_descriptor_check(molt_manifest_module_t* mod, size_t index, const char* path, const char* shown,
                                    char* err, size_t errlen) {
  molt_descriptor_id_t id;
  char why[768];
  int rc = molt__descriptor_read_file(path, &id, why, sizeof(why));
  if (rc) return molt__errmsg_set(err, errlen, rc, "modules[%zu].file: %s", index, why);
  if (strcmp(id.name, mod->name) != 0)
    return molt__errmsg_set(err, errlen, MOLT_EMANIFEST, "modules[%zu].name: the manifest says \"%s\", %s says \"%s\"",
                            index, mod->name, shown, id.name);
  if (strcmp(id.vsn, mod->vsn) != 0)
    return molt__errmsg_set(err, errlen, MOLT_EMANIFEST, "modules[%zu].vsn: the manifest says \"%s\", %s says \"%s\"",
                            index, mod->vsn, shown, id.vsn);
  if (mod->has_state_vsn && id.state_vsn != mod->state_vsn)
    return molt__errmsg_set(err, errlen, MOLT_EMANIFEST, "modules[%zu].state_vsn: the manifest says %u, %s says %u",
                            index, (unsigned)mod->state_vsn, shown, (unsigned)id.state_vsn);
  mod->state_vsn = id.state_vsn;
  mod->has_state_vsn = true;
  return 0;
}

int molt__manifest_descriptors_check(molt_manifest_t* m, const char* dir, char* err, size_t errlen) {
  for (size_t i = 0; i < m->nmodules; i++) {
    char* path = NULL;
    if (asprintf(&path, "%s/%s", dir, m->modules[i].file) < 0)
      return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "modules[%zu]: out of memory", i);
    int rc = molt__manifest_descriptor_check(&m->modules[i], i, path, m->modules[i].file, err, errlen);
    free(path);
    if (rc) return rc;
  }
  return 0;
}
