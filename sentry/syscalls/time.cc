// Clocks. The vDSO in every stub answers clock_gettime, gettimeofday and
// time without a trap; these are the slow paths and the other clocks.
#include <sys/time.h>
#include <time.h>

#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

bool IsHostClock(clockid_t id) {
  switch (id) {
    case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW:
    case CLOCK_REALTIME_COARSE: case CLOCK_MONOTONIC_COARSE: case CLOCK_BOOTTIME:
    case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM: case CLOCK_TAI:
      return true;
  }
  return false;
}

// CPU clocks: CLOCK_{PROCESS,THREAD}_CPUTIME_ID, or the encoded form
// (~pid << 3 | type, bit 2 for a thread) of clock_getcpuclockid.
Result<bool> CpuClockIsThread(Task& t, clockid_t id) {
  if (id == CLOCK_PROCESS_CPUTIME_ID) return false;
  if (id == CLOCK_THREAD_CPUTIME_ID) return true;
  if (id >= 0) return Errno(EINVAL);
  if ((id & 3) == 3) return Errno(EINVAL);  // CPUCLOCK_MAX
  const int pid = static_cast<int>(~static_cast<unsigned>(id) >> 3);
  if (pid != 0 && pid != t.pid()) return Errno(EINVAL);
  return (id & 4) != 0;
}

}  // namespace

Result<uint64_t> ClockGettime(Task& t, const SyscallArgs& a) {
  const clockid_t id = a.i32(0);
  timespec ts;
  if (IsHostClock(id)) {
    clock_gettime(id == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME
                  : id == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME : id, &ts);
  } else {
    bool thread = TRY(CpuClockIsThread(t, id));
    ts = TRY(t.mm().address_space().MainContext().CpuTime(thread));
  }
  TRY(CopyOutStruct(t, a.ptr(1), ts));
  return 0;
}

Result<uint64_t> ClockGetres(Task& t, const SyscallArgs& a) {
  const clockid_t id = a.i32(0);
  timespec res{0, 1};
  if (IsHostClock(id)) {
    clock_getres(id == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME
                 : id == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME : id, &res);
  } else {
    TRY(CpuClockIsThread(t, id));
  }
  if (a.ptr(1) != 0) TRY(CopyOutStruct(t, a.ptr(1), res));
  return 0;
}

constexpr struct timezone kNoTimezone = {0, 0};

Result<uint64_t> Gettimeofday(Task& t, const SyscallArgs& a) {
  timeval tv;
  ::gettimeofday(&tv, nullptr);
  if (a.ptr(0) != 0) TRY(CopyOutStruct(t, a.ptr(0), tv));
  if (a.ptr(1) != 0) TRY(CopyOutStruct(t, a.ptr(1), kNoTimezone));
  return 0;
}

Result<uint64_t> Time(Task& t, const SyscallArgs& a) {
  const int64_t now = ::time(nullptr);
  if (a.ptr(0) != 0) TRY(CopyOutStruct(t, a.ptr(0), now));
  return static_cast<uint64_t>(now);
}

}  // namespace husk::syscalls
