#!/usr/bin/env bash
# 1000 fork + _exit + waitpid and 500 threads (50 at a time) must not leak
# host resources of the sandbox. stress_leaks.c forks once and runs one
# thread (so that what the sentry makes on first use, such as the zygote's
# spare stub, exists already), prints "start" and waits; this script takes a
# baseline, once it holds still for 0.3 s, of, on the host:
#   - the sentry's threads (/proc/PID/task): one task thread per application
#     thread, plus a few of its own (main, the zygote's server, ...);
#   - the sentry's open fds (/proc/PID/fd);
#   - its descendant processes: the gofer, the zygote (the first stub), and
#     the zygote's children, one stub process per application address space
#     (one stub thread per application thread) plus a spare made in advance;
# then lets the program run its loops and, once it prints "done", looks
# again. By then every child has been reaped and every thread joined, so the
# counts must be back to the baseline: the same number of sentry threads, of
# descendant processes (none a zombie) and of stub threads, and no more fds.
# The slacks are 0: the warm-up fork and thread made whatever the sentry
# makes lazily before the baseline, and nothing else runs in the sandbox.
# Raise SLACK_THREADS / SLACK_FDS only for a helper the sentry starts or opens
# at some later point by design. The numbers are polled for up to 10 s, since
# a task thread ends a little after the application thread it ran.
# Finally the program is let go, must exit 0, and no process that was ever
# seen descending from the sentry (or named like this copy of it) may remain
# once `sentry run` has exited.
set -u
SENTRY=$1
PROG=$2
SLACK_THREADS=0
SLACK_FDS=0

WORK=$(mktemp -d "${TMPDIR:-/tmp}/husk-stress-leaks.XXXXXX") || exit 2
name=sentry_leaks  # a name no other process has (comm keeps 15 bytes)
cp "$SENTRY" "$WORK/$name"
cp "$(dirname "$SENTRY")/gofer" "$WORK/gofer"
fail=0
app_pid=""
cleanup() {
  [[ -n $app_pid ]] && kill -9 "$app_pid" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# descendants PID: prints "pid starttime state threads comm" for every
# descendant of PID, from /proc/*/stat.
descendants() {
  local -A kids=()
  local st s p rest
  for st in /proc/[0-9]*/stat; do
    { read -r s <"$st"; } 2>/dev/null || continue
    p=${st#/proc/}
    p=${p%/stat}
    rest=(${s##*) })  # fields 3.. : state ppid ...
    kids[${rest[1]}]+="$p "
  done
  local queue=($1) d
  while ((${#queue[@]})); do
    d=${queue[0]}
    queue=("${queue[@]:1}")
    for p in ${kids[$d]:-}; do
      { read -r s <"/proc/$p/stat"; } 2>/dev/null || continue
      rest=(${s##*) })
      local comm=${s#*(}
      comm=${comm%)*}
      echo "$p ${rest[19]} ${rest[0]} ${rest[17]} $comm"
      queue+=("$p")
    done
  done
}

# snapshot: sets threads, fds, procs (count), zombies, stub_threads (threads
# of all descendants but the gofer) and desc (the descendants' lines).
snapshot() {
  threads=$(ls "/proc/$app_pid/task" | wc -l)
  fds=$(ls "/proc/$app_pid/fd" | wc -l)
  desc=$(descendants "$app_pid")
  procs=$(grep -c . <<<"$desc")
  zombies=$(awk '$3 == "Z"' <<<"$desc" | grep -c .)
  stub_threads=$(awk '$5 != "gofer" { n += $4 } END { print n + 0 }' <<<"$desc")
}
show() {
  echo "$1: sentry threads $threads, fds $fds; descendants $procs ($zombies zombies), stub threads $stub_threads"
  sed 's/^/    /' <<<"$desc"
}

# The sentry's stdout goes to a pipe we read; its stdin comes from one we
# write.
coproc APP { exec "$WORK/$name" run -- "$PROG" 2>&1; }
app_pid=$APP_PID
exec {to_app}>&"${APP[1]}" {from_app}<&"${APP[0]}"

expect() {  # expect WORD TIMEOUT: the next line from the program is WORD
  local line
  if ! read -r -t "$2" -u "$from_app" line; then
    echo "FAIL: no '$1' from the program within $2 s"
    exit 1
  fi
  if [[ $line != "$1" ]]; then
    echo "FAIL: expected '$1', got: $line"
    while read -r -t 5 -u "$from_app" line; do echo "$line"; done
    exit 1
  fi
}

expect start 30
snapshot
for try in $(seq 50); do
  prev="$threads $fds $desc"
  sleep 0.3
  snapshot
  [[ $prev == "$threads $fds $desc" ]] && break
done
show baseline
base_threads=$threads base_fds=$fds base_procs=$procs base_stub_threads=$stub_threads
seen=$desc
if ((zombies)); then
  echo "FAIL: zombie descendants at the baseline"
  fail=1
fi

t0=$EPOCHREALTIME
echo go >&"$to_app"
expect done 100
awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "loops took %.1f s\n", b - a }'

for try in $(seq 100); do
  snapshot
  if ((threads <= base_threads + SLACK_THREADS && fds <= base_fds + SLACK_FDS &&
       procs == base_procs && zombies == 0 && stub_threads == base_stub_threads)); then
    break
  fi
  sleep 0.1
done
show after
seen+=$'\n'$desc
if ((threads > base_threads + SLACK_THREADS)); then
  echo "FAIL: the sentry has $threads threads, $base_threads at the baseline"
  ls "/proc/$app_pid/task"
  fail=1
fi
if ((fds > base_fds + SLACK_FDS)); then
  echo "FAIL: the sentry has $fds open fds, $base_fds at the baseline"
  ls -l "/proc/$app_pid/fd"
  fail=1
fi
if ((procs != base_procs || zombies != 0)); then
  echo "FAIL: $procs descendant processes ($zombies zombies), $base_procs at the baseline"
  fail=1
fi
if ((stub_threads != base_stub_threads)); then
  echo "FAIL: $stub_threads stub threads, $base_stub_threads at the baseline"
  fail=1
fi

echo end >&"$to_app"
exec {to_app}>&-
read -r -t 30 -u "$from_app" out || out="(nothing)"
for try in $(seq 300); do  # up to 30 s for the sentry to exit
  kill -0 "$app_pid" 2>/dev/null || break
  sleep 0.1
done
wait "$app_pid"
status=$?
app_pid=""
echo "program: $out"
echo "status $status"
if [[ $status != 0 || $out != "0 failures" ]]; then
  echo "FAIL: expected '0 failures' and status 0"
  fail=1
fi

# Nothing of the sandbox may outlive `sentry run`: no process seen as a
# descendant (same pid and start time) nor any named like our copy.
alive() {
  local p start state rest s
  while read -r p start rest; do
    [[ -n $p ]] || continue
    { read -r s <"/proc/$p/stat"; } 2>/dev/null || continue
    rest=(${s##*) })
    [[ ${rest[19]} == "$start" && ${rest[0]} != Z ]] && echo "$p $rest"
  done <<<"$seen"
  ps -o pid=,stat=,args= -C "$name" | awk '$2 !~ /^Z/'
  ps -eo pid=,stat=,args= | awk -v w="$WORK/" '$2 !~ /^Z/ && index($3, w) == 1'
}
for try in $(seq 50); do
  left=$(alive)
  [[ -z $left ]] && break
  sleep 0.1
done
if [[ -n $left ]]; then
  echo "FAIL: processes left behind after sentry run exited:"
  echo "$left"
  for p in $(awk '{ print $1 }' <<<"$left"); do kill -9 "$p" 2>/dev/null; done
  fail=1
fi
[[ $fail == 0 ]] && echo PASS
exit $fail
