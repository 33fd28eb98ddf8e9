// futex(2). PARTIAL(threads): with one thread per sandbox there is never a
// waiter to wake; WAIT blocks until its timeout (or forever), as Linux does
// when no other thread exists.
#include <linux/futex.h>
#include <time.h>

#include <optional>

#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {

Result<uint64_t> Futex(Task& t, const SyscallArgs& a) {
  const uint64_t uaddr = a.ptr(0);
  const int op = a.i32(1);
  const int cmd = op & FUTEX_CMD_MASK;
  const uint32_t val = a.u32(2);
  if (uaddr & 3) return Errno(EINVAL);
  switch (cmd) {
    case FUTEX_WAKE:
      return 0;
    case FUTEX_WAKE_BITSET:
      if (a.u32(5) == 0) return Errno(EINVAL);
      return 0;
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
      if (cmd == FUTEX_WAIT_BITSET && a.u32(5) == 0) return Errno(EINVAL);
      if ((op & FUTEX_CLOCK_REALTIME) && cmd == FUTEX_WAIT) return Errno(ENOSYS);
      std::optional<timespec> timeout;
      if (a.ptr(3) != 0) {
        timespec ts = TRY(CopyInStruct<timespec>(t, a.ptr(3)));
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) return Errno(EINVAL);
        timeout = ts;
      }
      uint32_t cur = TRY(CopyInStruct<uint32_t>(t, uaddr));
      if (cur != val) return Errno(EAGAIN);
      // Nobody can wake us: sleep out the timeout.
      if (!timeout) {
        for (;;) pause();
      }
      if (cmd == FUTEX_WAIT) {
        clock_nanosleep(CLOCK_MONOTONIC, 0, &*timeout, nullptr);
      } else {
        clock_nanosleep((op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC,
                        TIMER_ABSTIME, &*timeout, nullptr);
      }
      return Errno(ETIMEDOUT);
    }
  }
  return Errno(ENOSYS);
}

}  // namespace husk::syscalls
