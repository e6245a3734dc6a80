/* planted_upcall.c: a violation of the rule between rooms, planted on
 * purpose: code meant for base that reaches the container through a
 * hand-written extern, which every include rule lets through. Built, never
 * linked; check_rooms.sh must refuse it when told it belongs to base. */
#include <stddef.h>

struct molt_container_opts;
extern int molt__container_run(const struct molt_container_opts* opts, char* err, size_t errlen);

int molt__layout_planted_upcall(void) { return molt__container_run(NULL, NULL, 0); }
