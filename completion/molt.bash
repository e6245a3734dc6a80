# bash completion for molt(1): verbs, each verb's own options, file and
# directory arguments, module names of the running container (purge,
# inspect, ps and trace --module) and the home's release versions (upgrade, remove).
#
# Nothing here lists verbs or options: they are read from `molt --help`
# and `molt VERB --help` of the molt being completed (tools/cli_verbs.c is
# their one source), and module names and versions from `molt status
# --json` and `molt releases --json`, with the --home given earlier on the
# line (else $MOLT_HOME, as molt itself). Needs bash only, not the
# bash-completion package's helpers.

# _molt_help [VERB]: molt's usage, or VERB's.
_molt_help() {
  local molt=$1
  shift
  "$molt" "$@" --help 2>/dev/null
}

# _molt_verbs MOLT: every verb molt --help lists.
_molt_verbs() {
  _molt_help "$1" | awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'
}

# _molt_options MOLT VERB [value]: VERB's options ("value": only those
# taking a value). The help prints each as "  --name METAVAR" in a column
# 21 wide, then its text.
_molt_options() {
  _molt_help "$1" "$2" | awk -v only="${3:-}" '
    /^options:/ { on = 1; next }
    on && /^  --/ {
      col = substr($0, 3, 21); sub(/ +$/, "", col)
      n = split(col, w, " ")
      if (only == "" || n > 1) print w[1]
    }'
}

# _molt_modules MOLT [--home DIR]: the running container's module names,
# from molt status --json (pretty JSON: each module's "name" three tabs in).
_molt_modules() {
  local molt=$1
  shift
  "$molt" status "$@" --json 2>/dev/null |
    awk -F'\t' '/^\t\t\t"name":/ { v = $NF; gsub(/[",]/, "", v); print v }'
}

# _molt_versions MOLT WHICH [--home DIR]: release versions from molt
# releases --json: WHICH "upgrade" gives those not running, "remove"
# those neither running nor permanent.
_molt_versions() {
  local molt=$1 which=$2
  shift 2
  "$molt" releases "$@" --json 2>/dev/null |
    awk -F'\t' -v which="$which" '
      function val() { v = $NF; gsub(/[",]/, "", v); return v }
      /^\t\t"version":/ { vsn = val() }
      /^\t\t"state":/ { state = val() }
      /^\t\t"running":/ { running = val() }
      /^\t}/ {
        if (vsn != "" && running != "true" && (which == "upgrade" || state != "permanent")) print vsn
        vsn = state = running = ""
      }'
}

_molt() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=""
  local molt=${COMP_WORDS[0]} verb="" npos=0 i w
  local -a home=()
  COMPREPLY=()
  [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
  molt=${molt/#\~/$HOME}
  command -v "$molt" >/dev/null 2>&1 || return 0

  if [ "$COMP_CWORD" -eq 1 ]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "--help --version" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$(_molt_verbs "$molt") help" -- "$cur"))
    fi
    return 0
  fi
  verb=${COMP_WORDS[1]}
  if [ "$verb" = help ]; then
    [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "$(_molt_verbs "$molt")" -- "$cur"))
    return 0
  fi

  # The words between the verb and the cursor: --home's value, and how
  # many arguments (not options or their values) are given already.
  local valued=" $(_molt_options "$molt" "$verb" value | tr '\n' ' ') "
  for ((i = 2; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if [[ $valued == *" $w "* ]]; then
      [ "$w" = --home ] && [ $((i + 1)) -lt "$COMP_CWORD" ] && home=(--home "${COMP_WORDS[i + 1]}")
      ((i++))
    elif [[ $w != -* ]]; then
      ((npos++))
    fi
  done
  home=("${home[@]/#\~/$HOME}")

  # The value of an option.
  if [[ $valued == *" $prev "* ]]; then
    case $verb:$prev in
      ps:--module | trace:--module) COMPREPLY=($(compgen -W "$(_molt_modules "$molt" "${home[@]}")" -- "$cur")) ;;
      ps:--module) COMPREPLY=($(compgen -W "$(_molt_modules "$molt" "${home[@]}")" -- "$cur")) ;;
      ps:--sort) COMPREPLY=($(compgen -W "mailbox memory time messages" -- "$cur")) ;;
      dev:--module) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -X '!*.so' -- "$cur") $(compgen -d -- "$cur")) ;;
      *:--home | *:--release | *:--watch | *:--src) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;
      *:--build) COMPREPLY=($(compgen -c -- "$cur")) ;;
    esac
    return 0
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_molt_options "$molt" "$verb") --help" -- "$cur"))
    return 0
  fi
  # An argument: each verb takes at most one (new-module two).
  case $verb:$npos in
    load:0) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -X '!*.so' -- "$cur") $(compgen -d -- "$cur")) ;;
    unpack:0 | new-module:1) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;
    purge:0 | inspect:0) COMPREPLY=($(compgen -W "$(_molt_modules "$molt" "${home[@]}")" -- "$cur")) ;;
    upgrade:0 | remove:0) COMPREPLY=($(compgen -W "$(_molt_versions "$molt" "$verb" "${home[@]}")" -- "$cur")) ;;
  esac
  return 0
}

complete -F _molt molt
