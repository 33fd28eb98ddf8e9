#include "vfs/pipe/pipe.h"

#include <linux/limits.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <atomic>
#include <deque>

#include "vfs/lock.h"
#include "vfs/wait.h"

namespace husk::vfs {
namespace {

constexpr size_t kPipeSize = 65536;  // the default capacity (16 pages)
// Writes of at most PIPE_BUF bytes are atomic: all or nothing.
constexpr size_t kPipeBuf = PIPE_BUF;

std::atomic<uint64_t> next_pipe_ino{1};

}  // namespace

// The buffer and the counts of its open ends.
class Pipe {
 public:
  Pipe() : ino_(next_pipe_ino++) { clock_gettime(CLOCK_REALTIME, &time_); }

  absl::Mutex mu;
  std::deque<uint8_t> buf ABSL_GUARDED_BY(mu);
  int readers ABSL_GUARDED_BY(mu) = 0;
  int writers ABSL_GUARDED_BY(mu) = 0;
  // Opens so far of each kind, which a FIFO's opener waits to see change
  // (a partner that came and went still counts).
  uint64_t read_opens ABSL_GUARDED_BY(mu) = 0;
  uint64_t write_opens ABSL_GUARDED_BY(mu) = 0;
  WaitQueue readable;  // data arrived or the last writer left
  WaitQueue writable;  // room appeared or the last reader left
  WaitQueue polled;    // either (poll, select)
  WaitQueue opened;    // a FIFO got a reader or a writer
  // flock(2) and record locks on a pipe2(2) pipe (pipefs's inode); a
  // FIFO's are its inode's.
  const std::shared_ptr<FileLocks> locks = std::make_shared<FileLocks>();
  void NotifyReadable() {
    readable.NotifyAll();
    polled.NotifyAll();
  }
  void NotifyWritable() {
    writable.NotifyAll();
    polled.NotifyAll();
  }

  uint64_t ino() const { return ino_; }
  const timespec& time() const { return time_; }

 private:
  const uint64_t ino_;
  timespec time_;
};

namespace {

// One open end: a pipe2(2) end (no path) or an open of a FIFO, which may
// read and write at once (O_RDWR).
class PipeEnd final : public FileDescription {
 public:
  PipeEnd(std::shared_ptr<Pipe> pipe, Path path, int flags)
      : FileDescription(std::move(path), flags), pipe_(std::move(pipe)) {
    absl::MutexLock lock(&pipe_->mu);
    if (Readable()) {
      ++pipe_->readers;
      ++pipe_->read_opens;
      // A FIFO reader that did not wait for a writer sees no hang-up until
      // one came and went (Linux's pipe_poll and f_version).
      if ((flags & O_NONBLOCK) && !Writable() && path_.valid()) hup_after_ = pipe_->write_opens;
    }
    if (Writable()) {
      ++pipe_->writers;
      ++pipe_->write_opens;
    }
  }
  ~PipeEnd() override {
    {
      absl::MutexLock lock(&pipe_->mu);
      if (Readable()) --pipe_->readers;
      if (Writable()) --pipe_->writers;
      // A FIFO keeps no data once nobody has it open.
      if (pipe_->readers == 0 && pipe_->writers == 0) pipe_->buf.clear();
    }
    pipe_->NotifyReadable();
    pipe_->NotifyWritable();
  }

  // A FIFO reports its inode; a pipe its pipefs identity.
  Result<struct stat> Stat() override {
    if (path_.valid()) return FileDescription::Stat();
    return PipeStat();
  }
  // open(2) of /proc/[pid]/fd/N of a pipe2(2) pipe: another open of the
  // same pipe, which (unlike a FIFO's) waits for no partner (fifo_open on
  // pipefs).
  Result<std::shared_ptr<FileDescription>> Reopen(int flags) override {
    const int acc = flags & O_ACCMODE;
    if (acc != O_RDONLY && acc != O_WRONLY && acc != O_RDWR) return Errno(EINVAL);
    auto end = std::make_shared<PipeEnd>(pipe_, Path{}, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC));
    pipe_->opened.NotifyAll();
    pipe_->NotifyReadable();
    pipe_->NotifyWritable();
    return std::shared_ptr<FileDescription>(std::move(end));
  }

  short Readiness(short events) override {
    absl::MutexLock lock(&pipe_->mu);
    short ready = 0;
    if (Readable()) {
      if (!pipe_->buf.empty()) ready |= POLLIN | POLLRDNORM;
      if (pipe_->writers == 0 && pipe_->write_opens != hup_after_) ready |= POLLHUP;
    }
    if (Writable()) {
      // Room for an atomic write; with no reader a write would fail.
      if (kPipeSize - pipe_->buf.size() >= kPipeBuf) ready |= POLLOUT | POLLWRNORM;
      if (pipe_->readers == 0) ready |= POLLERR;
    }
    return ready & (events | POLLHUP | POLLERR);
  }
  WaitQueue* ReadinessQueue() override { return &pipe_->polled; }

  Result<size_t> Read(const IoVecs& dst) override {
    const size_t want = TotalLength(dst);
    if (want == 0) return 0;
    for (;;) {
      {
        absl::MutexLock lock(&pipe_->mu);
        if (!pipe_->buf.empty()) {
          const size_t n = std::min(want, pipe_->buf.size());
          size_t done = 0;
          for (const iovec& v : dst) {
            if (done == n) break;
            const size_t k = std::min(v.iov_len, n - done);
            std::copy_n(pipe_->buf.begin(), k, static_cast<uint8_t*>(v.iov_base));
            pipe_->buf.erase(pipe_->buf.begin(), pipe_->buf.begin() + static_cast<long>(k));
            done += k;
          }
          pipe_->NotifyWritable();
          return n;
        }
        if (pipe_->writers == 0) return 0;  // end of file
      }
      if (flags() & O_NONBLOCK) return Errno(EAGAIN);
      TRY(BlockOn(pipe_->readable, [&] {
        absl::MutexLock lock(&pipe_->mu);
        return !pipe_->buf.empty() || pipe_->writers == 0;
      }));
    }
  }

  Result<size_t> Write(const IoVecs& src) override {
    const size_t total = TotalLength(src);
    size_t done = 0;
    // Flattened view of the source for partial copies.
    auto copy_in = [&](size_t from, size_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pipe_->mu) {
      size_t skip = from;
      for (const iovec& v : src) {
        if (n == 0) break;
        if (skip >= v.iov_len) {
          skip -= v.iov_len;
          continue;
        }
        const size_t k = std::min(v.iov_len - skip, n);
        const uint8_t* p = static_cast<const uint8_t*>(v.iov_base) + skip;
        pipe_->buf.insert(pipe_->buf.end(), p, p + k);
        n -= k;
        skip = 0;
      }
    };
    if (total == 0) {
      absl::MutexLock lock(&pipe_->mu);
      if (pipe_->readers == 0) return Errno(EPIPE);
      return 0;
    }
    for (;;) {
      {
        absl::MutexLock lock(&pipe_->mu);
        if (pipe_->readers == 0) {
          if (done > 0) return done;
          return Errno(EPIPE);
        }
        const size_t room = kPipeSize - pipe_->buf.size();
        const size_t left = total - done;
        // Small writes go in whole or wait; large ones go in pieces.
        const bool fits = total <= kPipeBuf ? room >= left : room > 0;
        if (fits) {
          const size_t n = std::min(room, left);
          copy_in(done, n);
          done += n;
          pipe_->NotifyReadable();
          if (done == total) return done;
        }
      }
      if (flags() & O_NONBLOCK) {
        if (done > 0) return done;
        return Errno(EAGAIN);
      }
      auto r = BlockOn(pipe_->writable, [&] {
        absl::MutexLock lock(&pipe_->mu);
        const size_t room = kPipeSize - pipe_->buf.size();
        return pipe_->readers == 0 || (total <= kPipeBuf ? room >= total - done : room > 0);
      });
      if (!r) {
        if (done > 0) return done;
        return r.error();
      }
    }
  }

  struct stat PipeStat() const {
    struct stat st{};
    st.st_mode = S_IFIFO | 0600;
    st.st_nlink = 1;
    st.st_ino = pipe_->ino();
    st.st_dev = 0xe;  // pipefs's anonymous device
    st.st_blksize = 4096;
    st.st_atim = st.st_mtim = st.st_ctim = pipe_->time();
    return st;
  }

  Result<uint64_t> Ioctl(UserMemory& mem, uint64_t cmd, uint64_t arg) override {
    if (cmd != FIONREAD) return Errno(ENOTTY);
    int n;
    {
      absl::MutexLock lock(&pipe_->mu);
      n = static_cast<int>(pipe_->buf.size());
    }
    TRY(mem.CopyOut(arg, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&n), sizeof(n))));
    return 0;
  }

  bool Mappable() const override { return false; }

  std::shared_ptr<FileLocks> Locks(bool create) override {
    if (path_.valid()) return FileDescription::Locks(create);
    return pipe_->locks;
  }

  const std::shared_ptr<Pipe>& pipe() const { return pipe_; }

 private:
  std::shared_ptr<Pipe> pipe_;
  uint64_t hup_after_ = 0;  // POLLHUP once write_opens differs from this
};

}  // namespace

std::pair<std::shared_ptr<FileDescription>, std::shared_ptr<FileDescription>> NewPipe(int flags) {
  auto pipe = std::make_shared<Pipe>();
  const int kept = flags & (O_NONBLOCK | O_DIRECT);
  return {std::make_shared<PipeEnd>(pipe, Path{}, O_RDONLY | kept),
          std::make_shared<PipeEnd>(pipe, Path{}, O_WRONLY | kept)};
}

std::shared_ptr<Pipe> NewFifo() { return std::make_shared<Pipe>(); }

Result<std::shared_ptr<FileDescription>> OpenFifo(const std::shared_ptr<Pipe>& fifo, const Path& path,
                                                  int flags) {
  const int acc = flags & O_ACCMODE;
  if (acc != O_RDONLY && acc != O_WRONLY && acc != O_RDWR) return Errno(EINVAL);
  uint64_t partner_opens;
  {
    absl::MutexLock lock(&fifo->mu);
    if (acc == O_WRONLY && (flags & O_NONBLOCK) && fifo->readers == 0) return Errno(ENXIO);
    partner_opens = acc == O_RDONLY ? fifo->write_opens : fifo->read_opens;
  }
  auto end = std::make_shared<PipeEnd>(fifo, path, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC));
  fifo->opened.NotifyAll();
  fifo->NotifyReadable();
  fifo->NotifyWritable();
  if (acc == O_RDWR || (acc == O_RDONLY && (flags & O_NONBLOCK))) return std::shared_ptr<FileDescription>(end);
  // Wait for a partner: the first writer for a reader, a reader for a
  // writer. A signal drops `end` again, as if the open never happened.
  TRY(BlockOn(fifo->opened, [&] {
    absl::MutexLock lock(&fifo->mu);
    if (acc == O_RDONLY) return fifo->writers > 0 || fifo->write_opens != partner_opens;
    return fifo->readers > 0 || fifo->read_opens != partner_opens;
  }));
  return std::shared_ptr<FileDescription>(end);
}

// --- splice(2), tee(2), vmsplice(2), sendfile(2) ---

std::shared_ptr<Pipe> PipeOf(const FileDescription& f) {
  if (auto* end = dynamic_cast<const PipeEnd*>(&f)) return end->pipe();
  return nullptr;
}

Result<size_t> PipeWaitData(Pipe& p, bool nonblock) {
  for (;;) {
    {
      absl::MutexLock lock(&p.mu);
      if (!p.buf.empty()) return p.buf.size();
      if (p.writers == 0) return 0;
    }
    if (nonblock) return Errno(EAGAIN);
    TRY(BlockOn(p.readable, [&] {
      absl::MutexLock lock(&p.mu);
      return !p.buf.empty() || p.writers == 0;
    }));
  }
}

Result<size_t> PipeWaitRoom(Pipe& p, bool nonblock) {
  for (;;) {
    {
      absl::MutexLock lock(&p.mu);
      if (p.readers == 0) return Errno(EPIPE);
      if (p.buf.size() < kPipeSize) return kPipeSize - p.buf.size();
    }
    if (nonblock) return Errno(EAGAIN);
    TRY(BlockOn(p.writable, [&] {
      absl::MutexLock lock(&p.mu);
      return p.readers == 0 || p.buf.size() < kPipeSize;
    }));
  }
}

size_t PipePeek(Pipe& p, std::span<uint8_t> dst) {
  absl::MutexLock lock(&p.mu);
  const size_t n = std::min(dst.size(), p.buf.size());
  std::copy_n(p.buf.begin(), n, dst.begin());
  return n;
}

void PipeConsume(Pipe& p, size_t n) {
  {
    absl::MutexLock lock(&p.mu);
    n = std::min(n, p.buf.size());
    p.buf.erase(p.buf.begin(), p.buf.begin() + static_cast<long>(n));
  }
  if (n > 0) p.NotifyWritable();
}

Result<size_t> PipeAppend(Pipe& p, std::span<const uint8_t> src) {
  size_t n;
  {
    absl::MutexLock lock(&p.mu);
    if (p.readers == 0) return Errno(EPIPE);
    n = std::min(src.size(), kPipeSize - p.buf.size());
    p.buf.insert(p.buf.end(), src.begin(), src.begin() + static_cast<long>(n));
  }
  if (n > 0) p.NotifyReadable();
  return n;
}

// Both pipes are locked at once, in address order, so that two splices in
// opposite directions cannot deadlock.
Result<size_t> PipeToPipe(Pipe& in, Pipe& out, size_t len, bool nonblock, bool keep)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  for (;;) {
    if (TRY(PipeWaitData(in, nonblock)) == 0) return 0;
    TRY(PipeWaitRoom(out, nonblock));
    size_t n;
    {
      absl::Mutex* first = &in.mu;
      absl::Mutex* second = &out.mu;
      if (second < first) std::swap(first, second);
      absl::MutexLock lock1(first);
      absl::MutexLock lock2(second);
      if (out.readers == 0) return Errno(EPIPE);
      n = std::min({len, in.buf.size(), kPipeSize - out.buf.size()});
      if (n > 0) {
        out.buf.insert(out.buf.end(), in.buf.begin(), in.buf.begin() + static_cast<long>(n));
        if (!keep) in.buf.erase(in.buf.begin(), in.buf.begin() + static_cast<long>(n));
      }
    }
    if (n == 0) continue;  // another reader or writer came first: wait again
    out.NotifyReadable();
    if (!keep) in.NotifyWritable();
    return n;
  }
}

}  // namespace husk::vfs
