/* cli_args.h: the molt command's verbs as data (which options each takes, how
 * many arguments, its usage) and the strict parser that refuses anything
 * else before a request is sent. Not what the verbs do (molt.c). */
#ifndef MOLT_TOOLS_CLI_ARGS_H
#define MOLT_TOOLS_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Every option any verb takes; a verb's table names the ones it accepts.
 * Fewer than 32: cli_parse keeps the ones seen in a bitmask. */
typedef enum {
  CLI_HOME,
  CLI_JSON,
  CLI_RELEASE,
  CLI_SCHEDULERS,
  CLI_MODULE,
  CLI_WATCH,
  CLI_BUILD,
  CLI_SRC,
  CLI_DEBOUNCE,
  CLI_EXTRA,
  CLI_DOWN,
  CLI_CHECK,
  CLI_HARD,
  CLI_UNLOAD,
  CLI_WINDOW,
  CLI_MAX_RESTARTS,
  CLI_COMMIT_AFTER,
  CLI_LIMIT,
  CLI_HEART,
  CLI_STUCK_LIMIT,
  CLI_RESTART_WINDOW,
  CLI_NO_REHEARSAL,
  CLI_LOG_LEVEL,
  CLI_LOG_FORMAT,
  CLI_METRICS,
  CLI_OBSERVER,
  CLI_MAX,
  CLI_DURATION,
  CLI_RATE,
  CLI_SORT,
  CLI_ONCE,
  CLI_NOPTS
} cli_opt_t;

typedef enum {
  CLI_RUN,
  CLI_DEV,
  CLI_NEW_MODULE,
  CLI_STATUS,
  CLI_STOP,
  CLI_RELEASES,
  CLI_UNPACK,
  CLI_REMOVE,
  CLI_UPGRADE,
  CLI_COMMIT,
  CLI_ROLLBACK,
  CLI_LOAD,
  CLI_PURGE,
  CLI_PS,
  CLI_INSPECT,
  CLI_TRACE,
  CLI_TOP,
  CLI_NVERBS
} cli_verb_id_t;

/* What one command line asked for. Strings point into argv. */
typedef struct cli_opts {
  const char* home;
  const char* home_from; /* what chose home: "--home", "$MOLT_HOME" or "the default ./molt-home" */
  const char* release;
  const char* module;
  const char* extra;
  const char* modules[64]; /* every --module, in order (molt dev) */
  int nmodules;
  const char* watch;
  const char* build;
  const char* srcs[16];
  int nsrcs;
  long debounce_ms;
  unsigned schedulers;
  long limit;
  bool heart;          /* molt run --heart (tools/heart.h) */
  long max_restarts;   /* -1: not given */
  long restart_window; /* seconds; -1: not given */
  bool json;
  bool hard;
  bool unload;
  bool commit_after; /* upgrade --commit: once its window passed */
  long window_ms; /* upgrade --window DURATION */
  long stuck_limit_s; /* run --stuck-limit SEC; 0: the default */
  bool down;
  bool check;
  bool no_rehearsal;
  int log_level;  /* run/dev --log-level: a molt_log_level_t (base/log.h); 0: not given */
  bool log_json;  /* run/dev --log-format json */
  const char* metrics;  /* run --metrics ADDR:PORT */
  const char* observer; /* run --observer ADDR:PORT */
  long max_events;  /* trace --max N; 0: not given */
  long duration_ms; /* trace --duration D; 0: not given */
  long rate;        /* trace --rate N/s; 0: not given */
  const char* sort; /* ps --sort: mailbox, memory, time or messages */
  bool once;        /* top --once */
  const char* pos[2]; /* positional arguments after the verb */
  int npos;
} cli_opts_t;

/* One option as a verb takes it: metavar names its value (NULL: a flag),
 * repeat lets it be given more than once. */
typedef struct cli_use {
  cli_opt_t opt;
  const char* metavar;
  bool repeat;
  const char* help;
} cli_use_t;

typedef struct cli_verb {
  const char* name;
  const char* args; /* the positional arguments' synopsis ("VSN"), "" for none */
  int min_pos, max_pos;
  const char* summary; /* one line, for molt --help */
  const char* about;   /* what molt VERB --help adds, or NULL */
  cli_use_t opts[12];  /* ended by an entry without help */
} cli_verb_t;

/* The verb of that name, or NULL. */
const cli_verb_t* cli_verb(const char* name);
/* The table's entry for id (cli_verbs.c). */
const cli_verb_t* cli_verb_by_id(cli_verb_id_t id);

typedef enum { CLI_PARSED, CLI_HELP, CLI_BAD } cli_parse_t;

/* Parse argv[2..] for verb v into o. CLI_HELP if --help or -h is among
 * them (its usage is then printed on stdout, whatever else is wrong);
 * CLI_BAD after one line on stderr naming the verb and what is wrong (an
 * option that is not the verb's, a missing or bad value, a repeat, the
 * wrong number of arguments); else CLI_PARSED. */
cli_parse_t cli_parse(const cli_verb_t* v, int argc, char** argv, cli_opts_t* o);

/* molt VERB --help's text, and molt --help's overview of every verb. */
void cli_usage_verb(FILE* f, const cli_verb_t* v);
void cli_usage(FILE* f);

/* "no container is running in /abs/home (home from ...)" into buf: where
 * the client looked and what chose that home. */
void cli_not_running(const cli_opts_t* o, char* buf, size_t len);

/* path made absolute against the current directory, whether or not it
 * exists yet (a build directory may not), malloc'd; NULL without memory
 * or a current directory. */
char* cli_absolute(const char* path);

#endif
