#!/usr/bin/env bash
# Waiting on the caller's stdin when it is an idle host pipe: the wait is
# the sandbox's, so a signal (Ctrl-C, timeout(1)'s SIGTERM, an alarm) ends it
# as it would natively; select and poll time out; a non-blocking read says
# EAGAIN. Each case runs natively and under the sentry, and the output and
# status must be the same.
set -u
SENTRY=$1
WORK=$2
rm -rf "$WORK" && mkdir -p "$WORK"
fail=0

# An idle pipe for stdin: a FIFO held open for writing by this script, so a
# reader sees neither data nor EOF.
mkfifo "$WORK/idle"
exec 7<>"$WORK/idle"

source "$(dirname "$0")/signal_lib.sh"
exec <&7
STDIN_FD=7

# run CMD...: runs CMD (killed after 10 s if it hangs); prints its output
# and status.
run() {
  timeout -s KILL 10 "$@" >"$WORK/out" 2>&1
  local status=$?
  cat "$WORK/out"
  echo "status $status"
}

catter="echo ready; exec cat"
check "SIGINT to cat reading an idle pipe" \
  "$(run_and_signal INT -- /bin/sh -c "$catter")" \
  "$(run_and_signal INT -- "$SENTRY" run -- /bin/sh -c "$catter")"

check "timeout 0.5 cat" \
  "$(run timeout 0.5 cat)" \
  "$(run "$SENTRY" run -- timeout 0.5 cat)"

check "bash read -t" \
  "$(run /bin/bash -c 'read -t 0.3 x; echo "read status $?"')" \
  "$(run "$SENTRY" run -- /bin/bash -c 'read -t 0.3 x; echo "read status $?"')"

if [[ -x /usr/bin/python3 ]]; then
  py="import os, select, signal
r, _, _ = select.select([0], [], [], 0.3)
print('select', 'ready' if r else 'timed out')
p = select.poll(); p.register(0, select.POLLIN)
print('poll', p.poll(200))
def alarm(*args):
    print('alarm')
    raise TimeoutError
signal.signal(signal.SIGALRM, alarm)
signal.setitimer(signal.ITIMER_REAL, 0.3)
try:
    os.read(0, 10)
except TimeoutError:
    print('read interrupted')
os.set_blocking(0, False)
try:
    os.read(0, 10)
except BlockingIOError:
    print('EAGAIN')
# The pipe's open file description is this script's too.
os.set_blocking(0, True)"
  check "python select, poll, interrupted read, EAGAIN" \
    "$(run /usr/bin/python3 -c "$py")" \
    "$(run "$SENTRY" run -- /usr/bin/python3 -c "$py")"
fi

# Data that does arrive is read.
check "data through the pipe" \
  "$(echo hello | "$SENTRY" run -- /bin/sh -c 'read x; echo "got $x"')" \
  "$(echo hello | /bin/sh -c 'read x; echo "got $x"')"

exec 7>&- 0</dev/null
[[ $fail == 0 ]] && echo PASS
exit $fail
