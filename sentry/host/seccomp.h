// The sentry's own seccomp filter, installed once the sandbox is set up:
// from then on the sentry cannot open host paths, execute programs or
// create sockets, whatever a bug in it might try. Every host syscall the
// sentry makes after start-up is on this list.
#pragma once

#include "base/result.h"

namespace husk::host {

Result<void> InstallSentryFilter();

}  // namespace husk::host
