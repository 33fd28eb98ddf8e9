#!/usr/bin/env bash
# bench/fs.sh [BUILD_DIR]: file-system benchmarks, as ratios to native.
#
# 1. Unpacking a tarball of many small files (the "unpack the kernel
#    tarball" test): TAR_RUNS interleaved runs of `tar -xf` of a tar of
#    TAR_SOURCES into a fresh directory under /tmp, natively (the host's
#    /tmp), under `sentry run` (the sandbox's /tmp: tmpfs) and under
#    `runsc do` when installed. Median seconds, ratio to native.
# 2. `find / -xdev | wc -l`: FIND_RUNS interleaved runs natively and under
#    `sentry run` (the root the gofer serves) and runsc. Median seconds and
#    the counts (they differ a little: the sandbox's root is not the host's).
#
# Builds nothing: expects sentry and gofer in BUILD_DIR/bin. Knobs: TAR_RUNS
# (3), FIND_RUNS (3), TAR_SOURCES ("/usr/include /usr/share/perl"), RUNSC
# (runsc).
set -u
export LC_ALL=C

BUILD=${1:-/work/main/build}
SENTRY=$BUILD/bin/sentry
TAR_RUNS=${TAR_RUNS:-3}
FIND_RUNS=${FIND_RUNS:-3}
TAR_SOURCES=${TAR_SOURCES:-/usr/include /usr/share/perl}
RUNSC=${RUNSC:-runsc}

[[ -x $SENTRY ]] || { echo "fs.sh: no sentry at $SENTRY" >&2; exit 1; }
WORK=$(mktemp -d /var/tmp/husk-bench-fs.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

have_runsc=0
if command -v "$RUNSC" >/dev/null && "$RUNSC" --platform=ptrace --network=none do /bin/true 2>/dev/null; then
  have_runsc=1
fi

# seconds CMD...: wall-clock seconds of CMD (its output discarded).
seconds() {
  local s=$EPOCHREALTIME
  "$@" >/dev/null 2>&1
  local e=$EPOCHREALTIME
  echo "$e - $s" | bc -l
}
median() { sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'; }
ratio() { echo "$1 / $2" | bc -l | xargs printf "%.2f"; }

# --- 1. tar -x --------------------------------------------------------------
TARBALL=$WORK/files.tar
# shellcheck disable=SC2086
tar -cf "$TARBALL" $TAR_SOURCES 2>/dev/null
files=$(tar -tf "$TARBALL" | wc -l)
size=$(du -m "$TARBALL" | cut -f1)
echo "== tar -xf of $files entries, $size MiB ($TAR_SOURCES)"
extract='d=$(mktemp -d /tmp/x.XXXXXX) && tar -xf "$0" -C "$d" && rm -rf "$d"'
: >"$WORK/t_native"; : >"$WORK/t_sentry"; : >"$WORK/t_runsc"
for _ in $(seq "$TAR_RUNS"); do
  seconds /bin/sh -c "$extract" "$TARBALL" >>"$WORK/t_native"
  seconds "$SENTRY" run -- /bin/sh -c "$extract" "$TARBALL" >>"$WORK/t_sentry"
  if ((have_runsc)); then
    seconds "$RUNSC" --platform=ptrace --network=none do /bin/sh -c "$extract" "$TARBALL" >>"$WORK/t_runsc"
  fi
done
n=$(median <"$WORK/t_native")
s=$(median <"$WORK/t_sentry")
echo "native  ${n}s"
echo "sentry  ${s}s  ($(ratio "$s" "$n")x native)"
if ((have_runsc)); then
  r=$(median <"$WORK/t_runsc")
  echo "runsc   ${r}s  ($(ratio "$r" "$n")x native)"
fi

# --- 2. find / -xdev ----------------------------------------------------------
echo "== find / -xdev | wc -l"
count='find / -xdev 2>/dev/null | wc -l'
: >"$WORK/f_native"; : >"$WORK/f_sentry"; : >"$WORK/f_runsc"
for _ in $(seq "$FIND_RUNS"); do
  seconds /bin/sh -c "$count" >>"$WORK/f_native"
  seconds "$SENTRY" run -- /bin/sh -c "$count" >>"$WORK/f_sentry"
  if ((have_runsc)); then
    seconds "$RUNSC" --platform=ptrace --network=none do /bin/sh -c "$count" >>"$WORK/f_runsc"
  fi
done
n=$(median <"$WORK/f_native")
s=$(median <"$WORK/f_sentry")
echo "native  ${n}s  $(/bin/sh -c "$count") entries"
echo "sentry  ${s}s  ($(ratio "$s" "$n")x native)  $("$SENTRY" run -- /bin/sh -c "$count") entries"
if ((have_runsc)); then
  r=$(median <"$WORK/f_runsc")
  echo "runsc   ${r}s  ($(ratio "$r" "$n")x native)"
fi
