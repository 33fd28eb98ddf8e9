# Sourced by the host-side signal tests (host_signals.sh, host_stdio.sh):
# running a command natively and under the sentry, signalling it, and
# comparing the two. Each user sets WORK (a scratch directory) and `fail`.

# run_and_signal SIG -- CMD...: starts CMD in the background with SIGINT at
# its default (a background job of a script has it ignored; a foreground
# program at a terminal does not), waits until it has printed "ready",
# sends SIG (to its whole process group if SIGNAL_GROUP is set), and prints
# its output and status, or "hung after SIGx" if it did not end within 5 s.
run_and_signal() {
  local sig=$1
  shift 2
  rm -f "$WORK/out"
  # A background job's stdin is /dev/null unless redirected: STDIN_FD
  # names the fd to give it instead.
  env --default-signal=INT "$@" <&"${STDIN_FD:-0}" >"$WORK/out" 2>&1 &
  local pid=$!
  for i in $(seq 200); do
    grep -q ready "$WORK/out" 2>/dev/null && break
    sleep 0.05
  done
  sleep 0.2  # into whatever it waits in
  if [[ -n ${SIGNAL_GROUP:-} ]]; then kill -s "$sig" -- "-$pid"; else kill -s "$sig" "$pid"; fi
  local waited=0
  while kill -0 "$pid" 2>/dev/null && ((waited < 100)); do
    sleep 0.05
    waited=$((waited + 1))
  done
  kill -s KILL "$pid" 2>/dev/null && echo "hung after SIG$sig"
  wait "$pid"
  local status=$?
  cat "$WORK/out"
  echo "status $status"
}

# check NAME NATIVE SANDBOXED: the two outputs must be the same.
check() {
  if [[ "$2" != "$3" ]]; then
    echo "FAIL: $1: native and sentry differ"
    diff <(echo "$2") <(echo "$3")
    fail=1
  else
    echo "$1: $(echo "$3" | tr '\n' ' ')"
  fi
}
