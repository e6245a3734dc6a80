#!/bin/sh
# install_test.sh BUILD_DIR: `cmake --install` into a temporary prefix,
# then use only what was installed, from a directory outside the source
# tree, as a module's author would: a module and a release built with
# find_package(Molt) (molt_add_module, molt_add_release), run by the
# installed molt; the same source built with cc and `pkg-config molt`,
# loaded into it with `molt load`; and the installed `molt new-module`'s
# project, built, tested (ctest) and made (pkg-config) where it was
# written. Also: no path of the build tree in the installed molt.
set -eu
build=$(cd "$1" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/molt-install.XXXXXX")
molt_pid=
cleanup() {
  [ -n "$molt_pid" ] && kill "$molt_pid" 2>/dev/null && wait "$molt_pid" 2>/dev/null
  [ -n "${MOLT_INSTALL_TEST_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "install_test: $*" >&2; [ -f "$tmp/run.log" ] && cat "$tmp/run.log" >&2; exit 1; }
step() { echo "== $*"; }

prefix=$tmp/prefix
step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "install failed"; }
for f in bin/molt bin/molt-bundle include/molt/module.h include/molt/actor.h include/molt/tcp.h \
         include/molt/errno.h include/molt/version.h include/molt/testkit.h lib/libmolt_testkit.a \
         lib/pkgconfig/molt.pc lib/cmake/Molt/MoltConfig.cmake lib/cmake/Molt/MoltConfigVersion.cmake \
         lib/systemd/system/molt@.service; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
grep -q "^ExecStart=$prefix/bin/molt run " "$prefix/lib/systemd/system/molt@.service" ||
  fail "the unit's ExecStart: $(grep ExecStart "$prefix/lib/systemd/system/molt@.service")"
if strings "$prefix/bin/molt" "$prefix/bin/molt-bundle" | grep -F "$build"; then
  fail "the installed molt names the build tree $build"
fi
"$prefix/bin/molt" --version | grep -Eq '^molt [0-9]+\.[0-9]+\.[0-9]+ \(module ABI [0-9]+\)$' ||
  fail "molt --version: $("$prefix/bin/molt" --version)"

# Move the prefix: everything must find the rest relative to itself.
mv "$prefix" "$tmp/moved"
prefix=$tmp/moved

proj=$tmp/hello
mkdir -p "$proj"
cat >"$proj/hello.c" <<'C'
#include <molt/actor.h>
#include <molt/module.h>
#include <molt/version.h>

_Static_assert(MOLT_VERSION_MAJOR >= 0 && sizeof(MOLT_VERSION_STRING) > 5, "molt/version.h");

#ifndef HELLO_VSN
#define HELLO_VSN "1.0.0"
#endif

static int init(const molt_args_t* args, void** state) {
  *state = molt_alloc(16);
  return *state ? 0 : MOLT_ENOMEM;
}
/* Tag 1: reply with tag 2 and the same bytes. */
static int handle(void* state, const molt_msg_t* msg) {
  if (msg->kind == MOLT_MSG_USER && msg->tag == 1) return molt_reply(msg, 2, msg->data, msg->size);
  return MOLT_OK;
}

MOLT_EXPORT const molt_module_t molt_module = {
    .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION, .size = sizeof(molt_module_t), .state_vsn = 1,
    .name = "hello", .vsn = HELLO_VSN,
    .init = init, .handle = handle, .free_state = molt_free};
C
cat >"$proj/hello.json" <<'J'
{
  "name": "hello",
  "version": "1.0.0",
  "modules": [{"name": "hello", "vsn": "1.0.0", "file": "hello-1.0.0.so"}],
  "supervisor": {"name": "hello_sup", "strategy": "one_for_one", "intensity": 3, "period_ms": 5000,
                 "children": [{"id": "hello", "module": "hello"}]}
}
J
cat >"$proj/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(hello C)
find_package(Molt 0.15 REQUIRED PATHS "$prefix" NO_DEFAULT_PATH)
molt_add_module(hello_1_0_0 NAME hello VSN 1.0.0 SOURCES hello.c)
molt_add_release(hello_release MANIFEST hello.json MODULES hello_1_0_0)
molt_add_module_test(hello_test MODULE hello_1_0_0 SOURCES hello_test.c)
CM
cat >"$proj/hello_test.c" <<'C'
#include <criterion/criterion.h>
#include <molt/testkit.h>

TestSuite(hello, .init = mt_setup, .fini = mt_teardown, .timeout = 30);

Test(hello, echoes) {
  cr_assert_str_eq(mt_load(MOLT_TEST_MODULE_FILE), "hello");
  molt_pid_t pid = mt_spawn("hello", NULL);
  char reply[5] = "";
  mt_call(pid, 1, "ping", 4, 2, reply, 4);
  cr_assert_str_eq(reply, "ping");
}
C
step "cmake configure and build of a module project using find_package(Molt)"
cmake -S "$proj" -B "$proj/build" >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; fail "configure failed"; }
cmake --build "$proj/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "build failed"; }
so=$proj/build/modules/hello-1.0.0.so
bundle=$proj/build/releases/hello_release
[ -f "$so" ] || fail "no $so"
[ -f "$bundle/release.json" ] || fail "no bundle in $bundle"
"$proj/build/hello_test" --jobs 2 -S >"$tmp/kit.log" 2>&1 || { cat "$tmp/kit.log"; fail "the test kit test failed"; }
nm -D --defined-only "$so" | grep -q ' molt_module$' || fail "no molt_module exported by $so"
if nm -D --defined-only "$so" | grep -vq ' molt_module$'; then
  fail "$so exports more than its descriptor: $(nm -D --defined-only "$so")"
fi

step "the installed molt runs the bundle"
home=$tmp/home
mkdir -m 700 "$home"
"$prefix/bin/molt" run --home "$home" --schedulers 2 --release "$bundle" >"$tmp/run.log" 2>&1 &
molt_pid=$!
i=0
until "$prefix/bin/molt" status --home "$home" >"$tmp/status.txt" 2>&1; do
  i=$((i + 1))
  [ $i -lt 500 ] || fail "molt run did not serve in 10 s"
  kill -0 "$molt_pid" 2>/dev/null || fail "molt run exited"
  sleep 0.02
done
grep -q hello "$tmp/status.txt" || fail "molt status does not show hello: $(cat "$tmp/status.txt")"

step "the same source built with cc and pkg-config, loaded with molt load"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
mk=$tmp/mk
mkdir -p "$mk"
cp "$proj/hello.c" "$mk/"
printf 'hello-1.1.0.so: hello.c\n\t$(CC) -DHELLO_VSN=\\"1.1.0\\" $$(pkg-config --cflags --libs molt) -o $@ hello.c\n' >"$mk/Makefile"
make -s -C "$mk" >"$tmp/make.log" 2>&1 || { cat "$mk/Makefile" "$tmp/make.log"; fail "make failed"; }
"$prefix/bin/molt" load --home "$home" "$mk/hello-1.1.0.so" >"$tmp/load.txt" 2>&1 ||
  fail "molt load: $(cat "$tmp/load.txt")"
"$prefix/bin/molt" status --home "$home" >"$tmp/status.txt" 2>&1 || fail "molt status after load"
grep -q "1.1.0" "$tmp/status.txt" || fail "hello 1.1.0 not current: $(cat "$tmp/status.txt")"

step "the installed molt new-module, outside the source tree: cmake, ctest, make"
now() { date +%s.%N; }
took() { echo "$1 $2" | awk '{printf "%.1f s", $2 - $1}'; }
scaffold=$tmp/scaffold
# As a Debian user builds: with user private groups the umask is 002, and
# every file comes out group-writable unless the build says otherwise.
umask 002
mkdir -p "$scaffold"
(cd "$scaffold" && "$prefix/bin/molt" new-module greeter >"$tmp/new.log" 2>&1) || fail "molt new-module: $(cat "$tmp/new.log")"
for f in greeter.c greeter.h greeter_test.c CMakeLists.txt release.json Makefile README.md; do
  [ -f "$scaffold/greeter/$f" ] || fail "molt new-module wrote no greeter/$f"
done
t0=$(now)
(cd "$scaffold" && cmake -S greeter -B greeter/build -DCMAKE_PREFIX_PATH="$prefix") >"$tmp/g-cmake.log" 2>&1 ||
  { cat "$tmp/g-cmake.log"; fail "greeter: configure failed"; }
t1=$(now)
(cd "$scaffold" && cmake --build greeter/build) >"$tmp/g-build.log" 2>&1 || { cat "$tmp/g-build.log"; fail "greeter: build failed"; }
t2=$(now)
(cd "$scaffold" && ctest --test-dir greeter/build --output-on-failure) >"$tmp/g-ctest.log" 2>&1 ||
  { cat "$tmp/g-ctest.log"; fail "greeter: ctest failed"; }
t3=$(now)
[ -f "$scaffold/greeter/build/modules/greeter-0.1.0.so" ] || fail "no greeter/build/modules/greeter-0.1.0.so"
[ -f "$scaffold/greeter/build/releases/greeter/release.json" ] || fail "no bundle greeter/build/releases/greeter"
make -s -C "$scaffold/greeter" >"$tmp/g-make.log" 2>&1 || { cat "$tmp/g-make.log"; fail "greeter: make failed"; }
t4=$(now)
[ -f "$scaffold/greeter/greeter-0.1.0.so" ] || fail "make built no greeter-0.1.0.so"
nm -D --defined-only "$scaffold/greeter/greeter-0.1.0.so" | grep -q ' molt_module$' || fail "make: no molt_module"
for so in "$scaffold/greeter/greeter-0.1.0.so" "$scaffold/greeter/build/modules/greeter-0.1.0.so"; do
  case $(stat -c %A "$so") in ?????w????|????????w?) fail "$so is writable by group or others" ;; esac
done
echo "   configure $(took "$t0" "$t1"), build $(took "$t1" "$t2"), ctest $(took "$t2" "$t3"), make $(took "$t3" "$t4")"

step "molt stop"
"$prefix/bin/molt" stop --home "$home" >/dev/null 2>&1 || fail "molt stop"
wait "$molt_pid" || fail "molt run exited with $?"
molt_pid=
echo "install_test: ok"
