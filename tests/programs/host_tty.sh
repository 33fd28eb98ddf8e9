#!/bin/sh
# `sentry run` started on a terminal (script(1) makes one): the program sees
# a terminal on its stdio, /dev/tty, and job control on it (the foreground
# group is the sandbox's own), as it would natively.
#   host_tty.sh SENTRY
SENTRY=$1
command -v script >/dev/null 2>&1 || { echo "SKIP: no script(1)"; exit 77; }
PROBE="$(dirname "$0")/host_tty_probe.py"
cmd="tty; stty size; python3 $PROBE"
normalize() { sed 's#/dev/pts/[0-9][0-9]*#/dev/pts/\##g'; }
native=$(timeout 30 script -qec "sh -c '$cmd'" /dev/null </dev/null | normalize)
sandboxed=$(timeout 30 script -qec "$SENTRY run -- sh -c '$cmd'" /dev/null </dev/null | normalize)
if [ "$native" = "$sandboxed" ] && [ -n "$native" ]; then
  echo "PASS"
  exit 0
fi
echo "FAIL"
echo "--- native"
echo "$native"
echo "--- sentry"
echo "$sandboxed"
exit 1
