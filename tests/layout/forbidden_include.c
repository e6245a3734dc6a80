/* forbidden_include.c: the actor core including a header of the TCP room
 * above it. Built only by the layout test (never by default), which
 * expects the compiler to refuse: the actor room's include paths reach
 * only itself and the rooms below. */
#include "tcp.h"

int molt__layout_forbidden_include(void) { return 0; }
