# Run on a terminal (by host_tty.sh, under script(1)): what a program
# started on the caller's terminal sees of it, natively and under the
# sentry. Prints one line per check.
import os
import signal
import sys

def out(*a):
    print(*a)
    sys.stdout.flush()

out("isatty", os.isatty(0), os.isatty(1), os.ttyname(0) == os.ttyname(1))
out("foreground", os.tcgetpgrp(0) == os.getpgrp())
fd = os.open("/dev/tty", os.O_RDWR)
os.write(fd, b"via /dev/tty\n")
out("opened as", os.ttyname(fd))
os.close(fd)

# A read from a background group of the session stops it (SIGTTIN).
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    os.read(0, 1)
    os._exit(0)
os.setpgid(pid, pid)
_, st = os.waitpid(pid, os.WUNTRACED)
out("background read stops", os.WIFSTOPPED(st) and os.WSTOPSIG(st) == signal.SIGTTIN)
os.kill(pid, signal.SIGKILL)
os.waitpid(pid, 0)

# The foreground group passes to a child and back.
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    ok = os.tcgetpgrp(0) == os.getpgrp()
    os._exit(0 if ok else 1)
os.setpgid(pid, pid)
os.tcsetpgrp(0, pid)
_, st = os.waitpid(pid, 0)
out("child in foreground", os.waitstatus_to_exitcode(st) == 0)
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
os.tcsetpgrp(0, os.getpgrp())
out("back", os.tcgetpgrp(0) == os.getpgrp())
