#include "vfs/xattr.h"

#include <unistd.h>

namespace husk::vfs {
namespace {

constexpr std::string_view kUser = "user.";
constexpr std::string_view kTrusted = "trusted.";
constexpr std::string_view kSecurity = "security.";
constexpr std::string_view kCapability = "security.capability";

// Linux's xattr_permission for reading (`write` false) or writing `name`.
Result<void> XattrPermission(const XattrFile& f, const Credentials& creds, std::string_view name,
                             bool write) {
  // security.* and system.* are left to the filesystem and the LSM.
  if (name.starts_with(kSecurity) || name.starts_with("system.")) return Ok();
  if (name.starts_with(kTrusted)) {
    if (!creds.HasCapability(CAP_SYS_ADMIN)) return Errno(write ? EPERM : ENODATA);
    return Ok();
  }
  // user.*: regular files and directories only; in a sticky directory only
  // its owner (or CAP_FOWNER) may write them.
  if (name.starts_with(kUser)) {
    if (!S_ISREG(f.st.st_mode) && !S_ISDIR(f.st.st_mode)) return Errno(write ? EPERM : ENODATA);
    if (write && S_ISDIR(f.st.st_mode) && (f.st.st_mode & S_ISVTX) &&
        !creds.OwnerOrCapable(f.st.st_uid)) {
      return Errno(EPERM);
    }
  }
  return CheckPermission(f.st, creds, write ? W_OK : R_OK);
}

// What the capability LSM (commoncap) adds for a change: security.* names
// need CAP_SYS_ADMIN, security.capability CAP_SETFCAP.
Result<void> SecurityCheck(const Credentials& creds, std::string_view name) {
  if (!name.starts_with(kSecurity)) return Ok();
  const int cap = name == kCapability ? CAP_SETFCAP : CAP_SYS_ADMIN;
  if (!creds.HasCapability(cap)) return Errno(EPERM);
  return Ok();
}

Result<void> CheckWrite(const XattrFile& f, const Credentials& creds, std::string_view name) {
  if (f.read_only) return Errno(EROFS);  // mnt_want_write, before any permission
  TRY(XattrPermission(f, creds, name, true));
  return SecurityCheck(creds, name);
}

}  // namespace

bool StoredXattrNamespace(std::string_view name) {
  return name.starts_with(kUser) || name.starts_with(kTrusted) || name.starts_with(kSecurity);
}

Result<std::string> GetXattr(const XattrFile& f, const Credentials& creds, std::string_view name) {
  TRY(XattrPermission(f, creds, name, false));
  if (!f.inode) return Errno(EOPNOTSUPP);
  return f.inode->GetXattr(name);
}

Result<void> SetXattr(const XattrFile& f, const Credentials& creds, std::string_view name,
                      std::string_view value, int flags) {
  TRY(CheckWrite(f, creds, name));
  if (!f.inode) return Errno(EOPNOTSUPP);
  // PARTIAL(file capabilities): a security.capability value is stored as
  // given, neither checked nor honoured by execve.
  return f.inode->SetXattr(name, value, flags);
}

Result<std::vector<std::string>> ListXattr(const XattrFile& f, const Credentials& creds) {
  if (!f.inode) return std::vector<std::string>();
  std::vector<std::string> names = TRY(f.inode->ListXattr());
  if (!creds.HasCapability(CAP_SYS_ADMIN)) {
    std::erase_if(names, [](const std::string& n) { return n.starts_with(kTrusted); });
  }
  return names;
}

Result<void> RemoveXattr(const XattrFile& f, const Credentials& creds, std::string_view name) {
  TRY(CheckWrite(f, creds, name));
  if (!f.inode) return Errno(EOPNOTSUPP);
  return f.inode->RemoveXattr(name);
}

}  // namespace husk::vfs
