#!/bin/sh
# deb_test.sh BUILD_DIR: `cpack -G DEB` (cmake/package.cmake) into a
# temporary directory; the package is molt_<version>_<arch>.deb, lists
# what `cmake --install` installs, under /usr, declares its run-time
# Depends (dpkg-shlibdeps: libuv1, libcjson1, libsodium23, ...), and,
# unpacked with dpkg-deb -x (nothing installed on this machine), its molt
# runs and its molt.pc and CMake package sit where pkg-config and
# find_package look. Exit 77 (skipped) without dpkg-deb or dpkg-shlibdeps.
set -eu
build=$(cd "$1" && pwd)
command -v dpkg-deb >/dev/null && command -v dpkg-shlibdeps >/dev/null || { echo "deb_test: no dpkg-dev; skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/molt-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "deb_test: $*" >&2; exit 1; }

version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
[ -n "$version" ] || fail "no CPACK_PACKAGE_VERSION in $build/CPackConfig.cmake"
arch=$(dpkg --print-architecture)
start=$(date +%s)
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; fail "cpack failed"; }
deb=$tmp/out/molt_${version}_${arch}.deb
[ -f "$deb" ] || { ls "$tmp/out"; fail "no molt_${version}_${arch}.deb"; }
echo "== cpack -G DEB: $(basename "$deb") in $(($(date +%s) - start)) s"

dpkg-deb -I "$deb" >"$tmp/info.txt"
depends=$(sed -n 's/^ Depends: //p' "$tmp/info.txt")
echo "== Depends: $depends"
for lib in libuv1 libcjson1 libsodium23 libc6; do
  echo "$depends" | grep -q "\b$lib\b" || fail "Depends lacks $lib: $depends"
done
grep -q "^ Package: molt$" "$tmp/info.txt" || fail "not package molt: $(cat "$tmp/info.txt")"
grep -q "^ Version: $version$" "$tmp/info.txt" || fail "not version $version"

dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|' >"$tmp/files.txt"
for f in /usr/bin/molt /usr/bin/molt-bundle /usr/include/molt/module.h /usr/include/molt/actor.h \
         /usr/include/molt/tcp.h /usr/include/molt/errno.h /usr/include/molt/version.h /usr/include/molt/testkit.h \
         /usr/lib/libmolt_testkit.a /usr/lib/pkgconfig/molt.pc /usr/lib/cmake/Molt/MoltConfig.cmake \
         /usr/lib/cmake/Molt/MoltConfigVersion.cmake /usr/lib/cmake/Molt/exports.list \
         /usr/lib/systemd/system/molt@.service /usr/share/man/man1/molt.1; do
  grep -qx "$f" "$tmp/files.txt" || { cat "$tmp/files.txt"; fail "not in the package: $f"; }
done
if grep -v '^/usr' "$tmp/files.txt" | grep -v '^/$'; then fail "files outside /usr"; fi

dpkg-deb -x "$deb" "$tmp/root"
"$tmp/root/usr/bin/molt" --version | grep -q "^molt $version " || fail "unpacked molt --version: $("$tmp/root/usr/bin/molt" --version)"
PKG_CONFIG_PATH=$tmp/root/usr/lib/pkgconfig pkg-config --cflags molt | grep -q -- "-I$tmp/root/usr/lib/pkgconfig/../../include" ||
  fail "molt.pc: $(PKG_CONFIG_PATH=$tmp/root/usr/lib/pkgconfig pkg-config --cflags molt)"
grep -q '^ExecStart=/usr/bin/molt run ' "$tmp/root/usr/lib/systemd/system/molt@.service" ||
  fail "the unit's ExecStart: $(grep ExecStart "$tmp/root/usr/lib/systemd/system/molt@.service")"
echo "deb_test: ok ($(wc -l <"$tmp/files.txt") entries, $(($(date +%s) - start)) s)"
