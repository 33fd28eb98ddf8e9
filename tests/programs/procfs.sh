#!/usr/bin/env bash
# The tools that read /proc and /sys (ps, top, free, df, mount, nproc,
# python's os.cpu_count) work under the sentry and see the sandbox alone:
# its processes numbered from 1 (the program sentry ran), its mounts, its
# CPUs; never the host's processes, nor the gofer. Their output differs
# from a native run's (other pids, other mounts), so what is checked is its
# shape and what must agree with the host (CPU count, total memory).
set -u
SENTRY=$1
failed=0
fail() {
  echo "FAIL: $*"
  failed=1
}
run() { "$SENTRY" run -- "$@"; }

# ps: the sandbox's three processes, pid 1 the shell that sentry ran.
out=$(run /bin/bash -c 'sleep 5 & ps -eo pid=,ppid=,comm=; kill %1' 2>&1)
expected=$'1 0 bash\n2 1 sleep\n3 1 ps'
got=$(echo "$out" | awk '{print $1, $2, $3}')
[[ "$got" == "$expected" ]] || fail "ps -eo pid,ppid,comm: got [$got], want [$expected]"

# ps aux and ps -ef: a header and a line for each process, no gofer.
out=$(run /usr/bin/ps aux 2>&1) || fail "ps aux: status $?: $out"
[[ $(echo "$out" | wc -l) -eq 2 ]] || fail "ps aux: want the header and one process: $out"
[[ "$out" == *"/usr/bin/ps aux"* ]] || fail "ps aux: no command line: $out"
out=$(run /bin/bash -c 'ps -ef' 2>&1) || fail "ps -ef: status $?"
[[ $(echo "$out" | awk 'NR > 1 && $2 == 1' | wc -l) -eq 1 ]] || fail "ps -ef: no pid 1: $out"
[[ "$out" != *gofer* ]] || fail "ps -ef shows the gofer: $out"

# /proc lists the sandbox's pids only.
out=$(run /bin/bash -c 'sleep 5 & ls /proc; kill %1' 2>&1 | grep -E '^[0-9]+$' | sort -n | tr '\n' ' ')
[[ "$out" == "1 2 3 " ]] || fail "ls /proc: want pids 1 (bash), 2 (sleep) and 3 (ls), got [$out]"

# top: one batch iteration with a task summary and itself as pid 1.
out=$(run /usr/bin/top -b -n1 2>&1) || fail "top: status $?: $out"
[[ "$out" == *"Tasks:   1 total"* ]] || fail "top: task summary: $out"
echo "$out" | grep -qE '^ +1 +root .* top$' || fail "top: no line for itself: $out"

# free: the host's RAM is the sandbox's total.
native_total=$(free | awk '/^Mem:/ {print $2}')
out=$(run /usr/bin/free 2>&1) || fail "free: status $?: $out"
total=$(echo "$out" | awk '/^Mem:/ {print $2}')
[[ "$total" == "$native_total" ]] || fail "free: total $total, host's $native_total"

# mount and df: the sandbox's mounts, nothing of the host's.
mounts=$(run /usr/bin/mount 2>&1) || fail "mount: status $?: $mounts"
[[ "$mounts" == *"overlay on / type overlay"* ]] || fail "mount: no root: $mounts"
[[ "$mounts" == *"proc on /proc type proc"* ]] || fail "mount: no /proc: $mounts"
points=$(echo "$mounts" | awk '{print $3}')
out=$(run /usr/bin/df 2>&1) || fail "df: status $?: $out"
for where in $(echo "$out" | awk 'NR > 1 {print $NF}'); do
  grep -qxF "$where" <<<"$points" || fail "df shows $where, which the sandbox has not mounted"
done
[[ $(echo "$out" | awk 'NR > 1 && $NF == "/"' | wc -l) -eq 1 ]] || fail "df: no root: $out"

# nproc and os.cpu_count(): the CPUs the sandbox has, the host's here.
[[ $(run /usr/bin/nproc) == $(nproc) ]] || fail "nproc differs from the host's"
if [[ -x /usr/bin/python3 ]]; then
  code='import os; print(os.cpu_count(), len(os.sched_getaffinity(0)), open("/proc/self/stat").read().split()[0] == str(os.getpid()))'
  native=$(/usr/bin/python3 -c "$code")
  out=$(run /usr/bin/python3 -c "$code" 2>&1)
  [[ "$out" == "$native" ]] || fail "python: got [$out], natively [$native]"
fi

# The files people cat.
out=$(run /bin/cat /proc/self/maps 2>&1) || fail "cat maps: status $?"
[[ "$out" == *"/usr/bin/cat"* && "$out" == *"[stack]"* && "$out" == *"[vdso]"* ]] ||
  fail "maps: $out"
out=$(run /bin/cat /proc/self/status 2>&1)
[[ "$out" == *$'Name:\tcat'* && "$out" == *$'Pid:\t1\n'* && "$out" == *$'PPid:\t0\n'* ]] ||
  fail "status: $out"
out=$(run /usr/bin/readlink /proc/self/exe 2>&1)
[[ "$out" == "$(readlink -f /usr/bin/readlink)" ]] || fail "readlink /proc/self/exe: $out"
out=$(run /bin/ls -l /proc/self/fd 2>&1) || fail "ls -l /proc/self/fd: status $?: $out"
echo "$out" | grep -qE '^l.* 3 -> /proc/1/fd$' || fail "ls -l /proc/self/fd: $out"

if [[ $failed -ne 0 ]]; then
  exit 1
fi
echo "PASS"
