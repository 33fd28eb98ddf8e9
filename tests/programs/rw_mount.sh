#!/usr/bin/env bash
# `sentry run --mount HOST:SANDBOX:rw` writes through to HOST, and only to
# HOST; `:ro` (and no suffix) refuses every write with EROFS. On canary
# trees in WORKDIR:
#   1. rw: a shell script (mkdir, echo >, >>, mv, ln, ln -s, rm, rmdir,
#      chmod, touch -d, truncate, mkfifo) under the sentry; the host's tree
#      must then be what the same script makes natively on a fresh copy, and an
#      absolute symlink out of the canary leads no write outside it;
#   2. ro: each of those writes fails with "Read-only file system" and the
#      host's tree is exactly as before;
#   3. tar -xf of a small tarball into a rw mount gives the same tree as a
#      native extraction (sha256 of `tar -cf - --sort=name` of both).
#
# Usage: rw_mount.sh SENTRY WORKDIR
# WORKDIR is made afresh and must be absolute; nothing outside it is touched.
set -u

sentry=${1:?usage: rw_mount.sh SENTRY WORKDIR}
work=${2:?usage: rw_mount.sh SENTRY WORKDIR}
case "$work" in
  /*) ;;
  *) echo "rw_mount.sh: WORKDIR must be absolute" >&2; exit 2 ;;
esac
[ -x "$sentry" ] || { echo "rw_mount.sh: sentry $sentry is not executable" >&2; exit 2; }

rm -rf "$work"
mkdir -p "$work" || exit 2
fail=0
problem() { echo "FAIL: $*"; fail=1; }

make_canary() {
  local d=$1
  mkdir -p "$d/keep" "$d/empty_dir" || return 1
  printf 'old\n' >"$d/existing.txt"
  printf 'rename me\n' >"$d/rename_me.txt"
  printf 'delete me\n' >"$d/delete_me.txt"
  printf '0123456789\n' >"$d/truncate_me.txt"
  printf 'inner\n' >"$d/keep/inner.txt"
  ln -s existing.txt "$d/old_link"
  chmod 0644 "$d"/*.txt "$d/keep/inner.txt"
  chmod 0755 "$d" "$d/keep" "$d/empty_dir"
}

# What the host can tell about a tree, but access and change times (the
# change times differ between any two runs; modification times are set
# where the script sets them, else they are now for both).
fingerprint() {
  (
    cd "$1" || exit 1
    LC_ALL=C find . -printf '%p %y %m %s %n %l\n' | LC_ALL=C sort
    LC_ALL=C find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
    stat -c '%n %Y' newdir/sub/hello.txt 2>/dev/null
  )
}

# Run in /data (the mount), by /bin/sh; prints what it reads back.
script='set -e
cd /data
mkdir -p newdir/sub
echo hello >newdir/sub/hello.txt
echo appended >>existing.txt
mv rename_me.txt renamed.txt
mv keep kept
ln renamed.txt hardlink.txt
ln -s newdir/sub/hello.txt symlink
rm delete_me.txt old_link
rmdir empty_dir
chmod 0600 renamed.txt
chmod 0750 newdir
touch -d "2001-02-03 04:05:06 UTC" newdir/sub/hello.txt
truncate -s 3 truncate_me.txt
printf x >created.bin
chmod 0751 created.bin
mkfifo -m 0640 fifo
(echo through the fifo >fifo &) ; read line <fifo; echo "$line"
cat symlink existing.txt truncate_me.txt
echo
ls -1
stat -c "%n %s %h" renamed.txt hardlink.txt'

# ---- 1. rw ----
canary=$work/canary
native=$work/native
outside=$work/outside
make_canary "$canary" || { echo "FAIL: could not make the canary" >&2; exit 2; }
make_canary "$native" || exit 2
mkdir -p "$outside" || exit 2

echo "rw: $sentry run --mount $canary:/data:rw -- /bin/sh -c ..."
"$sentry" run --mount "$canary:/data:rw" -- /bin/sh -c "$script" \
  </dev/null >"$work/rw.stdout" 2>"$work/rw.stderr"
status=$?
[ "$status" = 0 ] || { problem "under the sentry the script exited $status"; head -c 4000 "$work/rw.stderr"; }
# Natively: the same script in a copy (its /data is the copy's directory).
(umask 022; cd "$native" && /bin/sh -c "${script/cd \/data/cd $native}") \
  </dev/null >"$work/native.stdout" 2>"$work/native.stderr"
nstatus=$?
[ "$nstatus" = 0 ] || { problem "natively the script exited $nstatus"; head -c 4000 "$work/native.stderr"; }
if ! cmp -s "$work/native.stdout" "$work/rw.stdout"; then
  problem "the script printed something else under the sentry:"
  diff -u --label native --label sentry "$work/native.stdout" "$work/rw.stdout"
fi
want=$(fingerprint "$native")
got=$(fingerprint "$canary")
if [ "$want" != "$got" ]; then
  problem "the host's canary is not what the script makes natively:"
  diff -u --label native --label sentry <(printf '%s\n' "$want") <(printf '%s\n' "$got")
else
  echo "rw: the host's tree is the native one ($(printf '%s\n' "$got" | wc -l) fingerprint lines)"
fi
[ "$(stat -c %Y "$canary/newdir/sub/hello.txt")" = 981173106 ] || problem "touch -d did not reach the host"

# Symlinks out of the mount: an absolute one to a host directory beside the
# canary is resolved inside the sandbox (the overlay root), so writing
# through it changes nothing on the host.
ln -s "$outside" "$canary/escape"
ln -s ../../.. "$canary/up"
"$sentry" run --mount "$canary:/data:rw" -- /bin/sh -c \
  'echo pwned >/data/escape/pwned; mkdir /data/escape/dir; echo pwned >/data/up/pwned_up; ls /data/escape' \
  </dev/null >"$work/escape.stdout" 2>"$work/escape.stderr"
[ -z "$(ls -A "$outside")" ] || problem "a write through /data/escape reached the host: $(ls -A "$outside")"
[ ! -e "$work/pwned_up" ] && [ ! -e "$(dirname "$work")/pwned_up" ] &&
  [ ! -e "$(dirname "$(dirname "$work")")/pwned_up" ] || problem "a write through /data/up reached the host"
rm -f "$canary/escape" "$canary/up"

# ---- 2. ro ----
ro=$work/ro_canary
make_canary "$ro" || exit 2
ro_before=$(fingerprint "$ro"; LC_ALL=C find "$ro" -printf '%p %T@ %C@\n' | LC_ALL=C sort)
ro_script='cd /data
for op in "mkdir newdir" "touch new.txt" "sh -c \"echo x >existing.txt\"" "sh -c \"echo x >>existing.txt\"" \
          "mv rename_me.txt renamed.txt" "ln existing.txt hard" "ln -s existing.txt soft" \
          "rm delete_me.txt" "rmdir empty_dir" "chmod 0600 existing.txt" \
          "touch -d 2001-02-03 existing.txt" "truncate -s 3 truncate_me.txt" "mkfifo fifo"; do
  if out=$(eval "$op" 2>&1); then echo "$op: succeeded"; continue; fi
  case "$out" in
    *"Read-only file system"*) echo "$op: EROFS" ;;
    *) echo "$op: $out" ;;
  esac
done'
for spec in "$ro:/data:ro" "$ro:/data"; do
  "$sentry" run --mount "$spec" -- /bin/sh -c "$ro_script" </dev/null >"$work/ro.stdout" 2>"$work/ro.stderr"
  if grep -v ': EROFS$' "$work/ro.stdout"; then
    problem "--mount $spec: a write did not fail with EROFS (above)"
  elif [ "$(wc -l <"$work/ro.stdout")" != 13 ]; then
    problem "--mount $spec: the ro script did not run every write:"
    cat "$work/ro.stdout" "$work/ro.stderr"
  else
    echo "ro: --mount $spec: 13 writes, 13 EROFS"
  fi
done
ro_after=$(fingerprint "$ro"; LC_ALL=C find "$ro" -printf '%p %T@ %C@\n' | LC_ALL=C sort)
if [ "$ro_before" != "$ro_after" ]; then
  problem "the read-only mount changed the host's tree:"
  diff -u --label before --label after <(printf '%s\n' "$ro_before") <(printf '%s\n' "$ro_after")
fi

# ---- 3. tar ----
src=$work/tar_src
mkdir -p "$src/a/b/c" "$src/d" || exit 2
for i in $(seq 1 20); do head -c $((i * 997)) /dev/urandom >"$src/a/b/file$i"; done
printf 'text\n' >"$src/d/text.txt"
printf '#!/bin/sh\necho hi\n' >"$src/d/run.sh"
chmod 0755 "$src/d/run.sh"
chmod 0600 "$src/a/b/file3"
chmod 0700 "$src/a/b/c"
ln "$src/d/text.txt" "$src/d/hard.txt"
ln -s ../d/text.txt "$src/a/rel_link"
ln -s /etc/passwd "$src/a/abs_link"
touch -d "2010-01-01 00:00:00 UTC" "$src/a/b/file1" "$src/a/b/c"
touch -h -d "2011-01-01 00:00:00 UTC" "$src/a/rel_link"
tar -cf "$work/small.tar" -C "$src" . || exit 2
mkdir -p "$work/tar_native" "$work/tar_rw"
tar -xf "$work/small.tar" -C "$work/tar_native" || problem "native tar -xf failed"
"$sentry" run --mount "$work/tar_rw:/data:rw" -- tar -xf "$work/small.tar" -C /data \
  </dev/null >"$work/tar.stdout" 2>"$work/tar.stderr"
status=$?
[ "$status" = 0 ] || { problem "tar -xf under the sentry exited $status"; head -c 4000 "$work/tar.stderr"; }
tarsum() { tar -cf - --sort=name --numeric-owner -C "$1" . | sha256sum; }
if [ "$(tarsum "$work/tar_native")" != "$(tarsum "$work/tar_rw")" ]; then
  problem "the tree tar extracted under the sentry differs from the native one:"
  diff <(tar -tvf - --numeric-owner < <(tar -cf - --sort=name -C "$work/tar_native" .)) \
       <(tar -tvf - --numeric-owner < <(tar -cf - --sort=name -C "$work/tar_rw" .))
else
  echo "tar: the extracted trees are the same ($(tar -tf "$work/small.tar" | wc -l) entries)"
fi

if [ "$fail" = 0 ]; then
  echo "PASS"
  rm -rf "$work"
  exit 0
fi
exit 1
