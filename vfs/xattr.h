// Extended attributes through the VFS (Linux's fs/xattr.c): the namespace
// rules of xattr(7) and the permission checks, in Linux's order, before the
// inode's own store (Inode::GetXattr ...).
#pragma once

#include <sys/stat.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "vfs/inode.h"

namespace husk::vfs {

inline constexpr size_t kXattrNameMax = 255;     // XATTR_NAME_MAX
inline constexpr size_t kXattrSizeMax = 65536;   // XATTR_SIZE_MAX
inline constexpr size_t kXattrListMax = 65536;   // XATTR_LIST_MAX

// The file an xattr call acts on: its inode (null for a file that is no
// inode of ours: a pipe, socket or host fd, which stores none), its
// attributes, and whether it is on a read-only mount.
struct XattrFile {
  std::shared_ptr<Inode> inode;
  struct stat st {};
  bool read_only = false;
};

// Whether `name` is in a namespace an in-memory filesystem stores (tmpfs's
// handlers): "user.", "trusted." and "security.". PARTIAL(posix acls):
// "system.posix_acl_*" is not stored; every "system." name is EOPNOTSUPP.
bool StoredXattrNamespace(std::string_view name);

// getxattr(2): the value of `name`.
Result<std::string> GetXattr(const XattrFile& f, const Credentials& creds, std::string_view name);
// setxattr(2) with XATTR_CREATE / XATTR_REPLACE `flags` (checked by the
// caller).
Result<void> SetXattr(const XattrFile& f, const Credentials& creds, std::string_view name,
                      std::string_view value, int flags);
// listxattr(2): the names the caller may see (trusted.* needs
// CAP_SYS_ADMIN).
Result<std::vector<std::string>> ListXattr(const XattrFile& f, const Credentials& creds);
// removexattr(2).
Result<void> RemoveXattr(const XattrFile& f, const Credentials& creds, std::string_view name);

}  // namespace husk::vfs
