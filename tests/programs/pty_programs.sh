#!/bin/sh
# Programs on pseudo-terminals, run by compare.sh natively and under the
# sentry: script(1) and python's pty module. The pty's number differs
# between the runs (the host has others open), so /dev/pts/N is printed
# as /dev/pts/#.
#   pty_programs.sh script | python_spawn | python_fork
set -e
normalize() { sed 's#/dev/pts/[0-9][0-9]*#/dev/pts/\##g'; }
case "$1" in
  script)
    # The shell's stdio is the slave; stty finds a 0x0 window (script's
    # own stdin is no terminal).
    script -qc 'tty; stty size; stty -a | head -1 | cut -d";" -f1; echo status $?' /dev/null | normalize
    ;;
  python_spawn)
    python3 -c 'import pty; print("exit", pty.spawn(["/bin/echo", "hi"]))' | normalize
    ;;
  python_fork)
    python3 - <<'PY' | normalize
import os, pty, sys, termios
pid, fd = pty.fork()
if pid == 0:
    # The child is a session leader with the slave as its terminal.
    print(os.ttyname(0), os.isatty(1), os.getsid(0) == os.getpid(),
          os.tcgetpgrp(0) == os.getpgrp())
    sys.stdout.flush()
    line = sys.stdin.readline()
    print("got", repr(line))
    os._exit(3)
os.write(fd, b"typed\n")
out = b""
while True:
    try:
        data = os.read(fd, 1024)
    except OSError:  # EIO: the slave is closed
        break
    if not data:
        break
    out += data
_, status = os.waitpid(pid, 0)
# The echo of the typed line and the child's output may interleave.
lines = sorted(out.decode().splitlines())
print(lines, os.waitstatus_to_exitcode(status))
PY
    ;;
  *) echo "unknown case $1" >&2; exit 2 ;;
esac
