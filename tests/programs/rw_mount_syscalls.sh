#!/usr/bin/env bash
# The syscall suites that make, change and remove files, run under the
# sentry with their /tmp (where TempDirTest works) a writable host mount:
# every file they touch goes through goferfs and the gofer to the host, and
# must behave as natively. Each PROG may carry a GoogleTest filter of the
# cases that cannot pass there (PROG:-Case.One:Case.Two), each a known gap
# of writable mounts (see PARTIAL(gofer-...) in vfs/goferfs and gofer/).
#
# Usage: rw_mount_syscalls.sh SENTRY WORKDIR PROG[:FILTER]...
set -u

sentry=${1:?usage: rw_mount_syscalls.sh SENTRY WORKDIR PROG[:FILTER]...}
work=${2:?usage: rw_mount_syscalls.sh SENTRY WORKDIR PROG[:FILTER]...}
shift 2
case "$work" in
  /*) ;;
  *) echo "rw_mount_syscalls.sh: WORKDIR must be absolute" >&2; exit 2 ;;
esac

rm -rf "$work"
mkdir -p "$work/tmp" "$work/bin" || exit 2
chmod 1777 "$work/tmp"
fail=0
for spec in "$@"; do
  prog=${spec%%:*}
  filter=
  [ "$prog" != "$spec" ] && filter=${spec#*:}
  [ -x "$prog" ] || { echo "FAIL: $prog is not executable"; fail=1; continue; }
  args=()
  [ -n "$filter" ] && args=("--gtest_filter=$filter")
  # The mount hides the sandbox's /tmp, and the build tree may be under it:
  # the program runs from a read-only mount of its own.
  cp "$prog" "$work/bin/" || exit 2
  if GTEST_BRIEF=1 "$sentry" run --mount "$work/tmp:/tmp:rw" --mount "$work/bin:/husk-test-bin:ro" \
       -- "/husk-test-bin/$(basename "$prog")" "${args[@]}" </dev/null >"$work/out" 2>&1; then
    echo "ok: $(basename "$prog") $(grep -o 'PASSED.*' "$work/out" | tail -1)"
  else
    echo "FAIL: $(basename "$prog") on a writable mount:"
    head -c 6000 "$work/out"
    fail=1
  fi
done
# TempDirTest removes what it makes: nothing may be left on the host.
if [ -n "$(ls -A "$work/tmp")" ]; then
  echo "FAIL: left on the host: $(ls -A "$work/tmp" | head)"
  fail=1
fi
if [ "$fail" = 0 ]; then
  echo "PASS"
  rm -rf "$work"
  exit 0
fi
exit 1
