#include "vfs/eventfd/eventfd.h"

#include <poll.h>

#include <cstring>
#include <limits>

#include "vfs/anon_inode.h"
#include "vfs/wait.h"

namespace husk::vfs {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();  // ULLONG_MAX

class EventFd final : public FileDescription {
 public:
  EventFd(uint64_t initval, int flags)
      : FileDescription(Path{}, O_RDWR | (flags & O_NONBLOCK)),
        semaphore_((flags & kEfdSemaphore) != 0),
        count_(initval) {}

  // eventfd_read: the whole count (EFD_SEMAPHORE: 1 of it), waiting while
  // it is 0. A buffer shorter than the 8-byte counter is EINVAL.
  Result<size_t> Read(const IoVecs& dst) override {
    if (TotalLength(dst) < sizeof(uint64_t)) return Errno(EINVAL);
    uint64_t value;
    for (;;) {
      {
        absl::MutexLock lock(&mu_);
        if (count_ > 0) {
          value = semaphore_ ? 1 : count_;
          count_ -= value;
          break;
        }
      }
      if (flags() & O_NONBLOCK) return Errno(EAGAIN);
      TRY(BlockOn(queue_, [&] {
        absl::MutexLock lock(&mu_);
        return count_ > 0;
      }));
    }
    queue_.NotifyAll();  // room for writers
    CopyToIoVecs(dst, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&value), sizeof(value)));
    return sizeof(value);
  }

  // eventfd_write: adds the 8-byte value, waiting while the sum would pass
  // ULLONG_MAX - 1; ULLONG_MAX itself is EINVAL, and so is any count but 8
  // (Linux 6.9 on). PARTIAL(writev): Linux writes each iovec on its own,
  // here they are one buffer: writev of 4+4 bytes works, of 8+4 is EINVAL.
  Result<size_t> Write(const IoVecs& src) override {
    if (TotalLength(src) != sizeof(uint64_t)) return Errno(EINVAL);
    uint64_t value = 0;
    CopyFromIoVecs(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&value), sizeof(value)), src);
    if (value == kMax) return Errno(EINVAL);
    for (;;) {
      {
        absl::MutexLock lock(&mu_);
        if (kMax - count_ > value) {
          count_ += value;
          break;
        }
      }
      if (flags() & O_NONBLOCK) return Errno(EAGAIN);
      TRY(BlockOn(queue_, [&] {
        absl::MutexLock lock(&mu_);
        return kMax - count_ > value;
      }));
    }
    queue_.NotifyAll();
    return sizeof(value);
  }

  // eventfd_poll: readable while the count is nonzero, writable while a
  // write of 1 would not wait. (A count of ULLONG_MAX, POLLERR in Linux,
  // needs an in-kernel eventfd_signal overflow; write cannot reach it.)
  short Readiness(short events) override {
    absl::MutexLock lock(&mu_);
    short ready = 0;
    if (count_ > 0) ready |= POLLIN;  // not POLLRDNORM, as Linux
    if (count_ == kMax) ready |= POLLERR;
    if (kMax - 1 > count_) ready |= POLLOUT;
    return ready & (events | POLLHUP | POLLERR);
  }
  WaitQueue* ReadinessQueue() override { return &queue_; }

  Result<struct stat> Stat() override { return AnonInodeStat(); }
  std::string AnonName() const override { return "anon_inode:[eventfd]"; }
  // noop_llseek: lseek succeeds and the offset stays 0; pread and pwrite
  // are ESPIPE.
  Result<uint64_t> Seek(int64_t, int) override { return offset(); }
  bool Mappable() const override { return false; }

 private:
  const bool semaphore_;
  absl::Mutex mu_;
  uint64_t count_ ABSL_GUARDED_BY(mu_);
  WaitQueue queue_;  // readers, writers and pollers: the count changed
};

}  // namespace

std::shared_ptr<FileDescription> NewEventFd(uint64_t initval, int flags) {
  return std::make_shared<EventFd>(initval, flags);
}

}  // namespace husk::vfs
