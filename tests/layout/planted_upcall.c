/* planted_upcall.c: a violation of the rule between rooms, planted on
 * purpose: code that includes the container's header and calls it, as if
 * it were part of base. Built with the container's include paths, never
 * linked; check_rooms.sh, told it belongs to base, must refuse both the
 * header and the call (a hand-written extern would pass every include
 * rule, so the symbols are checked as well). */
#include <stddef.h>

#include "container.h"

int molt__layout_planted_upcall(void) { return molt__container_run(NULL, NULL, 0); }
