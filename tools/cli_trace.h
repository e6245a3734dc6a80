/* cli_trace.h: `molt trace`, the client of the container's trace
 * sessions (runtime/container/cmd_trace.c). Named cli_trace, not trace,
 * so that "trace.h" stays the actor core's. */
#ifndef MOLT_TOOLS_CLI_TRACE_H
#define MOLT_TOOLS_CLI_TRACE_H

#include "cli_args.h"

/* Start a session, print its events until Ctrl-C, --max or --duration,
 * stop it. The exit status: 0, 1 on failure (one line on stderr). */
int cli_trace(const cli_opts_t* o);

#endif
