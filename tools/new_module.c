/* new_module.c: `molt new-module NAME [DIR]`: a new module project in
 * DIR/NAME that builds, passes its test and runs in the development loop
 * as it is: the source (a small service with a state, a reply and a
 * code_change hook), its protocol header, a Criterion test on the test kit
 * (molt/testkit.h), a CMakeLists.txt (find_package(Molt), molt_add_module,
 * molt_add_module_test, molt_add_release) that also works inside molt's
 * own tree, the release manifest 0.1.0, a pkg-config Makefile and a
 * README. The templates below are the files, with @NAME@ and
 * @UNAME@ (upper case) filled in. */
#include "new_module.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char source_tmpl[] =
    "/* @NAME@: a molt module. Change it, rebuild, and `molt dev` loads the new\n"
    " * code into the running actors with their state kept: the greeting it\n"
    " * logs every second changes, its tick count carries on.\n"
    " *\n"
    " * Its protocol is in @NAME@.h. */\n"
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "\n"
    "#include \"@NAME@.h\"\n"
    "#include \"molt/module.h\"\n"
    "\n"
    "#define GREETING \"hello\"\n"
    "\n"
    "enum { TICK = 1000 }; /* the timer's message to ourselves */\n"
    "\n"
    "/* The state. Change its layout and bump state_vsn (MOLT_MODULE below):\n"
    " * @NAME@_code_change then converts every running actor's old state. */\n"
    "typedef struct {\n"
    "  uint64_t ticks, hellos;\n"
    "  uint64_t interval_ms;\n"
    "} @NAME@_state_t;\n"
    "\n"
    "static int @NAME@_init(const molt_args_t* args, void** state) {\n"
    "  @NAME@_state_t* s = molt_calloc(1, sizeof(*s));\n"
    "  if (!s) return MOLT_ENOMEM;\n"
    "  s->interval_ms = (uint64_t)molt_args_int(args, \"interval_ms\", 1000);\n"
    "  const char* name = molt_args_str(args, \"name\", NULL);\n"
    "  int rc = name ? molt_register(name) : 0;\n"
    "  if (!rc) rc = molt_send_after(s->interval_ms, molt_self(), TICK, NULL, 0, NULL);\n"
    "  if (rc) {\n"
    "    molt_free(s);\n"
    "    return rc;\n"
    "  }\n"
    "  *state = s;\n"
    "  return 0;\n"
    "}\n"
    "\n"
    "static int @NAME@_handle(void* state, const molt_msg_t* msg) {\n"
    "  @NAME@_state_t* s = state;\n"
    "  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;\n"
    "  if (msg->tag == TICK && msg->from == molt_self()) {\n"
    "    molt_log(GREETING \", world (tick %llu)\", (unsigned long long)++s->ticks);\n"
    "    return molt_send_after(s->interval_ms, molt_self(), TICK, NULL, 0, NULL);\n"
    "  }\n"
    "  if (msg->tag != @UNAME@_HELLO) return MOLT_OK;\n"
    "  char who[32] = \"world\";\n"
    "  if (msg->size > 0 && msg->size < sizeof(who)) {\n"
    "    memcpy(who, msg->data, msg->size);\n"
    "    who[msg->size] = '\\0';\n"
    "  }\n"
    "  @NAME@_greeting_t g = {.hellos = ++s->hellos};\n"
    "  snprintf(g.text, sizeof(g.text), GREETING \", %s\", who);\n"
    "  return molt_reply(msg, @UNAME@_GREETING, &g, sizeof(g));\n"
    "}\n"
    "\n"
    "static void @NAME@_terminate(void* state, int reason) {}\n"
    "\n"
    "/* Called for every actor when a load changes state_vsn: build the new\n"
    " * state from old (never modify old: if any actor's change fails, every\n"
    " * actor keeps its old state and code). from_state_vsn is the old\n"
    " * layout's state_vsn. */\n"
    "static int @NAME@_code_change(molt_direction_t dir, const char* vsn, uint32_t from_state_vsn,\n"
    "                              const void* old, const char* extra, void** out) {\n"
    "  return MOLT_EINVAL; /* no older layout yet */\n"
    "}\n"
    "\n"
    "static void @NAME@_free_state(void* state) { molt_free(state); }\n"
    "\n"
    "/* What `molt inspect` shows: JSON, allocated with molt_alloc. */\n"
    "static char* @NAME@_format_state(const void* state) {\n"
    "  const @NAME@_state_t* s = state;\n"
    "  char* out = molt_alloc(96);\n"
    "  if (out)\n"
    "    snprintf(out, 96, \"{\\\"ticks\\\":%llu,\\\"hellos\\\":%llu}\", (unsigned long long)s->ticks,\n"
    "             (unsigned long long)s->hellos);\n"
    "  return out;\n"
    "}\n"
    "\n"
    "MOLT_MODULE(\"@NAME@\", \"0.1.0\", 1, @NAME@);\n";

static const char proto_tmpl[] =
    "/* @NAME@.h: @NAME@'s protocol, what its clients include: @UNAME@_HELLO\n"
    " * (payload: a name, up to 31 bytes) is answered with @UNAME@_GREETING, a\n"
    " * @NAME@_greeting_t. */\n"
    "#ifndef @UNAME@_H\n"
    "#define @UNAME@_H\n"
    "\n"
    "#include <stdint.h>\n"
    "\n"
    "enum { @UNAME@_HELLO = 1, @UNAME@_GREETING = 2 };\n"
    "\n"
    "typedef struct {\n"
    "  uint64_t hellos; /* how many greetings this actor has given */\n"
    "  char text[64];\n"
    "} @NAME@_greeting_t;\n"
    "\n"
    "#endif\n";

static const char cmake_tmpl[] =
    "# @NAME@: a molt module project. On its own, against an installed molt:\n"
    "#   cmake -S . -B build && cmake --build build && ctest --test-dir build\n"
    "# builds build/modules/@NAME@-0.1.0.so, its test @NAME@_test and the release\n"
    "# bundle build/releases/@NAME@ (release.json). Inside molt's source tree\n"
    "# (modules/, or -DMOLT_MODULE_DIRS) molt's own build takes it: the module\n"
    "# and its test, no bundle.\n"
    "cmake_minimum_required(VERSION 3.18)\n"
    "if(CMAKE_SOURCE_DIR STREQUAL CMAKE_CURRENT_SOURCE_DIR)\n"
    "  project(@NAME@ C)\n"
    "  find_package(Molt 0.15 REQUIRED) # -DCMAKE_PREFIX_PATH=<prefix> for another prefix\n"
    "  enable_testing()\n"
    "endif()\n"
    "\n"
    "# The vsn here, in @NAME@.c (MOLT_MODULE) and in release.json go together.\n"
    "molt_add_module(@NAME@ NAME @NAME@ VSN 0.1.0 SOURCES @NAME@.c)\n"
    "molt_add_module_test(@NAME@_test MODULE @NAME@ SOURCES @NAME@_test.c)\n"
    "if(COMMAND molt_add_release)\n"
    "  molt_add_release(@NAME@_release MANIFEST release.json MODULES @NAME@ OUTPUT ${CMAKE_BINARY_DIR}/releases/@NAME@)\n"
    "endif()\n";

static const char release_tmpl[] =
    "{\n"
    "  \"name\": \"@NAME@\",\n"
    "  \"version\": \"0.1.0\",\n"
    "  \"modules\": [{\"name\": \"@NAME@\", \"vsn\": \"0.1.0\", \"file\": \"@NAME@-0.1.0.so\"}],\n"
    "  \"supervisor\": {\"name\": \"@NAME@_sup\", \"strategy\": \"one_for_one\", \"intensity\": 3, \"period_ms\": 5000,\n"
    "                 \"children\": [{\"id\": \"@NAME@\", \"module\": \"@NAME@\", \"args\": {\"name\": \"@NAME@\"}}]}\n"
    "}\n";

static const char make_tmpl[] =
    "# The module alone, with cc and pkg-config (PKG_CONFIG_PATH=<prefix>/lib/pkgconfig for another prefix).\n"
    "@NAME@-0.1.0.so: @NAME@.c @NAME@.h\n"
    "\t$(CC) -O2 -g $(CFLAGS) $$(pkg-config --cflags --libs molt) -o $@ @NAME@.c\n"
    "\tchmod go-w $@  # molt loads no module others could change\n";

static const char readme_tmpl[] =
    "# @NAME@\n"
    "\n"
    "A molt module (`molt new-module @NAME@`). Its protocol is `@NAME@.h`.\n"
    "\n"
    "```sh\n"
    "cmake -S . -B build && cmake --build build      # -DCMAKE_PREFIX_PATH=<prefix> if molt is elsewhere\n"
    "ctest --test-dir build                          # @NAME@_test.c on the molt test kit\n"
    "molt dev --module build/modules/@NAME@-0.1.0.so --build \"cmake --build build\" --src .\n"
    "molt run --release build/releases/@NAME@      # the bundle of release.json (molt_add_release)\n"
    "make                                            # @NAME@-0.1.0.so with cc and pkg-config, no CMake\n"
    "```\n"
    "\n"
    "Under `molt dev`, edit `@NAME@.c` and save: the running actor takes the new\n"
    "code with its state. For a new version, bump the vsn in `@NAME@.c`,\n"
    "`CMakeLists.txt` and a new release manifest, bundle it, then\n"
    "`molt upgrade <bundle>` on the running container.\n";

static const char test_tmpl[] =
    "/* @NAME@_test.c: the built @NAME@.so in a real runtime, called the way\n"
    " * other actors call it. */\n"
    "#include <criterion/criterion.h>\n"
    "#include <string.h>\n"
    "\n"
    "#include \"@NAME@.h\"\n"
    "#include <molt/testkit.h>\n"
    "\n"
    "TestSuite(@NAME@, .init = mt_setup, .fini = mt_teardown, .timeout = 30);\n"
    "\n"
    "Test(@NAME@, greets_and_counts) {\n"
    "  const char* module = mt_load(MOLT_TEST_MODULE_FILE);\n"
    "  cr_assert_str_eq(module, \"@NAME@\");\n"
    "  molt_pid_t pid = mt_spawn(\"@NAME@\", \"{\\\"name\\\":\\\"@NAME@\\\"}\");\n"
    "  @NAME@_greeting_t g;\n"
    "  mt_call(pid, @UNAME@_HELLO, \"molt\", 4, @UNAME@_GREETING, &g, sizeof(g));\n"
    "  cr_assert_str_eq(g.text, \"hello, molt\");\n"
    "  cr_assert_eq(g.hellos, 1);\n"
    "  mt_call(pid, @UNAME@_HELLO, NULL, 0, @UNAME@_GREETING, &g, sizeof(g));\n"
    "  cr_assert_str_eq(g.text, \"hello, world\");\n"
    "  cr_assert_eq(g.hellos, 2);\n"
    "}\n";

static bool name_ok(const char* name) {
  size_t n = strlen(name);
  if (n < 1 || n > 48 || !islower((unsigned char)name[0])) return false;
  for (size_t i = 0; i < n; i++)
    if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) && name[i] != '_') return false;
  return true;
}

/* tmpl with @NAME@ and @UNAME@ replaced, written to path (which must not
 * exist). */
static int write_file(const char* path, const char* tmpl, const char* name, char* err, size_t errlen) {
  char uname[64];
  size_t i;
  for (i = 0; name[i] && i < sizeof(uname) - 1; i++) uname[i] = (char)toupper((unsigned char)name[i]);
  uname[i] = '\0';
  FILE* f = fopen(path, "wx");
  if (!f) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  for (const char* p = tmpl; *p;) {
    if (strncmp(p, "@NAME@", 6) == 0) {
      fputs(name, f);
      p += 6;
    } else if (strncmp(p, "@UNAME@", 7) == 0) {
      fputs(uname, f);
      p += 7;
    } else {
      fputc(*p++, f);
    }
  }
  if (fclose(f) != 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}

int new_module_create(const char* name, const char* dir, char* err, size_t errlen) {
  if (!name_ok(name)) {
    snprintf(err, errlen, "\"%s\": a module name is a lower-case letter, then up to 47 of [a-z0-9_]", name);
    return -1;
  }
  char mdir[4096], path[4200];
  snprintf(mdir, sizeof(mdir), "%s/%s", dir, name);
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "%s: not a directory (give DIR: where the module's directory goes)", dir);
    return -1;
  }
  if (mkdir(mdir, 0755) != 0) {
    snprintf(err, errlen, "%s: %s", mdir, errno == EEXIST ? "already exists; nothing written" : strerror(errno));
    return -1;
  }
  static const struct {
    const char* suffix;
    const char* tmpl;
    bool fixed; /* a fixed file name, not NAME + suffix */
  } files[] = {{".c", source_tmpl, false},         {".h", proto_tmpl, false},     {"_test.c", test_tmpl, false},
               {"CMakeLists.txt", cmake_tmpl, true}, {"release.json", release_tmpl, true}, {"Makefile", make_tmpl, true},
               {"README.md", readme_tmpl, true}};
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    if (files[i].fixed)
      snprintf(path, sizeof(path), "%s/%s", mdir, files[i].suffix);
    else
      snprintf(path, sizeof(path), "%s/%s%s", mdir, name, files[i].suffix);
    if (write_file(path, files[i].tmpl, name, err, errlen) != 0) return -1;
    printf("created %s\n", path);
  }
  return 0;
}
