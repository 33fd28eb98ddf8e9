// The sentry's own seccomp filter, installed once the sandbox is set up:
// from then on the sentry cannot open host paths, execute programs or
// create sockets, whatever a bug in it might try. Every host syscall the
// sentry makes after start-up is on this list.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "base/result.h"

namespace husk::host {

// The compiled BPF program.
using SentryFilter = std::vector<sock_filter>;

// Compiles the filter (a few hundred microseconds of libseccomp: done while
// the gofer starts, off the path of the first program).
Result<SentryFilter> BuildSentryFilter();
// Installs it on every thread of the sentry.
Result<void> InstallSentryFilter(const SentryFilter& filter);

}  // namespace husk::host
