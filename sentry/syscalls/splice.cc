// Data movement between files without the application's memory (fs/splice.c,
// fs/read_write.c): sendfile, splice, tee, vmsplice, copy_file_range.
// Pipes move bytes among themselves under their own locks
// (vfs/pipe/pipe.h); anything else passes through a sentry buffer.
#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"
#include "vfs/pipe/pipe.h"

namespace husk::syscalls {
namespace {

constexpr unsigned kSpliceAll = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;
// The most a file-to-file copy moves per round (Linux's internal pipe
// moves 64 KiB; a larger buffer costs fewer round trips here).
constexpr size_t kCopyChunk = 1 << 20;

// Scratch bytes for data on its way, left uninitialized: they are always
// written before they are read.
class Scratch {
 public:
  explicit Scratch(size_t n) : data_(std::make_unique_for_overwrite<uint8_t[]>(n)), size_(n) {}
  std::span<uint8_t> span() { return {data_.get(), size_}; }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t size_;
};

// An open file read or written at `pos` (an offset the caller gave, or the
// file's own position when it is seekable); a stream otherwise.
struct Endpoint {
  vfs::FileDescription& file;
  std::optional<uint64_t> pos;  // set: an explicit offset (off_in/off_out)

  bool Positional() const { return pos.has_value() || file.Seekable(); }
  uint64_t Offset() const { return pos ? *pos : file.offset(); }
  void Advance(size_t n) {
    if (pos) {
      *pos += n;
    } else if (file.Seekable()) {
      file.set_offset(file.offset() + n);
    }
  }
  Result<size_t> Read(std::span<uint8_t> buf) {
    const vfs::IoVecs v{iovec{buf.data(), buf.size()}};
    if (Positional()) return file.PRead(v, Offset());
    return file.Read(v);
  }
  // Writes at the explicit offset (the caller moves it) or, through
  // Write, at the file's own position, which moves by itself.
  Result<size_t> Write(std::span<const uint8_t> buf) {
    const vfs::IoVecs v{iovec{const_cast<uint8_t*>(buf.data()), buf.size()}};
    if (pos) return file.PWrite(v, *pos);
    return file.Write(v);
  }
};

// Whether splice may read `f` (Linux: it has a splice_read): not a pipe
// (sendfile's input), directory or anon-inode file (eventfd, epoll ...).
bool SpliceReadable(const vfs::FileDescription& f) {
  if (vfs::PipeOf(f)) return false;
  if (vfs::Inode* i = f.inode()) return !i->IsDir();
  return f.AnonName().empty();  // sockets
}
// Whether splice may write `f` (splice_write): not an anon-inode file.
bool SpliceWritable(const vfs::FileDescription& f) {
  return f.inode() != nullptr || f.AnonName().empty();
}
// FMODE_LSEEK: what do_splice_direct insists its input is, so that no
// stream's bytes get lost on the way (sockets, pipes and ttys are not).
bool Lseekable(const vfs::FileDescription& f) {
  if (f.Seekable()) return true;
  return f.path().valid() && !f.IsTerminal() && !vfs::PipeOf(f);
}

// rw_verify_area for `count` bytes at `pos`: EINVAL for a negative offset
// or one the count would carry past the largest.
Result<void> VerifyArea(int64_t pos, uint64_t count) {
  if (static_cast<int64_t>(count) < 0 || pos < 0) return Errno(EINVAL);
  if (static_cast<int64_t>(static_cast<uint64_t>(pos) + count) < 0) return Errno(EINVAL);
  return Ok();
}

Result<std::optional<uint64_t>> CopyInOffset(Task& t, uint64_t addr) {
  if (addr == 0) return std::optional<uint64_t>();
  const int64_t off = TRY(CopyInStruct<int64_t>(t, addr));
  return std::optional<uint64_t>(static_cast<uint64_t>(off));
}

// splice_file_to_pipe: waits for room in `pipe` (EAGAIN with `nonblock`,
// EPIPE without a reader), then moves what `in` gives of up to `len` bytes
// and the room into it. The bytes are read before they go in; should
// another writer take the room meanwhile, the rest waits for more.
Result<size_t> FileToPipe(Endpoint& in, vfs::Pipe& pipe, size_t len, bool nonblock) {
  const size_t room = TRY(vfs::PipeWaitRoom(pipe, nonblock));
  if (len == 0) return 0;
  if (!SpliceReadable(in.file)) return Errno(EINVAL);
  Scratch scratch(std::min(len, room));
  std::span<uint8_t> buf = scratch.span();
  const size_t n = TRY(in.Read(buf));
  size_t done = 0;
  while (done < n) {
    auto put = vfs::PipeAppend(pipe, std::span<const uint8_t>(buf).subspan(done, n - done));
    if (!put) {
      if (done == 0) return put.error();
      break;
    }
    done += *put;
    // The rest of a file is read again next time; a stream's bytes cannot
    // go back, so they wait for room.
    if (done == n || (done > 0 && in.Positional())) break;
    if (auto r = vfs::PipeWaitRoom(pipe, /*nonblock=*/false); !r) {
      if (done == 0) return r.error();
      break;
    }
  }
  in.Advance(done);
  return done;
}

// iter_file_splice_write: waits for data in `pipe` (EAGAIN with
// `nonblock`; 0 at end of file), then writes what it holds, up to `len`
// bytes, to `out`. The bytes leave the pipe once written.
// PARTIAL(concurrent readers): another reader of the pipe between the peek
// and the write may see the same bytes.
Result<size_t> PipeToFile(Task& t, vfs::Pipe& pipe, Endpoint& out, size_t len, bool nonblock) {
  const size_t avail = TRY(vfs::PipeWaitData(pipe, nonblock));
  if (avail == 0) return 0;
  Scratch scratch(std::min(len, avail));
  std::span<uint8_t> buf = scratch.span();
  const size_t n = vfs::PipePeek(pipe, buf);
  size_t done = 0;
  while (done < n) {
    auto w = RaiseOnEpipe(t, out.file, out.Write(std::span<const uint8_t>(buf).subspan(done, n - done)));
    if (!w) {
      if (done == 0) return w.error();
      break;
    }
    if (*w == 0) break;
    done += *w;
    if (out.pos) *out.pos += *w;
  }
  vfs::PipeConsume(pipe, done);
  return done;
}

// do_splice_direct: `count` bytes from `in` to `out` (neither a pipe),
// until `in` ends or `out` takes less than it was given.
Result<size_t> FileToFile(Task& t, Endpoint& in, Endpoint& out, uint64_t count) {
  Scratch scratch(std::min<uint64_t>(count, kCopyChunk));
  std::span<uint8_t> buf = scratch.span();
  size_t total = 0;
  while (total < count) {
    const size_t want = std::min<uint64_t>(count - total, buf.size());
    auto r = in.Read(buf.first(want));
    if (!r) {
      if (total > 0) break;
      return r.error();
    }
    if (*r == 0) break;
    size_t written = 0;
    while (written < *r) {
      auto w = RaiseOnEpipe(t, out.file, out.Write(std::span<const uint8_t>(buf).subspan(written, *r - written)));
      if (!w) {
        if (total == 0 && written == 0) return w.error();
        break;
      }
      if (*w == 0) break;
      if (out.pos) *out.pos += *w;
      written += *w;
    }
    in.Advance(written);
    total += written;
    if (written < *r) break;
  }
  return total;
}

// An application iovec array for vmsplice, as import_iovec checks it:
// EINVAL for too many or an overlong one.
Result<std::vector<iovec>> CopyInIovecs(Task& t, uint64_t addr, uint64_t count) {
  if (count > IOV_MAX) return Errno(EINVAL);
  std::vector<iovec> iov(count);
  TRY(t.mm().CopyIn(addr, std::span<uint8_t>(reinterpret_cast<uint8_t*>(iov.data()), iov.size() * sizeof(iovec))));
  uint64_t total = 0;
  for (auto& v : iov) {
    if (static_cast<int64_t>(v.iov_len) < 0) return Errno(EINVAL);
    v.iov_len = std::min<uint64_t>(v.iov_len, kMaxRwCount - total);
    total += v.iov_len;
  }
  return iov;
}

}  // namespace

// sendfile(2): `count` bytes of in_fd, from *offset (left alone: the file's
// position moves instead) to out_fd.
Result<uint64_t> Sendfile(Task& t, const SyscallArgs& a) {
  auto in_file = TRY(t.fds().Get(a.fd(1)));
  if (!in_file->Readable()) return Errno(EBADF);
  const uint64_t offp = a.ptr(2);
  uint64_t count = a.size(3);
  Endpoint in{*in_file, TRY(CopyInOffset(t, offp))};
  if (in.pos && !in_file->Seekable()) return Errno(ESPIPE);
  TRY(VerifyArea(static_cast<int64_t>(in.Offset()), count));
  count = std::min(count, kMaxRwCount);
  auto out_file = TRY(t.fds().Get(a.fd(0)));
  if (!out_file->Writable()) return Errno(EBADF);
  size_t n;
  if (auto pipe = vfs::PipeOf(*out_file)) {
    n = TRY(RaiseOnEpipe(t, FileToPipe(in, *pipe, count, out_file->flags() & O_NONBLOCK)));
  } else {
    if (out_file->flags() & O_APPEND) return Errno(EINVAL);
    if (!Lseekable(*in_file) || !SpliceReadable(*in_file)) return Errno(EINVAL);
    if (count == 0) return 0;
    Endpoint out{*out_file, std::nullopt};
    n = TRY(FileToFile(t, in, out, count));
  }
  if (offp != 0) TRY(CopyOutStruct(t, offp, static_cast<int64_t>(*in.pos)));
  return n;
}

// splice(2): one end a pipe, the other a pipe or any file.
Result<uint64_t> Splice(Task& t, const SyscallArgs& a) {
  const uint64_t off_in = a.ptr(1), off_out = a.ptr(3);
  const size_t len = std::min(a.size(4), kMaxRwCount);
  const unsigned flags = a.u32(5);
  if (len == 0) return 0;
  if (flags & ~kSpliceAll) return Errno(EINVAL);
  auto in_file = TRY(t.fds().Get(a.fd(0)));
  auto out_file = TRY(t.fds().Get(a.fd(2)));
  if ((in_file->flags() | out_file->flags()) & O_PATH) return Errno(EBADF);
  auto in_pipe = vfs::PipeOf(*in_file);
  auto out_pipe = vfs::PipeOf(*out_file);
  if ((in_pipe && off_in) || (out_pipe && off_out)) return Errno(ESPIPE);
  std::optional<uint64_t> out_pos = TRY(CopyInOffset(t, off_out));
  std::optional<uint64_t> in_pos = TRY(CopyInOffset(t, off_in));
  if (!in_file->Readable() || !out_file->Writable()) return Errno(EBADF);
  bool nonblock = flags & SPLICE_F_NONBLOCK;
  if (in_pipe && out_pipe) {
    if (in_pipe == out_pipe) return Errno(EINVAL);
    nonblock |= ((in_file->flags() | out_file->flags()) & O_NONBLOCK) != 0;
    return RaiseOnEpipe(t, vfs::PipeToPipe(*in_pipe, *out_pipe, len, nonblock, /*keep=*/false));
  }
  if (in_pipe) {
    Endpoint out{*out_file, out_pos};
    if (out_pos && !out_file->Seekable()) return Errno(EINVAL);
    if (out_file->flags() & O_APPEND) return Errno(EINVAL);
    TRY(VerifyArea(static_cast<int64_t>(out.Offset()), len));
    if (!SpliceWritable(*out_file)) return Errno(EINVAL);
    nonblock |= (in_file->flags() & O_NONBLOCK) != 0;
    const size_t n = TRY(PipeToFile(t, *in_pipe, out, len, nonblock));
    if (off_out != 0) TRY(CopyOutStruct(t, off_out, static_cast<int64_t>(*out.pos)));
    return n;
  }
  if (out_pipe) {
    Endpoint in{*in_file, in_pos};
    if (in_pos && !in_file->Seekable()) return Errno(EINVAL);
    TRY(VerifyArea(static_cast<int64_t>(in.Offset()), len));
    nonblock |= (out_file->flags() & O_NONBLOCK) != 0;
    const size_t n = TRY(RaiseOnEpipe(t, FileToPipe(in, *out_pipe, len, nonblock)));
    if (off_in != 0) TRY(CopyOutStruct(t, off_in, static_cast<int64_t>(*in.pos)));
    return n;
  }
  return Errno(EINVAL);
}

// tee(2): copies up to `len` bytes from one pipe to another, leaving them
// in the first.
Result<uint64_t> Tee(Task& t, const SyscallArgs& a) {
  const size_t len = std::min(a.size(2), kMaxRwCount);
  const unsigned flags = a.u32(3);
  if (flags & ~kSpliceAll) return Errno(EINVAL);
  if (len == 0) return 0;
  auto in_file = TRY(t.fds().Get(a.fd(0)));
  auto out_file = TRY(t.fds().Get(a.fd(1)));
  if (!in_file->Readable() || !out_file->Writable()) return Errno(EBADF);
  auto in_pipe = vfs::PipeOf(*in_file);
  auto out_pipe = vfs::PipeOf(*out_file);
  if (!in_pipe || !out_pipe || in_pipe == out_pipe) return Errno(EINVAL);
  const bool nonblock =
      (flags & SPLICE_F_NONBLOCK) || ((in_file->flags() | out_file->flags()) & O_NONBLOCK);
  return RaiseOnEpipe(t, vfs::PipeToPipe(*in_pipe, *out_pipe, len, nonblock, /*keep=*/true));
}

// vmsplice(2): application memory into a pipe (a write end), or out of it
// (a read end). Only SPLICE_F_NONBLOCK keeps it from waiting: the pipe's
// O_NONBLOCK does not. SPLICE_F_GIFT is accepted; the bytes are copied.
Result<uint64_t> Vmsplice(Task& t, const SyscallArgs& a) {
  const unsigned flags = a.u32(3);
  if (flags & ~kSpliceAll) return Errno(EINVAL);
  auto file = TRY(t.fds().Get(a.fd(0)));
  const bool to_pipe = file->Writable();
  if (!to_pipe && !file->Readable()) return Errno(EBADF);
  std::vector<iovec> iov = TRY(CopyInIovecs(t, a.ptr(1), a.u64(2)));
  size_t total = 0;
  for (const auto& v : iov) total += v.iov_len;
  if (total == 0) return 0;
  auto pipe = vfs::PipeOf(*file);
  if (!pipe) return Errno(EBADF);
  const bool nonblock = flags & SPLICE_F_NONBLOCK;
  if (to_pipe) {
    const size_t room = TRY(RaiseOnEpipe(t, vfs::PipeWaitRoom(*pipe, nonblock)));
    Scratch scratch(std::min(total, room));
    std::span<uint8_t> buf = scratch.span();
    size_t got = 0;
    for (const auto& v : iov) {
      if (got == buf.size()) break;
      const size_t k = std::min(v.iov_len, buf.size() - got);
      const size_t n = t.mm().CopyInPartial(reinterpret_cast<uint64_t>(v.iov_base),
                                            std::span<uint8_t>(buf).subspan(got, k));
      got += n;
      if (n < k) break;
    }
    if (got == 0) return Errno(EFAULT);
    return RaiseOnEpipe(t, vfs::PipeAppend(*pipe, std::span<const uint8_t>(buf).first(got)));
  }
  const size_t avail = TRY(vfs::PipeWaitData(*pipe, nonblock));
  if (avail == 0) return 0;
  Scratch scratch(std::min(total, avail));
  std::span<uint8_t> buf = scratch.span();
  const size_t n = vfs::PipePeek(*pipe, buf);
  size_t put = 0;
  for (const auto& v : iov) {
    if (put == n) break;
    const size_t k = std::min(v.iov_len, n - put);
    if (!t.mm().CopyOut(reinterpret_cast<uint64_t>(v.iov_base), std::span<const uint8_t>(buf).subspan(put, k))) {
      break;
    }
    put += k;
  }
  if (put == 0) return Errno(EFAULT);
  vfs::PipeConsume(*pipe, put);
  return put;
}

// copy_file_range(2): between two regular files of one filesystem (EXDEV
// otherwise, as Linux 5.19+ for filesystems without their own copy), never
// between overlapping ranges of one file.
Result<uint64_t> CopyFileRange(Task& t, const SyscallArgs& a) {
  auto in_file = TRY(t.fds().Get(a.fd(0)));
  auto out_file = TRY(t.fds().Get(a.fd(2)));
  if ((in_file->flags() | out_file->flags()) & O_PATH) return Errno(EBADF);
  const uint64_t off_in = a.ptr(1), off_out = a.ptr(3);
  uint64_t len = a.size(4);
  Endpoint in{*in_file, TRY(CopyInOffset(t, off_in))};
  Endpoint out{*out_file, TRY(CopyInOffset(t, off_out))};
  if (a.u32(5) != 0) return Errno(EINVAL);
  // generic_file_rw_checks.
  vfs::Inode* in_inode = in_file->inode();
  vfs::Inode* out_inode = out_file->inode();
  if ((in_inode && in_inode->IsDir()) || (out_inode && out_inode->IsDir())) return Errno(EISDIR);
  if (!in_inode || !out_inode || !in_inode->IsRegular() || !out_inode->IsRegular()) return Errno(EINVAL);
  if (!in_file->Readable() || !out_file->Writable() || (out_file->flags() & O_APPEND)) return Errno(EBADF);
  // One filesystem: the same mount, or one device.
  if (in_file->path().mount != out_file->path().mount) {
    const auto in_st = TRY(in_file->Stat());
    const auto out_st = TRY(out_file->Stat());
    if (in_st.st_dev != out_st.st_dev) return Errno(EXDEV);
  }
  // generic_copy_file_checks.
  const uint64_t pos_in = in.Offset(), pos_out = out.Offset();
  if (pos_in + len < pos_in || pos_out + len < pos_out) return Errno(EOVERFLOW);
  const uint64_t size_in = TRY(in_file->Size());
  len = pos_in >= size_in ? 0 : std::min(len, size_in - pos_in);
  if (in_inode == out_inode && pos_out + len > pos_in && pos_out < pos_in + len) return Errno(EINVAL);
  if (len == 0) return 0;
  TRY(VerifyArea(static_cast<int64_t>(pos_in), len));
  TRY(VerifyArea(static_cast<int64_t>(pos_out), len));
  // Both ends by offset, so neither file's position moves until the end.
  if (!in.pos) in.pos = pos_in;
  if (!out.pos) out.pos = pos_out;
  const size_t n = TRY(FileToFile(t, in, out, std::min(len, kMaxRwCount)));
  if (off_in != 0) {
    TRY(CopyOutStruct(t, off_in, static_cast<int64_t>(*in.pos)));
  } else {
    in_file->set_offset(*in.pos);
  }
  if (off_out != 0) {
    TRY(CopyOutStruct(t, off_out, static_cast<int64_t>(*out.pos)));
  } else {
    out_file->set_offset(*out.pos);
  }
  return n;
}

}  // namespace husk::syscalls
