#!/usr/bin/env bash
# The sandbox's root is an overlay over the host's files: a program may
# change any file it sees, and the host must not see any of it. This runs
# overlay_canary (which overwrites, appends, creates, unlinks, removes a
# directory and truncates) on a canary tree in the build directory:
#   1. under the sentry: it must succeed and print the expected view;
#   2. the host's canary tree must be exactly as before (paths, types, sizes,
#      modes, symlink targets, mtimes, ctimes and a sha256 of every file);
#   3. natively, on a fresh copy of the tree: the same view, so the sandbox
#      behaves as Linux does.
#
# Usage: overlay_canary.sh SENTRY PROGRAM WORKDIR
# WORKDIR is made afresh; it must be somewhere the sandbox sees the host's
# files (the build directory, not /tmp, which the sandbox has private).
set -u

sentry=${1:?usage: overlay_canary.sh SENTRY PROGRAM WORKDIR}
prog=${2:?usage: overlay_canary.sh SENTRY PROGRAM WORKDIR}
work=${3:?usage: overlay_canary.sh SENTRY PROGRAM WORKDIR}
case "$work" in
  /*) ;;
  *) echo "overlay_canary.sh: WORKDIR must be absolute" >&2; exit 2 ;;
esac
[ -x "$sentry" ] || { echo "overlay_canary.sh: sentry $sentry is not executable" >&2; exit 2; }
[ -x "$prog" ] || { echo "overlay_canary.sh: $prog is not executable" >&2; exit 2; }

rm -rf "$work"
mkdir -p "$work" || exit 2
canary=$work/canary

# The tree overlay_canary expects (see overlay_canary.c).
make_canary() {
  local d=$1
  mkdir -p "$d/subdir" "$d/keep" || return 1
  printf 'original overwrite content\n' >"$d/overwrite.txt"
  printf 'line1\n' >"$d/append.txt"
  printf 'doomed\n' >"$d/remove_me.txt"
  printf '0123456789abcdef\n' >"$d/truncate.txt"
  printf 'a\n' >"$d/subdir/a.txt"
  printf 'b\n' >"$d/subdir/b.txt"
  printf 'inner\n' >"$d/keep/inner.txt"
  ln -s overwrite.txt "$d/link"
  chmod 0644 "$d"/*.txt "$d"/subdir/*.txt "$d"/keep/*.txt
  chmod 0755 "$d" "$d/subdir" "$d/keep"
}

# Everything the host can tell about the tree.
fingerprint() {
  (
    cd "$1" || exit 1
    LC_ALL=C find . -printf '%p %y %s %m %l %T@ %C@\n' | LC_ALL=C sort
    LC_ALL=C find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
  )
}

expected=$(cat <<'EOF'
append.txt file 0644 12 "line1\nline2\n"
keep dir 0755
keep/inner.txt file 0644 7 "reborn\n"
link symlink -> overwrite.txt
new.txt file 0640 10 "brand new\n"
newdir dir 0750
newdir/inside.txt file 0600 7 "inside\n"
overwrite.txt file 0644 12 "overwritten\n"
truncate.txt file 0644 4 "0123"
via link: overwritten
EOF
)

make_canary "$canary" || { echo "FAIL: could not make the canary tree" >&2; exit 2; }
before=$(fingerprint "$canary") || { echo "FAIL: fingerprint" >&2; exit 2; }
# Let a change the sandbox might leak show in the times.
sleep 0.05

fail=0

# 1. Under the sentry.
echo "sentry: $sentry run -- $prog $canary"
"$sentry" run -- "$prog" "$canary" </dev/null >"$work/sentry.stdout" 2>"$work/sentry.stderr"
status=$?
if [ "$status" != 0 ]; then
  echo "FAIL: under the sentry, overlay_canary exited $status"
  echo "--- stderr ---"
  head -c 4000 "$work/sentry.stderr"
  fail=1
fi
if [ "$(cat "$work/sentry.stdout")" != "$expected" ]; then
  echo "FAIL: under the sentry, overlay_canary saw another tree:"
  diff -u --label expected --label sentry <(printf '%s\n' "$expected") "$work/sentry.stdout"
  fail=1
else
  echo "sentry: the expected view ($(wc -l <"$work/sentry.stdout") lines)"
fi

# 2. The host's tree is untouched.
after=$(fingerprint "$canary")
if [ "$before" != "$after" ]; then
  echo "FAIL: the sentry changed the host's canary tree:"
  diff -u --label before --label after <(printf '%s\n' "$before") <(printf '%s\n' "$after")
  fail=1
else
  echo "host: canary tree unchanged ($(printf '%s\n' "$before" | wc -l) fingerprint lines)"
fi

# 3. Natively, on a fresh copy.
native=$work/native
make_canary "$native" || { echo "FAIL: could not make the native copy" >&2; exit 2; }
(umask 022; "$prog" "$native") </dev/null >"$work/native.stdout" 2>"$work/native.stderr"
nstatus=$?
if [ "$nstatus" != 0 ]; then
  echo "FAIL: natively, overlay_canary exited $nstatus"
  head -c 4000 "$work/native.stderr"
  fail=1
fi
if ! cmp -s "$work/native.stdout" "$work/sentry.stdout"; then
  echo "FAIL: the sentry's view differs from the native one:"
  diff -u --label native --label sentry "$work/native.stdout" "$work/sentry.stdout"
  fail=1
else
  echo "native: the same view"
fi
if [ "$(cat "$work/native.stdout")" != "$expected" ]; then
  echo "FAIL: natively, overlay_canary did not print the expected view (test out of date?)"
  fail=1
fi

if [ "$fail" = 0 ]; then
  echo "OK"
  exit 0
fi
exit 1
