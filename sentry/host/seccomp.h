// The sentry's own seccomp filter, installed once the sandbox is set up:
// from then on the sentry cannot open host paths, execute programs or
// create sockets, whatever a bug in it might try. Every host syscall the
// sentry makes after start-up is on this list.
//
// The rules (seccomp_rules.cc) are compiled with libseccomp at build time
// by sentry_filter_gen; the sentry carries the resulting BPF program
// (CompiledSentryFilter) and spends nothing on compiling it at start-up.
#pragma once

#include <linux/filter.h>

#include <span>
#include <vector>

#include "base/result.h"

namespace husk::host {

// The compiled BPF program.
using SentryFilter = std::vector<sock_filter>;

// Compiles the rules (build time only).
Result<SentryFilter> BuildSentryFilter();
// The program BuildSentryFilter produced when the sentry was built.
std::span<const sock_filter> CompiledSentryFilter();
// Installs `filter` on every thread of the sentry.
Result<void> InstallSentryFilter(std::span<const sock_filter> filter);

}  // namespace husk::host
