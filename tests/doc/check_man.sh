#!/usr/bin/env bash
# check_man.sh MOLT MOLT_1 [--drop WORD]: every verb `MOLT --help` lists
# must have its subsection "molt VERB" in the man page MOLT_1 (roff, as
# scdoc made it), and every option `MOLT VERB --help` lists must appear in
# that subsection, so that a verb or option added to tools/cli_verbs.c
# without documentation fails. --drop WORD removes WORD from the rendered
# page first: the planted omission the check must catch. Prints one line
# per problem; exit 1 if any.
set -euo pipefail
molt=$1 page=$2 drop=${4:-}
[ "${3:-}" = "" ] || [ "$3" = --drop ] || { echo "usage: $0 MOLT MOLT_1 [--drop WORD]" >&2; exit 2; }

# Rendered as people read it (man's own formatter), one long line per
# paragraph and no hyphenation, so an option is never split.
text=$(groff -man -Tascii -P-cbou -rLL=1000n -rHY=0 "$page")
[ -z "$drop" ] || text=${text//"$drop"/}

# The subsection of one verb: from its heading "   molt VERB" to the next
# heading (or the next section).
section() {
  awk -v want="   molt $1" '
    /^[^ ]/ || /^   [^ ]/ { inside = ($0 == want) ; if (inside) found = 1; next }
    inside { print }
    END { if (!found) exit 1 }' <<<"$text"
}

has() { grep -qE -- "(^|[^A-Za-z0-9-])$1([^A-Za-z0-9-]|\$)" <<<"$2"; }

fail=0
verbs=$("$molt" --help | awk '/^commands:/ { on = 1; next } on && /^$/ { on = 0 } on { print $1 }')
[ -n "$verbs" ] || { echo "$molt --help lists no commands"; exit 1; }
n=0
for verb in $verbs; do
  if ! body=$(section "$verb"); then
    echo "molt.1: no subsection \"molt $verb\" for the command $verb"
    fail=1
    continue
  fi
  opts=$("$molt" "$verb" --help | awk '/^options:/ { on = 1; next } on && /^  --/ { print $1 }')
  for opt in $opts; do
    n=$((n + 1))
    if ! has "$opt" "$body"; then
      echo "molt.1: molt $verb's option $opt is not documented in its subsection"
      fail=1
    fi
  done
done
# --help and --version are the command's own, not a verb's.
for opt in --help --version; do
  has "$opt" "$text" || { echo "molt.1: $opt is not documented"; fail=1; }
done
[ $fail = 0 ] && echo "molt.1 documents $(wc -w <<<"$verbs") commands and their $n options"
exit $fail
