/* cli_verbs.c: the molt command's verbs as data: for each, the options it
 * accepts, its arguments and its usage. Which verb does what is molt.c's;
 * reading a command line against this table is cli_args.c's. */
#include <string.h>

#include "cli_args.h"

#define HOME {CLI_HOME, "DIR", false, "the home (default: $MOLT_HOME, else ./molt-home)"}
#define LOG_LEVEL {CLI_LOG_LEVEL, "LEVEL", false, "error, warning, info (the default) or debug: hide lines below"}
#define LOG_FORMAT {CLI_LOG_FORMAT, "FORMAT", false, "text (the default) or json: one object per line"}
#define JSON {CLI_JSON, NULL, false, "machine-readable output (failures too, on stderr)"}

/* run, dev and new-module print for people only, so they take no --json;
 * new-module writes source files and needs no home. */
static const cli_verb_t verbs[CLI_NVERBS] = {
    [CLI_RUN] = {"run", "", 0, 0, "run a container on the home's permanent release",
                 "In the foreground, until molt stop, SIGINT or SIGTERM; one line once it serves.\n"
                 "In a home with no permanent release, --release boots and becomes permanent once\n"
                 "its tree has started; a boot that fails leaves it unpacked (molt remove VSN).\n"
                 "Under systemd (Type=notify) it sends READY=1, STATUS= and WATCHDOG=1. Without\n"
                 "it, --heart runs the container in a child and restarts it when it dies.",
                 {{CLI_RELEASE, "BUNDLE_DIR", false,
                   "unpack this bundle first (booted if none is permanent)"},
                  {CLI_SCHEDULERS, "N", false, "scheduler threads, 1..1024 (default: one per core)"},
                  {CLI_HEART, NULL, false, "restart the container on abnormal exit, with backoff"},
                  {CLI_MAX_RESTARTS, "N", false, "with --heart: give up after N restarts (default 5)..."},
                  {CLI_RESTART_WINDOW, "SEC", false, "...within SEC seconds (default 60)"},
                  {CLI_STUCK_LIMIT, "SEC", false, "a callback running longer is a fatal fault (default 60)"},
                  {CLI_METRICS, "ADDR:PORT", false, "serve Prometheus /metrics there (127.0.0.1:9100)"},
                  {CLI_OBSERVER, "ADDR:PORT", false, "serve the live observer page there (may equal --metrics)"},
                  LOG_LEVEL,
                  LOG_FORMAT,
                  HOME}},
    [CLI_DEV] = {"dev", "", 0, 0, "run a container that loads each rebuilt module",
                 "Each module file rewritten in the watched directory is loaded under the running\n"
                 "actors, state kept (a soft load, or code_change when its state layout changed).\n"
                 "--module runs one actor of each file instead of a release: give --release or\n"
                 "--module, not both.",
                 {{CLI_RELEASE, "BUNDLE_DIR", false, "run this release bundle (as molt run --release)"},
                  {CLI_MODULE, "FILE.so", true, "run one actor of this module file instead of a release"},
                  {CLI_WATCH, "DIR", false, "where built modules land (default: build/modules)"},
                  {CLI_BUILD, "CMD", false, "run CMD at start and when a file under --src changes"},
                  {CLI_SRC, "DIR", true, "sources whose change runs --build (not recursive)"},
                  {CLI_DEBOUNCE, "MS", false, "load a file once quiet MS ms, 0..60000 (default 0)"},
                  {CLI_SCHEDULERS, "N", false, "scheduler threads, 1..1024 (default: one per core)"},
                  LOG_LEVEL,
                  LOG_FORMAT,
                  HOME}},
    [CLI_NEW_MODULE] = {"new-module", "NAME [DIR]", 1, 2, "scaffold a module project in DIR/NAME (default DIR: .)",
                        "Writes its source, header, CMakeLists.txt and a Criterion test.",
                        {{0}}},
    [CLI_STATUS] = {"status", "", 0, 0, "show the release, uptime, schedulers, actors, modules", NULL,
                    {HOME, JSON}},
    [CLI_STOP] = {"stop", "", 0, 0, "stop the container; return once it has exited",
                  "Every actor's terminate runs; molt stop returns once the container's process\n"
                  "is gone.",
                  {HOME, JSON}},
    [CLI_RELEASES] = {"releases", "", 0, 0, "list every known release and its state",
                      "With no container serving the home, read from the home itself (nothing is\n"
                      "running then).",
                      {HOME, JSON}},
    [CLI_UNPACK] = {"unpack", "BUNDLE_DIR", 1, 1, "verify a release bundle and copy it into the home", NULL,
                    {HOME, JSON}},
    [CLI_REMOVE] = {"remove", "VSN", 1, 1, "delete an unpacked or old release from the home",
                    "Never the permanent release or the running one. An old release leaves the way\n"
                    "back too: rollback then goes to the release permanent before it. With no\n"
                    "container serving the home, done in the home itself.",
                    {HOME, JSON}},
    [CLI_UPGRADE] = {"upgrade", "VSN", 1, 1, "move to release VSN as one transaction (up or down)",
                     "Not committed: molt commit makes VSN permanent, molt rollback goes back.\n"
                     "With --window, the changed modules' crashes are counted for DURATION after the\n"
                     "switch (30s, 500ms, 2m): more than --max-restarts roll the upgrade back by\n"
                     "itself; a clean window with --commit commits it. Every code_change is first\n"
                     "rehearsed on the actors' real states in a forked copy (up, then down), and a\n"
                     "crash, hang, error or round-trip mismatch refuses the upgrade; --check runs\n"
                     "the rehearsal too.",
                     {{CLI_CHECK, NULL, false, "only show the steps and rehearse, changing nothing"},
                      {CLI_NO_REHEARSAL, NULL, false, "skip the rehearsal of code_change"},
                      {CLI_WINDOW, "DURATION", false, "watch the upgrade this long after the switch"},
                      {CLI_MAX_RESTARTS, "N", false, "crashes the window allows (default 0)"},
                      {CLI_COMMIT_AFTER, NULL, false, "commit once the window passed cleanly"},
                      HOME,
                      JSON}},
    [CLI_COMMIT] = {"commit", "", 0, 0, "make the current release permanent (what boot runs)", NULL, {HOME, JSON}},
    [CLI_ROLLBACK] = {"rollback", "", 0, 0, "go back to the previous permanent release",
                      "After an uncommitted upgrade, back to the permanent release; else to the\n"
                      "release that was permanent before it.",
                      {HOME, JSON}},
    [CLI_LOAD] = {"load", "FILE.so", 1, 1, "load a module version under the running actors",
                  "As one transaction: a soft load, or code_change on every actor when its state\n"
                  "layout changed; code_change is rehearsed first in a forked copy (up, then down).",
                  {{CLI_EXTRA, "STR", false, "passed to code_change as its extra argument"},
                   {CLI_NO_REHEARSAL, NULL, false, "skip the rehearsal of code_change"},
                   {CLI_DOWN, NULL, false, "to an older state layout, through code_change down"},
                   HOME,
                   JSON}},
    [CLI_PURGE] = {"purge", "MODULE", 1, 1, "drop a module's old version",
                   "Refused while actors run it, unless --hard. With --unload, the module goes\n"
                   "whole: for one loaded by hand that no actor runs and the running release\n"
                   "does not list.",
                   {{CLI_HARD, NULL, false, "kill the actors still running the old version"},
                    {CLI_UNLOAD, NULL, false, "unload the module, current and old version"},
                    HOME,
                    JSON}},
    [CLI_PS] = {"ps", "", 0, 0, "list actors and their vital signs",
                "Per actor: messages handled, mailbox length (as of its last turn), memory its\n"
                "callbacks hold, time in callbacks (sampled each millisecond), and the callback\n"
                "it is in now and for how long. Read from the runtime: a busy actor is shown too.",
                {{CLI_MODULE, "NAME", false, "only the actors of module NAME"},
                 {CLI_SORT, "KEY", false, "largest first by mailbox, memory, time or messages"},
                 {CLI_LIMIT, "N", false, "at most N actors (default: 1000)"},
                 HOME,
                 JSON}},
    [CLI_INSPECT] = {"inspect", "PID|NAME", 1, 1, "show one actor, its links, monitors, timers and state",
                     "PID as ps shows it (<12.1>) or a registered name. Its figures come from the\n"
                     "runtime; links, monitors, timers and the state (its module's format_state) are\n"
                     "read in the actor's own turn, and a busy actor's are reported as unread.",
                     {HOME, JSON}},
    [CLI_TRACE] = {"trace", "[PID|NAME]", 0, 1, "print what an actor or a module's actors do, as it happens",
                   "One line per event, with its wall-clock time in microseconds: a message\n"
                   "received (sender, tag, size) or sent (receiver, tag, size), a spawn, an exit\n"
                   "and its reason, a link or monitor, a code change (from -> to). Until Ctrl-C,\n"
                   "--max or --duration. At most --rate events a second: the rest are counted and\n"
                   "reported as dropped, never queued. Give PID|NAME or --module, not both.",
                   {{CLI_MODULE, "NAME", false, "trace every actor of module NAME (and those it spawns)"},
                    {CLI_MAX, "N", false, "stop after N events"},
                    {CLI_DURATION, "DURATION", false, "stop after DURATION (30s, 500ms, 2m)"},
                    {CLI_RATE, "N/s", false, "at most N events a second, 1..100000 (default 500)"},
                    HOME,
                    JSON}},
    [CLI_TOP] = {"top", "", 0, 0, "watch schedulers and the busiest actors and modules",
                 "Redraws every second: each scheduler's utilisation and run queue, the actors\n"
                 "with the longest mailboxes, most memory, most callback time and highest message\n"
                 "rate, the modules' sums, and the alarms set. q quits.",
                 {{CLI_ONCE, NULL, false, "print one sample and exit"},
                  {CLI_LIMIT, "N", false, "actors per list, 1..1000 (default: 10)"},
                  HOME,
                  JSON}},
};

const cli_verb_t* cli_verb_by_id(cli_verb_id_t id) { return &verbs[id]; }

const cli_verb_t* cli_verb(const char* name) {
  for (size_t i = 0; i < CLI_NVERBS; i++)
    if (strcmp(verbs[i].name, name) == 0) return &verbs[i];
  return NULL;
}
