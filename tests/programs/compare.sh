#!/usr/bin/env bash
# Runs a real program natively and under the sentry and compares the two runs
# byte for byte: stdout, stderr and exit status must all be identical.
#
# Usage:
#   compare.sh --sentry PATH [OPTIONS] -- PROG [ARGS...]
#
# Options:
#   --sentry PATH         the sentry binary (required)
#   --cwd DIR             run both in DIR (default: the current directory)
#   --clean-env           start both from an empty environment (env -i)
#   --env NAME=VALUE      set a variable for both runs (repeatable)
#   --require PATH        exit 77 (CTest SKIP) unless PATH exists (repeatable)
#   --expect-status N     error mode: run only under the sentry and check that
#                         it exits with N and writes exactly one line to
#                         stderr (no native comparison)
#   --max-diff-lines N    truncate each printed diff to N lines (default 200)
#
# Both runs get stdin from /dev/null. The environment is applied by env(1)
# just before exec, so the native program and the sentry see exactly the same
# variables (and the sentry is expected to pass them through unchanged).
#
# Exit status: 0 when identical, 1 on a mismatch, 2 on a usage error,
# 77 when a --require'd path is missing.
set -u

sentry=""
cwd=""
clean_env=0
envs=()
requires=()
expect_status=""
max_diff_lines=200

usage() {
  sed -n '2,/^set -u/{/^#/s/^# \{0,1\}//p}' "$0" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --sentry) sentry="${2:?}"; shift 2 ;;
    --cwd) cwd="${2:?}"; shift 2 ;;
    --clean-env) clean_env=1; shift ;;
    --env) envs+=("${2:?}"); shift 2 ;;
    --require) requires+=("${2:?}"); shift 2 ;;
    --expect-status) expect_status="${2:?}"; shift 2 ;;
    --max-diff-lines) max_diff_lines="${2:?}"; shift 2 ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) echo "compare.sh: unknown option $1" >&2; usage ;;
  esac
done
[ $# -gt 0 ] || { echo "compare.sh: no command given" >&2; usage; }
[ -n "$sentry" ] || { echo "compare.sh: --sentry is required" >&2; usage; }
[ -x "$sentry" ] || { echo "compare.sh: sentry $sentry is not executable" >&2; exit 2; }

for r in ${requires[@]+"${requires[@]}"}; do
  if [ ! -e "$r" ]; then
    echo "SKIP: $r does not exist"
    exit 77
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/husk-compare.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT

# run LABEL CMD... : runs CMD with the requested cwd and environment; leaves
# $work/LABEL.stdout, $work/LABEL.stderr and $work/LABEL.status.
run() {
  local label=$1
  shift
  local envcmd=(env)
  [ "$clean_env" = 1 ] && envcmd+=(-i)
  envcmd+=(${envs[@]+"${envs[@]}"})
  (
    if [ -n "$cwd" ]; then cd "$cwd" || exit 2; fi
    exec "${envcmd[@]}" "$@"
  ) </dev/null >"$work/$label.stdout" 2>"$work/$label.stderr"
  echo $? >"$work/$label.status"
}

show_cmd() {
  printf '%q ' "$@"
  echo
}

if [ -n "$expect_status" ]; then
  echo "sentry: $(show_cmd "$sentry" run -- "$@")"
  run sentry "$sentry" run -- "$@"
  status=$(cat "$work/sentry.status")
  lines=$(wc -l <"$work/sentry.stderr")
  bytes=$(wc -c <"$work/sentry.stderr")
  last=$(tail -c 1 "$work/sentry.stderr" | od -An -c | tr -d ' ')
  ok=1
  if [ "$status" != "$expect_status" ]; then
    echo "FAIL: exit status $status, expected $expect_status"
    ok=0
  fi
  if [ "$lines" != 1 ] || [ "$last" != '\n' ]; then
    echo "FAIL: stderr should be exactly one line, got $lines newline(s) in $bytes byte(s)"
    ok=0
  fi
  echo "--- stderr ---"
  head -c 4000 "$work/sentry.stderr"
  echo "--- stdout ($(wc -c <"$work/sentry.stdout") bytes) ---"
  head -c 2000 "$work/sentry.stdout"
  [ "$ok" = 1 ] && { echo "OK"; exit 0; }
  exit 1
fi

echo "native: $(show_cmd "$@")"
echo "sentry: $(show_cmd "$sentry" run -- "$@")"
[ -n "$cwd" ] && echo "cwd: $cwd"
[ "$clean_env" = 1 ] && echo "env -i ${envs[*]}"

t0=$EPOCHREALTIME
run native "$@"
t1=$EPOCHREALTIME
run sentry "$sentry" run -- "$@"
t2=$EPOCHREALTIME
awk -v a="$t0" -v b="$t1" -v c="$t2" \
  'BEGIN { printf "time: native %.2fs, sentry %.2fs\n", b - a, c - b }'

fail=0
for what in status stdout stderr; do
  if cmp -s "$work/native.$what" "$work/sentry.$what"; then
    if [ "$what" = status ]; then
      echo "same exit status ($(cat "$work/native.status"))"
    else
      echo "same $what ($(wc -c <"$work/native.$what") bytes)"
    fi
    continue
  fi
  fail=1
  echo "DIFFERENT $what (native $(wc -c <"$work/native.$what") bytes, sentry $(wc -c <"$work/sentry.$what") bytes):"
  diff -u --label "native.$what" --label "sentry.$what" \
    "$work/native.$what" "$work/sentry.$what" >"$work/diff.$what"
  head -n "$max_diff_lines" "$work/diff.$what"
  total=$(wc -l <"$work/diff.$what")
  if [ "$total" -gt "$max_diff_lines" ]; then
    echo "... ($((total - max_diff_lines)) more diff lines)"
  fi
done

if [ "$fail" = 0 ]; then
  echo "OK: identical (exit status $(cat "$work/native.status"))"
  exit 0
fi
echo "FAIL: the sentry's run differs from the native run"
exit 1
