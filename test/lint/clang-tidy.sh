#!/usr/bin/env bash
# Runs clang-tidy with the project's .clang-tidy over every source of the given directories that the build
# compiles (compile_commands.json), in parallel, and fails on any finding. Prints how long it took.
#
# usage: clang-tidy.sh CLANG_TIDY SOURCE_DIR BUILD_DIR DIR... [--exclude DIR...]
#   DIR and the excluded DIRs are relative to SOURCE_DIR; excluded ones are left out, their headers too.
set -euo pipefail

tidy=$1 src=$2 build=$3
shift 3
dirs=() excluded=()
target=dirs
for arg in "$@"; do
  if [ "$arg" = --exclude ]; then
    target=excluded
  elif [ "$target" = dirs ]; then
    dirs+=("$arg")
  else
    excluded+=("$arg")
  fi
done

db=$build/compile_commands.json
if [ ! -f "$db" ]; then
  echo "clang-tidy: no $db (configure with CMAKE_EXPORT_COMPILE_COMMANDS=ON)" >&2
  exit 1
fi

# Sources: every compiled file under one of the directories and under none of the excluded ones.
is_excluded() {
  local e
  for e in "${excluded[@]}"; do
    case $1 in "$src/$e"/*) return 0 ;; esac
  done
  return 1
}
files=()
while IFS= read -r f; do
  for d in "${dirs[@]}"; do
    case $f in "$src/$d"/*)
      is_excluded "$f" || files+=("$f")
      break
      ;;
    esac
  done
done < <(grep -o '"file": *"[^"]*"' "$db" | sed 's/.*"\([^"]*\)"$/\1/' | sort -u)

# Headers: those under the same directories, without the excluded ones. clang-tidy's regex has no negative
# look-ahead, so the header filter names every subdirectory that is kept (and the files at the top level).
escape() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'; }
alternatives=()
for d in "${dirs[@]}"; do
  alternatives+=("$(escape "$d")/[^/]*")
  for sub in "$src/$d"/*/; do
    sub=${sub%/}
    [ -d "$sub" ] || continue
    is_excluded "$sub/x" || alternatives+=("$(escape "${sub#"$src/"}")/")
  done
done
filter="^$(escape "$src")/($(IFS='|'; echo "${alternatives[*]}"))"

start=$(date +%s)
# -w: compiler warnings are g++'s job (the build has -Werror); clang's own would be noise here.
# ASIO_HAS_CO_AWAIT: Asio 1.22 recognises clang's coroutines only with libc++; libstdc++'s <coroutine> will do.
set +e
printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -n 1 "$tidy" -p "$build" --quiet --warnings-as-errors='*' --header-filter="$filter" \
    --extra-arg=-w --extra-arg=-DASIO_HAS_CO_AWAIT=1 2>&1 |
  grep -v '^[0-9]* warnings\? generated\.$'
statuses=("${PIPESTATUS[@]}")
set -e
status=${statuses[1]}
echo "clang-tidy: ${#files[@]} files in $(($(date +%s) - start)) s on $(nproc) cores"
if [ "$status" -ne 0 ]; then
  echo "clang-tidy: findings above (exit status $status)" >&2
  exit 1
fi
