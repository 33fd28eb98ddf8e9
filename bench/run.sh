#!/usr/bin/env bash
# bench/run.sh [BUILD_DIR]: Husk's foundation benchmarks, as ratios to native.
#
# Builds nothing: expects bench_getppid_loop, bench_sysemu_floor and sentry in
# BUILD_DIR/bin (default /work/main/build), e.g. after
#   ninja -C build sentry gofer bench_getppid_loop bench_sysemu_floor
#
# 1. Syscall round trip: ROUNDS interleaved rounds of getppid_loop natively,
#    under `sentry run`, under runsc (gVisor, ptrace platform) when installed,
#    and of the bare PTRACE_SYSEMU floor (with and without GETREGS/SETREGS).
#    Median ns per call, ratio to native, ratio to the floor.
# 2. `true` start-up: TRUE_RUNS interleaved wall-clock runs of /bin/true,
#    natively, under `sentry run` and under `runsc do`. Median ms.
# 3. fork of a big heap (when bench_fork_heap is built): FORK_HEAP_RUNS
#    interleaved runs of bench_fork_heap FORK_HEAP_MIB FORK_HEAP_N natively
#    and under `sentry run`; median ms per fork+wait, and the memory it took:
#    the process's peak RSS natively, the sentry's peak RSS and its memory
#    file's peak size under the sentry.
#
# Environment knobs (defaults): ROUNDS (5), N_NATIVE (200000) and N_TRAPPED
# (50000) getppid calls per run natively / when each call traps, TRUE_RUNS
# (20), FORK_HEAP_RUNS (3), FORK_HEAP_MIB (1024), FORK_HEAP_N (5), TIMEOUT
# seconds per run (300), RUNSC (runsc) the runsc binary.
set -u
export LC_ALL=C

BUILD=${1:-/work/main/build}
BIN=$BUILD/bin
ROUNDS=${ROUNDS:-5}
N_NATIVE=${N_NATIVE:-200000}
N_TRAPPED=${N_TRAPPED:-50000}
TRUE_RUNS=${TRUE_RUNS:-20}
FORK_HEAP_RUNS=${FORK_HEAP_RUNS:-3}
FORK_HEAP_MIB=${FORK_HEAP_MIB:-1024}
FORK_HEAP_N=${FORK_HEAP_N:-5}
TIMEOUT=${TIMEOUT:-300}
RUNSC=${RUNSC:-runsc}

LOOP=$BIN/bench_getppid_loop
FLOOR=$BIN/bench_sysemu_floor
SENTRY=$BIN/sentry
for f in "$LOOP" "$FLOOR" "$SENTRY"; do
  if [[ ! -x $f ]]; then
    echo "run.sh: $f is missing; build it first:" >&2
    echo "  ninja -C $BUILD sentry gofer bench_getppid_loop bench_sysemu_floor" >&2
    exit 2
  fi
done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
RUNSC_FLAGS=(--platform=ptrace --network=none)

# median FILE [FORMAT]: the median of the numbers in FILE, one a line ("-" if
# none); FORMAT (default %.1f) is for the mean of the middle two.
median() {
  sort -g "$1" | awk -v fmt="${2:-%.1f}\n" '{ v[NR] = $1 }
    END { if (NR == 0) { print "-"; exit }
          if (NR % 2) print v[(NR + 1) / 2]
          else printf fmt, (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# ratio A B: A/B with two decimals, "-" if either is missing.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

# measure NAME CMD...: runs CMD (which prints "<ns> ..." on stdout); appends
# the figure to $TMP/NAME.ns, or reports the failure and counts it.
# stdout goes through a pipe: runsc writes to a regular-file stdout at offset
# 0 (no O_APPEND), which would clobber what came before.
measure() {
  local name=$1; shift
  local out rc
  out=$(timeout "$TIMEOUT" "$@" 2>"$TMP/$name.err" | cat; exit "${PIPESTATUS[0]}")
  rc=$?
  local ns
  ns=$(awk 'NR == 1 && $1 ~ /^[0-9.]+$/ { print $1 }' <<<"$out")
  if [[ -n $ns ]]; then
    echo "$ns" >>"$TMP/$name.ns"
    printf '  %-14s %12s ns\n' "$name" "$ns"
  else
    echo "x" >>"$TMP/$name.fail"
    printf '  %-14s FAILED (exit %s): %s\n' "$name" "$rc" "$*"
    [[ -n $out ]] && printf '%s\n' "$out" | head -5 | sed 's/^/      stdout: /'
    sed 's/^/      stderr: /' "$TMP/$name.err" | tail -10
  fi
}

echo "Husk benchmarks: $(uname -srm), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "build: $BUILD"

# ---------------------------------------------------------------- runsc probe
have_runsc=0
if command -v "$RUNSC" >/dev/null 2>&1; then
  probe=$(timeout 120 "$RUNSC" "${RUNSC_FLAGS[@]}" "do" "$LOOP" 1000 2>"$TMP/probe.err" | cat)
  if awk 'NR == 1 && $1 ~ /^[0-9.]+$/ { ok = 1 } END { exit !ok }' <<<"$probe"; then
    have_runsc=1
    runsc_version=$("$RUNSC" --version 2>/dev/null | head -1)
  else
    echo "runsc: '$RUNSC ${RUNSC_FLAGS[*]} do $LOOP 1000' failed; skipping runsc:"
    sed 's/^/  /' "$TMP/probe.err" | tail -10
    [[ -n $probe ]] && printf '%s\n' "$probe" | head -5 | sed 's/^/  stdout: /'
  fi
else
  echo "runsc: not installed; skipping it"
fi

[[ $have_runsc == 1 ]] && echo "runsc: $runsc_version (${RUNSC_FLAGS[*]})"
echo

# ------------------------------------------------------------ syscall round trip
echo "== getppid round trip: $ROUNDS interleaved rounds" \
     "(N=$N_NATIVE native, N=$N_TRAPPED trapped)"
for ((r = 1; r <= ROUNDS; r++)); do
  echo " round $r/$ROUNDS"
  measure native "$LOOP" "$N_NATIVE"
  measure sentry "$SENTRY" run -- "$LOOP" "$N_TRAPPED"
  # The sentry runs each tracer thread and its stub on one CPU (a ptrace
  # round trip is much cheaper without a cross-CPU wakeup); the floor is
  # measured the same way so the ratio compares like with like.
  measure floor taskset -c 0 "$FLOOR" "$N_TRAPPED"
  measure floor+regs taskset -c 0 "$FLOOR" "$N_TRAPPED" --regs
  [[ $have_runsc == 1 ]] &&
    measure runsc "$RUNSC" "${RUNSC_FLAGS[@]}" "do" "$LOOP" "$N_TRAPPED"
done

native=$(median "$TMP/native.ns" 2>/dev/null || echo -)
floor=$(median "$TMP/floor.ns" 2>/dev/null || echo -)
echo
printf '%-12s %12s %12s %12s %10s %10s  %s\n' \
  what "median ns" min max "x native" "x floor" "ok/runs"
rows=(native floor floor+regs sentry)
[[ $have_runsc == 1 ]] && rows+=(runsc)
for name in "${rows[@]}"; do
  ok=0; failed=0
  [[ -f $TMP/$name.ns ]] && ok=$(wc -l <"$TMP/$name.ns")
  [[ -f $TMP/$name.fail ]] && failed=$(wc -l <"$TMP/$name.fail")
  if ((ok > 0)); then
    med=$(median "$TMP/$name.ns")
    min=$(sort -g "$TMP/$name.ns" | head -1)
    max=$(sort -g "$TMP/$name.ns" | tail -1)
  else
    med=-; min=-; max=-
  fi
  printf '%-12s %12s %12s %12s %10s %10s  %s\n' "$name" "$med" "$min" "$max" \
    "$(ratio "$med" "$native")" "$(ratio "$med" "$floor")" "$ok/$((ok + failed))"
done
echo "  native      getppid_loop on the host"
echo "  floor       bare PTRACE_SYSEMU round trip (resume + waitpid), no emulation,"
echo "              tracer and tracee on one CPU as the sentry runs them"
echo "  floor+regs  the same plus PTRACE_GETREGS/SETREGS on every stop"
echo "  sentry      getppid_loop under \`sentry run\`"
[[ $have_runsc == 1 ]] &&
  echo "  runsc       getppid_loop under \`runsc ${RUNSC_FLAGS[*]} do\`"

# --------------------------------------------------------------- true start-up
# time_ms CMD...: wall-clock ms of one run of CMD, or "-" if it failed.
# $EPOCHREALTIME (bash 5) reads the clock without forking date(1). No
# `timeout` wrapper (its fork+exec would be counted): each command was probed
# once under timeout first.
time_ms() {
  local t0 t1 rc
  t0=$EPOCHREALTIME
  "$@" </dev/null >"$TMP/true.out" 2>"$TMP/true.err"
  rc=$?
  t1=$EPOCHREALTIME
  if ((rc != 0)); then
    echo "  FAILED (exit $rc): $*" >&2
    sed 's/^/      /' "$TMP/true.err" | tail -5 >&2
    echo -
  else
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1e3 }'
  fi
}

echo
echo "== /bin/true start-up: $TRUE_RUNS interleaved runs each (wall clock, ms)"
true_cmd() {
  case $1 in
    native) echo /bin/true ;;
    sentry) echo "$SENTRY run -- /bin/true" ;;
    runsc) echo "$RUNSC ${RUNSC_FLAGS[*]} do /bin/true" ;;
  esac
}
runs=()
cands=(native sentry)
[[ $have_runsc == 1 ]] && cands+=(runsc)
for name in "${cands[@]}"; do
  # shellcheck disable=SC2046  # the paths have no spaces
  timeout 60 $(true_cmd "$name") </dev/null >/dev/null 2>"$TMP/true.err"
  rc=$?
  if ((rc == 0)); then
    runs+=("$name")
  else
    echo "  $name: '$(true_cmd "$name")' failed (exit $rc); skipping it:"
    sed 's/^/      /' "$TMP/true.err" | tail -5
  fi
done
for ((i = 1; i <= TRUE_RUNS; i++)); do
  for name in "${runs[@]}"; do
    # shellcheck disable=SC2046
    ms=$(time_ms $(true_cmd "$name"))
    if [[ $ms == - ]]; then echo x >>"$TMP/true-$name.fail"
    else echo "$ms" >>"$TMP/true-$name.ms"; fi
  done
done
tnative=$(median "$TMP/true-native.ms" %.3f 2>/dev/null || echo -)
printf '%-12s %12s %12s %12s %10s  %s\n' what "median ms" min max "x native" "ok/runs"
for name in "${runs[@]}"; do
  ok=0; failed=0
  [[ -f $TMP/true-$name.ms ]] && ok=$(wc -l <"$TMP/true-$name.ms")
  [[ -f $TMP/true-$name.fail ]] && failed=$(wc -l <"$TMP/true-$name.fail")
  if ((ok > 0)); then
    med=$(median "$TMP/true-$name.ms" %.3f)
    min=$(sort -g "$TMP/true-$name.ms" | head -1)
    max=$(sort -g "$TMP/true-$name.ms" | tail -1)
  else
    med=-; min=-; max=-
  fi
  printf '%-12s %12s %12s %12s %10s  %s\n' "$name" "$med" "$min" "$max" \
    "$(ratio "$med" "$tnative")" "$ok/$((ok + failed))"
done

# ------------------------------------------------------------ fork of a big heap
FORK_HEAP=$BIN/bench_fork_heap
if [[ ! -x $FORK_HEAP ]]; then
  echo
  echo "== fork of a big heap: $FORK_HEAP is not built; skipping (ninja -C $BUILD bench_fork_heap)"
  exit 0
fi

# watch_sentry PID OUT: until PID exits, samples its peak RSS (VmHWM) and
# the allocated size of its memory file (the memfd "husk-memory"); writes
# "<rss MiB> <memory file MiB>" to OUT.
watch_sentry() {
  local pid=$1 out=$2 fd="" blocks peak=0 hwm=0 l
  while kill -0 "$pid" 2>/dev/null; do
    if [[ -z $fd ]]; then
      for l in /proc/"$pid"/fd/*; do
        [[ $(readlink "$l" 2>/dev/null) == *husk-memory* ]] && fd=$l && break
      done
    fi
    if [[ -n $fd ]]; then
      blocks=$(stat -L -c %b "$fd" 2>/dev/null || echo 0)
      ((blocks > peak)) && peak=$blocks
    fi
    l=$(awk '/^VmHWM:/ { print $2 }' /proc/"$pid"/status 2>/dev/null)
    [[ -n $l ]] && ((l > hwm)) && hwm=$l
    sleep 0.05
  done
  echo "$((hwm / 1024)) $((peak * 512 / 1048576))" >"$out"
}

echo
echo "== fork of a ${FORK_HEAP_MIB} MiB touched heap, child exits at once:" \
     "$FORK_HEAP_RUNS interleaved runs of $FORK_HEAP_N forks"
for ((i = 1; i <= FORK_HEAP_RUNS; i++)); do
  out=$(timeout "$TIMEOUT" "$FORK_HEAP" "$FORK_HEAP_MIB" "$FORK_HEAP_N" 2>"$TMP/fh.err")
  ms=$(awk '{ print $1 }' <<<"$out")
  rss=$(sed -n 's/.*rss \([0-9]*\) MiB.*/\1/p' <<<"$out")
  if [[ $ms =~ ^[0-9.]+$ ]]; then
    echo "$ms" >>"$TMP/fh-native.ms"; echo "$rss" >>"$TMP/fh-native.rss"
    printf '  %-8s %10s ms  rss %s MiB\n' native "$ms" "$rss"
  else
    printf '  native FAILED: %s\n' "$(tail -3 "$TMP/fh.err")"
  fi
  timeout "$TIMEOUT" "$SENTRY" run -- "$FORK_HEAP" "$FORK_HEAP_MIB" "$FORK_HEAP_N" \
    >"$TMP/fh.out" 2>"$TMP/fh.err" &
  spid=$!
  # timeout(1) runs the sentry as its child.
  sleep 0.2
  sentry_pid=$(awk '{ print $1 }' /proc/"$spid"/task/"$spid"/children 2>/dev/null)
  watch_sentry "${sentry_pid:-$spid}" "$TMP/fh.mem"
  wait "$spid"
  ms=$(awk '{ print $1 }' "$TMP/fh.out")
  read -r srss smf <"$TMP/fh.mem"
  if [[ $ms =~ ^[0-9.]+$ ]]; then
    echo "$ms" >>"$TMP/fh-sentry.ms"; echo "$srss" >>"$TMP/fh-sentry.rss"
    echo "$smf" >>"$TMP/fh-sentry.mf"
    printf '  %-8s %10s ms  sentry rss %s MiB, memory file %s MiB\n' sentry "$ms" "$srss" "$smf"
  else
    printf '  sentry FAILED: %s\n' "$(tail -3 "$TMP/fh.err")"
  fi
  if [[ $have_runsc == 1 ]]; then
    out=$(timeout "$TIMEOUT" "$RUNSC" "${RUNSC_FLAGS[@]}" "do" "$FORK_HEAP" "$FORK_HEAP_MIB" \
      "$FORK_HEAP_N" 2>"$TMP/fh.err" | cat)
    ms=$(awk 'NR == 1 { print $1 }' <<<"$out")
    if [[ $ms =~ ^[0-9.]+$ ]]; then
      echo "$ms" >>"$TMP/fh-runsc.ms"
      printf '  %-8s %10s ms\n' runsc "$ms"
    else
      printf '  runsc FAILED: %s\n' "$(tail -3 "$TMP/fh.err")"
    fi
  fi
done
fnative=$(median "$TMP/fh-native.ms" 2>/dev/null || echo -)
fsentry=$(median "$TMP/fh-sentry.ms" 2>/dev/null || echo -)
printf '%-12s %14s %10s %14s %18s\n' what "ms/fork+wait" "x native" "peak rss MiB" "memory file MiB"
printf '%-12s %14s %10s %14s %18s\n' native "$fnative" 1.00 \
  "$(median "$TMP/fh-native.rss" %.0f 2>/dev/null || echo -)" -
printf '%-12s %14s %10s %14s %18s\n' sentry "$fsentry" "$(ratio "$fsentry" "$fnative")" \
  "$(median "$TMP/fh-sentry.rss" %.0f 2>/dev/null || echo -)" \
  "$(median "$TMP/fh-sentry.mf" %.0f 2>/dev/null || echo -)"
[[ $have_runsc == 1 ]] && printf '%-12s %14s %10s %14s %18s\n' runsc "$(median "$TMP/fh-runsc.ms" 2>/dev/null || echo -)" \
  "$(ratio "$(median "$TMP/fh-runsc.ms" 2>/dev/null || echo -)" "$fnative")" - -
echo "  ms/fork+wait  mean of $FORK_HEAP_N fork + child _exit + waitpid; the sentry's"
echo "                copy-on-write fork copies no page, so the memory file stays at"
echo "                about the heap's size and the sentry itself touches none of it"
