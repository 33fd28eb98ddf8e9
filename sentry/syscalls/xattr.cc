// Extended attributes. PARTIAL(xattr): no filesystem stores them yet, so
// they behave as on a Linux filesystem without xattr support: get and set
// fail with EOPNOTSUPP, list returns an empty list.
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

Result<void> ResolveXattrTarget(Task& t, uint64_t path_addr, bool follow) {
  std::string path = TRY(CopyInPath(t, path_addr));
  TRY(t.kernel().vfs().Resolve(t.Lookup(), t.fs().cwd, path, follow));
  return Ok();
}

Result<void> CheckName(Task& t, uint64_t name_addr) {
  // XATTR_NAME_MAX is 255; a longer name is ERANGE.
  auto name = t.mm().CopyInString(name_addr, 256);
  if (!name) return name.error() == Errno(ENAMETOOLONG) ? Errno(ERANGE) : name.error();
  if (name->empty()) return Errno(ERANGE);
  return Ok();
}

}  // namespace

Result<uint64_t> Getxattr(Task& t, const SyscallArgs& a) {
  TRY(ResolveXattrTarget(t, a.ptr(0), true));
  TRY(CheckName(t, a.ptr(1)));
  return Errno(EOPNOTSUPP);
}

Result<uint64_t> Lgetxattr(Task& t, const SyscallArgs& a) {
  TRY(ResolveXattrTarget(t, a.ptr(0), false));
  TRY(CheckName(t, a.ptr(1)));
  return Errno(EOPNOTSUPP);
}

Result<uint64_t> Fgetxattr(Task& t, const SyscallArgs& a) {
  TRY(t.fds().Get(a.fd(0)));
  TRY(CheckName(t, a.ptr(1)));
  return Errno(EOPNOTSUPP);
}

Result<uint64_t> Listxattr(Task& t, const SyscallArgs& a) {
  TRY(ResolveXattrTarget(t, a.ptr(0), true));
  return 0;
}

Result<uint64_t> Llistxattr(Task& t, const SyscallArgs& a) {
  TRY(ResolveXattrTarget(t, a.ptr(0), false));
  return 0;
}

Result<uint64_t> Flistxattr(Task& t, const SyscallArgs& a) {
  TRY(t.fds().Get(a.fd(0)));
  return 0;
}

}  // namespace husk::syscalls
