# shellcheck shell=bash
# Helpers sourced by the package tests (bash). Every test prints what it checks and fails with one clear line.
# Exit status 77 means "skipped" (CTest SKIP_RETURN_CODE). A test that uses expect_rc sets $tmp (a directory).

fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

skip() {
  printf 'SKIPPED: %s\n' "$*"
  exit 77
}

note() {
  printf -- '-- %s\n' "$*"
}

# require_env NAME...: the variables the CMake registration passes.
require_env() {
  local name
  for name in "$@"; do
    [[ -n ${!name:-} ]] || fail "environment variable $name is not set (run this test through ctest)"
  done
}

# expect_rc RC COMMAND...: runs COMMAND, fails unless it exits with RC; stdout/stderr land in $out/$err.
expect_rc() {
  local want=$1 rc=0
  shift
  out=$("$@" 2>"${tmp:?}/stderr") || rc=$?
  err=$(<"$tmp/stderr")
  if ((rc != want)); then
    fail "'$*' exited $rc, expected $want; stdout: ${out:-<none>}; stderr: ${err:-<none>}"
  fi
}
