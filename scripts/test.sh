#!/usr/bin/env bash
# Installs, builds and runs the whole test suite (unit tests, the syscall
# suite natively and under the sentry, real programs, the loader fuzzer).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec ctest --test-dir build -j2 --output-on-failure --timeout 300
