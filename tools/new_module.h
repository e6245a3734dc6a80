/* new_module.h: `molt new-module`: scaffold a module's directory. */
#ifndef MOLT_TOOLS_NEW_MODULE_H
#define MOLT_TOOLS_NEW_MODULE_H

#include <stddef.h>

/* Write dir/name/{name.c, name.h, name_test.c, CMakeLists.txt, release.json,
 * Makefile, README.md}, printing each path. Refuses (nothing written) a bad name, a missing dir or an
 * existing dir/name. Returns 0, or -1 with a one-line reason in err. */
int new_module_create(const char* name, const char* dir, char* err, size_t errlen);

#endif
