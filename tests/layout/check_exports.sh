#!/usr/bin/env bash
# check_exports.sh INCLUDE_DIR EXPORTS_LIST HOST... -- MODULE...: what a
# host exports to modules is exactly the public API. The public API is
# every molt_* function the public headers declare (read from the
# preprocessed headers, so comments and macros do not count). Checks that
# runtime/exports.list lists exactly those, that each HOST executable's
# dynamic symbol table exports exactly those (and so no private molt__
# function, nor a tool's), and that each MODULE refers to no molt_ symbol
# outside them. Prints every difference and exits 1, else one line and 0.
set -euo pipefail
include=$1 list=$2
shift 2
hosts=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do hosts+=("$1"); shift; done
[ $# -gt 0 ] && shift
modules=("$@")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo '#include "molt/module.h"' | ${CC:-cc} -E -P -I "$include" -x c - |
  grep -oE '\bmolt_[a-z0-9_]+[[:space:]]*\(' | sed 's/[[:space:]]*($//' | sort -u >"$tmp/api"
[ -s "$tmp/api" ] || { echo "check_exports: no public function found under $include" >&2; exit 2; }
# A pattern (molt_[a-z]*) is kept whole: it is what must not be there.
{ sed -e 's|/\*.*\*/||' "$list" | grep -oE '\bmolt_[][a-z0-9_*-]+' || true; } | sort -u >"$tmp/list"

bad=0
differ() { # what, file of found names
  local extra missing
  extra=$(comm -13 "$tmp/api" "$2" | tr '\n' ' ')
  missing=$(comm -23 "$tmp/api" "$2" | tr '\n' ' ')
  if [ -n "$extra" ]; then echo "$1 has what the public headers do not declare: $extra"; bad=1; fi
  if [ -n "$missing" ]; then echo "$1 lacks public functions: $missing"; bad=1; fi
}
differ "runtime/exports.list" "$tmp/list"
for h in "${hosts[@]}"; do
  nm -D --defined-only "$h" | awk '$NF ~ /^molt_/ { print $NF }' | sort -u >"$tmp/host"
  differ "$(basename "$h") (exported)" "$tmp/host"
done
for m in "${modules[@]}"; do
  nm -D --undefined-only "$m" | awk '$NF ~ /^molt_/ { print $NF }' | sort -u >"$tmp/mod"
  extra=$(comm -13 "$tmp/api" "$tmp/mod" | tr '\n' ' ')
  if [ -n "$extra" ]; then echo "$(basename "$m") refers to what the public API lacks: $extra"; bad=1; fi
done
[ "$bad" = 0 ] || exit 1
echo "check_exports: $(wc -l <"$tmp/api") public functions; exports.list, ${#hosts[@]} hosts and ${#modules[@]} modules agree"
