/* heart.h: `molt run --heart`: a small parent that runs the container as
 * its child and restarts it when it dies abnormally, with backoff and a
 * restart limit, as OTP's heart does for a node. Not the container
 * (runtime/container/), nor systemd's part (notify.h), which does the
 * same job where systemd runs. */
#ifndef MOLT_TOOLS_HEART_H
#define MOLT_TOOLS_HEART_H

typedef struct heart_opts {
  int max_restarts;      /* restarts allowed within the window; 0: none */
  unsigned window_s;     /* the window, seconds */
  unsigned first_ms;     /* the first backoff; doubled per restart in the window */
  unsigned max_delay_ms; /* the backoff's ceiling */
} heart_opts_t;

#define HEART_MAX_RESTARTS 5
#define HEART_WINDOW_S 60
#define HEART_FIRST_MS 100
#define HEART_MAX_DELAY_MS 5000

/* Run `argv` less --heart, --max-restarts N and --restart-window SEC as a
 * child of this process (the same executable, /proc/self/exe), restarting
 * it whenever it ends otherwise than cleanly: killed by a signal, or a
 * non-zero exit status (3 too: its root supervisor gave up). An exit with
 * status 0 (molt stop), or any end after this process forwarded it
 * SIGTERM or SIGINT, is final. Logs one line per restart and one when it
 * gives up. Returns this process's exit status: the last child's (0 after
 * a clean stop; its status, or 128 + its signal, when giving up); 1 if the
 * child could not be started at all. Never returns before the child has
 * ended. Call it before anything starts a thread. */
int heart_run(int argc, char** argv, const heart_opts_t* o);

#endif
