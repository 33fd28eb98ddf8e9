#!/usr/bin/env bash
# A sentry that dies during start-up (here: its gofer cannot be executed)
# while the platform is creating the first stub must leave no stub behind.
# A stub orphaned before it armed its death signal used to be adopted, and
# traced, by the host's init, and stopped for ever.
set -u
SENTRY=$1
WORK=$2
name=sentry_fs  # a name no other process has (comm keeps 15 bytes)
rm -rf "$WORK" && mkdir -p "$WORK/gofer"  # a directory where the gofer should be
cp "$SENTRY" "$WORK/$name"
for i in $(seq 40); do
  out=$("$WORK/$name" run -- /bin/true 2>&1)
  if [[ $? -eq 0 || $out != *"cannot start the gofer"* ]]; then
    echo "FAIL: run $i: expected the gofer start to fail, got: $out"
    exit 1
  fi
done
# Exited stubs are reaped by whoever adopted them; give that a moment.
for try in $(seq 50); do
  left=$(ps -o pid=,stat= -C "$name" | awk '$2 !~ /^Z/')
  [[ -z $left ]] && break
  sleep 0.1
done
if [[ -n $left ]]; then
  echo "FAIL: processes left behind:"
  ps -o pid,ppid,stat,etime,comm -C "$name"
  for pid in $(ps -o pid= -C "$name"); do
    grep -E "State|TracerPid|NSpid" /proc/$pid/status
    cat /proc/$pid/stack /proc/$pid/syscall 2>/dev/null
  done
  pkill -9 -x "$name"
  exit 1
fi
echo PASS
