#include "sentry/host/seccomp.h"

#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace husk::host {

Result<void> InstallSentryFilter(std::span<const sock_filter> filter) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Errno(errno);
  sock_fprog prog{static_cast<unsigned short>(filter.size()),
                  const_cast<sock_filter*>(filter.data())};
  // TSYNC: every thread of the sentry, not just the caller.
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
  if (r < 0) return Errno(errno);
  // A positive result is the id of a thread that could not be synced.
  if (r > 0) return Errno(EBUSY);
  return Ok();
}

}  // namespace husk::host
