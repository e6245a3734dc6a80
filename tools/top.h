/* top.h: `molt top`, a refreshing view of a running container's
 * schedulers, busiest actors and modules, and alarms; `--once` prints one
 * sample (`--json` for scripts). Not the sample itself (the container's
 * `top` command, runtime/container/cmd_top.c). */
#ifndef MOLT_TOOLS_TOP_H
#define MOLT_TOOLS_TOP_H

#include "cli_args.h"

/* The verb: 0, 1 after a one-line reason on stderr. */
int molt_top(const cli_opts_t* o);

#endif
