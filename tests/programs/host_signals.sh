#!/usr/bin/env bash
# Signals sent to `sentry run` on the host. SIGINT (a Ctrl-C) reaches the
# program inside as it would reach the program run natively: a program that
# does not catch it dies of it (130), Python raises KeyboardInterrupt. SIGTERM
# ends the whole sandbox, whatever its processes do about SIGTERM, with status
# 143, and leaves no process behind.
set -u
SENTRY=$1
WORK=$2
name=sentry
rm -rf "$WORK" && mkdir -p "$WORK"
cp "$SENTRY" "$WORK/$name"
cp "$(dirname "$SENTRY")/gofer" "$WORK/gofer"
SENTRY="$WORK/$name"
fail=0

source "$(dirname "$0")/signal_lib.sh"

sleeper="echo ready; exec sleep 20"
check "SIGINT, uncaught" \
  "$(run_and_signal INT -- /bin/sh -c "$sleeper")" \
  "$(run_and_signal INT -- "$SENTRY" run -- /bin/sh -c "$sleeper")"

py="import time
print('ready', flush=True)
try:
    time.sleep(20)
except KeyboardInterrupt:
    print('KeyboardInterrupt')"
check "SIGINT, Python" \
  "$(run_and_signal INT -- /usr/bin/python3 -c "$py")" \
  "$(run_and_signal INT -- "$SENTRY" run -- /usr/bin/python3 -c "$py")"

# Ctrl-C at a terminal signals the whole foreground process group: the
# gofer too, which must not die of it, since the program may go on using
# its files.
py_files="import time
print('ready', flush=True)
try:
    time.sleep(20)
except KeyboardInterrupt:
    print('KeyboardInterrupt; /etc/os-release:', len(open('/etc/os-release').read()) > 0)"
run_and_signal_group() {
  set -m  # the job gets a process group of its own
  SIGNAL_GROUP=1 run_and_signal "$@"
  set +m
}
check "SIGINT to the process group" \
  "$(run_and_signal_group INT -- /usr/bin/python3 -c "$py_files")" \
  "$(run_and_signal_group INT -- "$SENTRY" run -- /usr/bin/python3 -c "$py_files")"

# A signal ignored when sentry run starts stays ignored inside, as it would
# across an exec (nohup, a shell's background job).
quiet="echo ready; sleep 0.5; echo slept"
check "SIGINT, ignored from the start" \
  "$(run_and_signal INT -- env --ignore-signal=INT /bin/sh -c "$quiet")" \
  "$(run_and_signal INT -- env --ignore-signal=INT "$SENTRY" run -- /bin/sh -c "$quiet")"

# SIGTERM: a tree of processes that ignore it all end.
tree="trap '' TERM; sleep 30 & sleep 30 & echo ready; wait; echo survived"
got=$(run_and_signal TERM -- "$SENTRY" run -- /bin/sh -c "$tree")
if [[ $got != $'ready\nstatus 143' ]]; then
  echo "FAIL: SIGTERM: expected 'ready' and 'status 143', got: $got"
  fail=1
else
  echo "SIGTERM: $got"
fi
# The sentry's copy, its stubs (forked from it) and its gofer all run from
# $WORK.
leftovers() { ps -eo pid=,stat=,args= | awk -v w="$WORK/" '$2 !~ /^Z/ && index($3, w) == 1'; }
for try in $(seq 50); do
  left=$(leftovers)
  [[ -z $left ]] && break
  sleep 0.1
done
if [[ -n $left ]]; then
  echo "FAIL: processes left behind after SIGTERM:"
  echo "$left"
  pkill -9 -f "^$WORK/"
  fail=1
fi
[[ $fail == 0 ]] && echo PASS
exit $fail
