/* planted_host.c: a host that defines a molt_-named function of its own
 * and exports by pattern (molt_[a-z]*), as exports.list once did, which
 * put the CLI's molt_new_module into every module's namespace.
 * check_exports.sh must refuse it. Built, never run. */
int molt_planted_tool(void);
int molt_planted_tool(void) { return 0; }

int main(void) { return molt_planted_tool(); }
