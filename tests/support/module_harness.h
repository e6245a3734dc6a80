/* module_harness.h: what a module's own Criterion tests use (molt new-module
 * writes one): a real runtime in the test process, the module's built file
 * loaded through the code server exactly as the container loads it, and a
 * client actor that lets the test thread call an actor and wait for its
 * reply. */
#ifndef MOLT_TEST_MODULE_HARNESS_H
#define MOLT_TEST_MODULE_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "molt/module.h"

/* A suite's .init and .fini: a runtime with two schedulers, and the
 * client actor. */
void mt_setup(void);
void mt_teardown(void);

/* Load a module file (MOLT_TEST_MODULE_FILE is the one under test) as the
 * current version of its module; asserts it loaded. Returns the module's
 * name. */
const char* mt_load(const char* path);

/* Spawn an actor of module with args (JSON text or NULL); asserts. */
molt_pid_t mt_spawn(const char* module, const char* args_json);

/* Send (tag, req) to `to` from the client actor, wait up to 5 s for the
 * reply (molt_reply) and check it carries reply_tag and exactly reply_size
 * bytes, copied to reply. Asserts. At most 256 bytes each way. */
void mt_call(molt_pid_t to, uint32_t tag, const void* req, size_t size, uint32_t reply_tag, void* reply,
             size_t reply_size);

/* Send without waiting, from outside any actor. */
void mt_send(molt_pid_t to, uint32_t tag, const void* data, size_t size);

#endif
