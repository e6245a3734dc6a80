#!/usr/bin/env bash
# check_release_keys.sh RELEASE_SRC_DIR MOLT_RELEASE_5 [--drop KEY]: every
# key and every enumerated value the manifest parser accepts (the
# NULL-terminated string lists of manifest.c and manifest_steps.c: *_keys,
# strategies, restarts, op_names) must appear in bold in the man page
# molt-release(5) (roff, as scdoc made it), so that a key added to the
# parser without documentation fails. --drop KEY removes KEY's bold
# mentions first: the planted omission the check must catch.
set -euo pipefail
src=$1 page=$2 drop=${4:-}
[ "${3:-}" = "" ] || [ "$3" = --drop ] || { echo "usage: $0 SRC_DIR PAGE [--drop KEY]" >&2; exit 2; }

roff=$(cat "$page")
[ -z "$drop" ] || roff=${roff//"\\fB$drop\\fR"/}

# static const char* const NAME[] = {"a", "b", ..., NULL}; possibly over
# several lines.
lists=$(awk '/static const char\* const [a-z_]+\[\] = \{/ { on = 1 }
             on { printf "%s ", $0 } on && /\};/ { on = 0; print "" }' \
          "$src/manifest.c" "$src/manifest_steps.c")
[ "$(wc -l <<<"$lists")" -ge 6 ] || { echo "found too few key lists in $src: $lists"; exit 1; }
fail=0 n=0
while read -r line; do
  name=$(sed -E 's/.*const ([a-z_]+)\[\].*/\1/' <<<"$line")
  for key in $(grep -oE '"[^"]+"' <<<"$line" | tr -d '"'); do
    n=$((n + 1))
    if ! grep -qF "\\fB$key\\fR" <<<"$roff"; then
      echo "molt-release.5: key $key (of $name) is not documented in bold"
      fail=1
    fi
  done
done <<<"$lists"
[ $fail = 0 ] && echo "molt-release.5 documents all $n keys and values the parser accepts"
exit $fail
