// Extended attributes: get, set, list and remove, by path (following a
// final symlink or not) or by fd. tmpfs and the overlay store them (the
// overlay in its upper layer); the VFS applies the namespace rules
// (vfs/xattr.h). Linux 6.18's order: the name and value are copied in
// before the file is looked up.
#include <fcntl.h>
#include <sys/xattr.h>

#include <vector>

#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"
#include "vfs/xattr.h"

namespace husk::syscalls {
namespace {

vfs::XattrFile FileAt(const vfs::Path& p) {
  vfs::XattrFile f;
  f.inode = p.dentry->inode();
  if (auto st = f.inode->Stat()) f.st = *st;
  f.read_only = p.mount->read_only() || f.inode->ReadOnly();
  return f;
}

Result<vfs::XattrFile> PathTarget(Task& t, uint64_t path_addr, bool follow) {
  std::string path = TRY(CopyInPath(t, path_addr));
  return FileAt(TRY(t.kernel().vfs().Resolve(t.Lookup(), t.fs().cwd, path, follow)));
}

// The file an fd names. One with no path of ours (a pipe, socket or host
// fd) has its attributes and stores no xattrs.
Result<vfs::XattrFile> FdTarget(Task& t, int fd) {
  auto file = TRY(t.fds().Get(fd));
  if (file->flags() & O_PATH) return Errno(EBADF);
  if (file->path().valid()) return FileAt(file->path());
  vfs::XattrFile f;
  if (auto st = file->Stat()) f.st = *st;
  return f;
}

// An attribute name: 1 to XATTR_NAME_MAX bytes, ERANGE otherwise.
Result<std::string> CopyInName(Task& t, uint64_t addr) {
  auto name = t.mm().CopyInString(addr, vfs::kXattrNameMax + 1);
  if (!name) return name.error() == Errno(ENAMETOOLONG) ? Errno(ERANGE) : name.error();
  if (name->empty()) return Errno(ERANGE);
  return name;
}

// A value copied out: its size when `size` is 0, ERANGE if it does not fit.
Result<uint64_t> CopyOutSized(Task& t, std::string_view data, uint64_t addr, uint64_t size) {
  if (size == 0) return data.size();
  if (data.size() > size) return Errno(ERANGE);
  TRY(t.mm().CopyOut(addr, std::span<const uint8_t>(
                               reinterpret_cast<const uint8_t*>(data.data()), data.size())));
  return data.size();
}

// setxattr's arguments after the file: name, value, size, flags.
struct SetArgs {
  std::string name;
  std::string value;
  int flags = 0;
};
Result<SetArgs> CopyInSet(Task& t, uint64_t name_addr, uint64_t value_addr, uint64_t size,
                          int flags) {
  if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) return Errno(EINVAL);
  SetArgs s;
  s.name = TRY(CopyInName(t, name_addr));
  if (size > vfs::kXattrSizeMax) return Errno(E2BIG);
  s.value.resize(size);
  if (size > 0) {
    TRY(t.mm().CopyIn(value_addr, std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.value.data()), size)));
  }
  s.flags = flags;
  return s;
}

Result<uint64_t> Set(Task& t, const vfs::XattrFile& f, const SetArgs& s) {
  TRY(vfs::SetXattr(f, t.creds(), s.name, s.value, s.flags));
  return 0;
}

Result<uint64_t> Get(Task& t, const vfs::XattrFile& f, const std::string& name, uint64_t addr,
                     uint64_t size) {
  std::string value = TRY(vfs::GetXattr(f, t.creds(), name));
  return CopyOutSized(t, value, addr, std::min<uint64_t>(size, vfs::kXattrSizeMax));
}

// The names, each with its NUL.
Result<uint64_t> List(Task& t, const vfs::XattrFile& f, uint64_t addr, uint64_t size) {
  std::string list;
  for (const auto& name : TRY(vfs::ListXattr(f, t.creds()))) {
    list += name;
    list.push_back('\0');
  }
  return CopyOutSized(t, list, addr, std::min<uint64_t>(size, vfs::kXattrListMax));
}

Result<uint64_t> Remove(Task& t, const vfs::XattrFile& f, const std::string& name) {
  TRY(vfs::RemoveXattr(f, t.creds(), name));
  return 0;
}

}  // namespace

Result<uint64_t> Setxattr(Task& t, const SyscallArgs& a) {
  SetArgs s = TRY(CopyInSet(t, a.ptr(1), a.ptr(2), a.size(3), a.i32(4)));
  return Set(t, TRY(PathTarget(t, a.ptr(0), true)), s);
}

Result<uint64_t> Lsetxattr(Task& t, const SyscallArgs& a) {
  SetArgs s = TRY(CopyInSet(t, a.ptr(1), a.ptr(2), a.size(3), a.i32(4)));
  return Set(t, TRY(PathTarget(t, a.ptr(0), false)), s);
}

Result<uint64_t> Fsetxattr(Task& t, const SyscallArgs& a) {
  SetArgs s = TRY(CopyInSet(t, a.ptr(1), a.ptr(2), a.size(3), a.i32(4)));
  return Set(t, TRY(FdTarget(t, a.fd(0))), s);
}

Result<uint64_t> Getxattr(Task& t, const SyscallArgs& a) {
  std::string name = TRY(CopyInName(t, a.ptr(1)));
  return Get(t, TRY(PathTarget(t, a.ptr(0), true)), name, a.ptr(2), a.size(3));
}

Result<uint64_t> Lgetxattr(Task& t, const SyscallArgs& a) {
  std::string name = TRY(CopyInName(t, a.ptr(1)));
  return Get(t, TRY(PathTarget(t, a.ptr(0), false)), name, a.ptr(2), a.size(3));
}

Result<uint64_t> Fgetxattr(Task& t, const SyscallArgs& a) {
  std::string name = TRY(CopyInName(t, a.ptr(1)));
  return Get(t, TRY(FdTarget(t, a.fd(0))), name, a.ptr(2), a.size(3));
}

Result<uint64_t> Listxattr(Task& t, const SyscallArgs& a) {
  return List(t, TRY(PathTarget(t, a.ptr(0), true)), a.ptr(1), a.size(2));
}

Result<uint64_t> Llistxattr(Task& t, const SyscallArgs& a) {
  return List(t, TRY(PathTarget(t, a.ptr(0), false)), a.ptr(1), a.size(2));
}

Result<uint64_t> Flistxattr(Task& t, const SyscallArgs& a) {
  return List(t, TRY(FdTarget(t, a.fd(0))), a.ptr(1), a.size(2));
}

Result<uint64_t> Removexattr(Task& t, const SyscallArgs& a) {
  std::string name = TRY(CopyInName(t, a.ptr(1)));
  return Remove(t, TRY(PathTarget(t, a.ptr(0), true)), name);
}

Result<uint64_t> Lremovexattr(Task& t, const SyscallArgs& a) {
  std::string name = TRY(CopyInName(t, a.ptr(1)));
  return Remove(t, TRY(PathTarget(t, a.ptr(0), false)), name);
}

Result<uint64_t> Fremovexattr(Task& t, const SyscallArgs& a) {
  std::string name = TRY(CopyInName(t, a.ptr(1)));
  return Remove(t, TRY(FdTarget(t, a.fd(0))), name);
}

}  // namespace husk::syscalls
