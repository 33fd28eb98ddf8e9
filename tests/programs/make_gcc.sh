#!/bin/sh
# make -j2 builds tests/programs/make_project in a fresh /tmp directory (the
# sandbox's own /tmp under the sentry) and runs the result.
set -e
src=$(dirname "$0")/make_project
work=$(mktemp -d /tmp/husk_make_XXXXXX)
cp "$src"/Makefile "$src"/*.c "$src"/*.h "$work"
cd "$work"
make -s -j2
./prog
rm -rf "$work"
