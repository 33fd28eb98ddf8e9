// futex(2) over the kernel's futex queues (sentry/kernel/futex.cc).
#include <linux/futex.h>
#include <time.h>

#include <optional>

#include "sentry/kernel/kernel.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

// The absolute CLOCK_MONOTONIC deadline of a futex timeout: relative for
// FUTEX_WAIT, absolute on the chosen clock for the _BITSET ops.
Result<std::optional<timespec>> Deadline(Task& t, uint64_t addr, bool absolute, bool realtime) {
  if (addr == 0) return std::optional<timespec>();
  timespec ts = TRY(CopyInStruct<timespec>(t, addr));
  if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) return Errno(EINVAL);
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (absolute) {
    if (!realtime) return std::optional<timespec>(ts);
    timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    // Shift the realtime deadline onto the monotonic clock.
    int64_t ns = (ts.tv_sec - real.tv_sec) * 1000000000LL + (ts.tv_nsec - real.tv_nsec);
    ts = now;
    ts.tv_sec += ns / 1000000000LL;
    ts.tv_nsec += ns % 1000000000LL;
  } else {
    ts.tv_sec += now.tv_sec;
    ts.tv_nsec += now.tv_nsec;
  }
  while (ts.tv_nsec >= 1000000000) {
    ts.tv_nsec -= 1000000000;
    ++ts.tv_sec;
  }
  while (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000;
    --ts.tv_sec;
  }
  return std::optional<timespec>(ts);
}

}  // namespace

Result<uint64_t> Futex(Task& t, const SyscallArgs& a) {
  const uint64_t uaddr = a.ptr(0);
  const int op = a.i32(1);
  const int cmd = op & FUTEX_CMD_MASK;
  const bool shared = !(op & FUTEX_PRIVATE_FLAG);
  const bool realtime = (op & FUTEX_CLOCK_REALTIME) != 0;
  const uint32_t val = a.u32(2);
  auto& futexes = t.kernel().futexes();
  if (realtime && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT_REQUEUE_PI && cmd != FUTEX_LOCK_PI2) {
    return Errno(ENOSYS);
  }
  if (uaddr & 3) return Errno(EINVAL);
  switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
      const uint32_t bitset = cmd == FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : a.u32(5);
      if (bitset == 0) return Errno(EINVAL);
      auto deadline = TRY(Deadline(t, a.ptr(3), cmd == FUTEX_WAIT_BITSET, realtime));
      auto r = futexes.Wait(t, uaddr, shared, val, bitset, deadline);
      if (!r) {
        // An interrupted wait with a timeout fails with EINTR; without one
        // it restarts if no handler runs (futex_wait_restart).
        if (r.error() == Errno(ERESTARTSYS)) return Errno(deadline ? EINTR : ERESTARTSYS);
        return r.error();
      }
      return 0;
    }
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
      const uint32_t bitset = cmd == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : a.u32(5);
      if (bitset == 0) return Errno(EINVAL);
      const int n = static_cast<int>(std::min<uint32_t>(val, INT32_MAX));
      return static_cast<uint64_t>(futexes.Wake(t, uaddr, shared, n, bitset));
    }
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
      if (a.ptr(4) & 3) return Errno(EINVAL);
      const int n = static_cast<int>(std::min<uint32_t>(val, INT32_MAX));
      const int n2 = static_cast<int>(std::min<uint64_t>(a.u64(3), INT32_MAX));
      if (static_cast<int32_t>(val) < 0 || static_cast<int64_t>(a.u64(3)) < 0) return Errno(EINVAL);
      std::optional<uint32_t> check;
      if (cmd == FUTEX_CMP_REQUEUE) check = a.u32(5);
      return static_cast<uint64_t>(TRY(futexes.Requeue(t, uaddr, a.ptr(4), shared, n, n2, check)));
    }
    case FUTEX_WAKE_OP: {
      if (a.ptr(4) & 3) return Errno(EINVAL);
      const int n = static_cast<int>(std::min<uint32_t>(val, INT32_MAX));
      const int n2 = static_cast<int>(std::min<uint64_t>(a.u64(3) & 0xffffffff, INT32_MAX));
      return static_cast<uint64_t>(TRY(futexes.WakeOp(t, uaddr, a.ptr(4), shared, n, n2, a.u32(5))));
    }
  }
  // PARTIAL(futex): the priority-inheritance ops.
  return Errno(ENOSYS);
}

}  // namespace husk::syscalls
