#!/usr/bin/env bash
# A program writing into a pipe whose reader went away gets SIGPIPE (and
# dies with 128+13) or, with SIGPIPE ignored, EPIPE: under the sentry as
# natively, and the sentry itself must survive to report it.
set -u
SENTRY=$1
run() {  # run [sentry] -- CMD...: prints the first line read and the writer's status
  "$@" | head -1
  echo "status ${PIPESTATUS[0]}"
}
native=$(run /usr/bin/yes; run /usr/bin/python3 -c 'import signal,sys
signal.signal(signal.SIGPIPE, signal.SIG_IGN)
try:
    [sys.stdout.write("x"*100+"\n") for i in range(100000)]; sys.stdout.flush()
except BrokenPipeError: sys.exit(3)')
sandboxed=$(run "$SENTRY" run -- /usr/bin/yes; run "$SENTRY" run -- /usr/bin/python3 -c 'import signal,sys
signal.signal(signal.SIGPIPE, signal.SIG_IGN)
try:
    [sys.stdout.write("x"*100+"\n") for i in range(100000)]; sys.stdout.flush()
except BrokenPipeError: sys.exit(3)')
if [[ "$native" != "$sandboxed" ]]; then
  echo "FAIL: native and sentry differ"
  diff <(echo "$native") <(echo "$sandboxed")
  exit 1
fi
echo "$sandboxed"
echo "PASS"
