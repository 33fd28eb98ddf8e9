// Inode and Dentry: filesystem objects and the names that lead to them.
#pragma once

#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <absl/synchronization/mutex.h>

#include "base/result.h"
#include "vfs/file.h"

namespace husk::vfs {

constexpr uint64_t CapBit(int cap) { return 1ULL << cap; }

// The capabilities of the sandbox's root: a container root's (Docker's
// default set), none of the host's. They are also every task's bounding set.
inline constexpr uint64_t kSandboxRootCaps =
    CapBit(CAP_CHOWN) | CapBit(CAP_DAC_OVERRIDE) | CapBit(CAP_FOWNER) | CapBit(CAP_FSETID) |
    CapBit(CAP_KILL) | CapBit(CAP_SETGID) | CapBit(CAP_SETUID) | CapBit(CAP_SETPCAP) |
    CapBit(CAP_NET_BIND_SERVICE) | CapBit(CAP_NET_RAW) | CapBit(CAP_SYS_CHROOT) | CapBit(CAP_MKNOD) |
    CapBit(CAP_AUDIT_WRITE) | CapBit(CAP_SETFCAP);

// A task's credentials, after Linux's struct cred: user and group ids,
// supplementary groups and capability sets. The VFS checks the filesystem
// ids, the groups and the effective capabilities; the rules for changing
// them (setuid(2), capset(2), execve(2) ...) are in sentry/kernel/credentials.h.
struct Credentials {
  Credentials() : Credentials(0, 0) {}
  // Every user id `uid` and group id `gid`. Root (uid 0) has
  // kSandboxRootCaps permitted and effective; anyone else no capabilities.
  Credentials(uint32_t uid, uint32_t gid, std::vector<uint32_t> groups = {});

  uint32_t uid = 0;    // real
  uint32_t euid = 0;   // effective
  uint32_t suid = 0;   // saved set-user-ID
  uint32_t fsuid = 0;  // filesystem: owner of new files, permission checks
  uint32_t gid = 0;
  uint32_t egid = 0;
  uint32_t sgid = 0;
  uint32_t fsgid = 0;
  std::vector<uint32_t> groups;  // supplementary groups, sorted (setgroups sorts them)
  uint64_t cap_inheritable = 0;
  uint64_t cap_permitted = 0;
  uint64_t cap_effective = 0;
  uint64_t cap_bounding = 0;
  uint64_t cap_ambient = 0;
  bool keep_caps = false;  // PR_SET_KEEPCAPS (SECBIT_KEEP_CAPS); execve clears it

  bool HasCapability(int cap) const { return (cap_effective & CapBit(cap)) != 0; }
  // Linux's in_group_p(): the filesystem gid or a supplementary group.
  bool InGroup(uint32_t g) const;
  // Linux's inode_owner_or_capable(): may act as the owner of a file owned
  // by `owner` (utimensat, chmod ...): the fsuid, or CAP_FOWNER.
  bool OwnerOrCapable(uint32_t owner) const;
  // What access(2) checks with (unless AT_EACCESS): the real ids as the
  // filesystem ids; the permitted capabilities for real root, none otherwise.
  Credentials ForAccess() const;
};

// Permission check of Linux's generic_permission(): `mask` of R_OK/W_OK/X_OK
// against the mode, owner and group in `st`, as the filesystem ids. Failing
// that, CAP_DAC_READ_SEARCH allows reading any file and searching any
// directory, CAP_DAC_OVERRIDE reading and writing anything and executing a
// file with an x bit set (or any directory).
Result<void> CheckPermission(const struct stat& st, const Credentials& creds, int mask);

class Inode : public std::enable_shared_from_this<Inode> {
 public:
  explicit Inode(mode_t type) : type_(type & S_IFMT) {}
  virtual ~Inode() = default;

  mode_t type() const { return type_; }
  bool IsDir() const { return type_ == S_IFDIR; }
  bool IsSymlink() const { return type_ == S_IFLNK; }
  bool IsRegular() const { return type_ == S_IFREG; }

  virtual Result<struct stat> Stat() = 0;
  // Opens the inode; `path` is where it was found.
  virtual Result<std::shared_ptr<FileDescription>> Open(const Path& path, int flags) = 0;

  // Directories. Lookup never sees "." or "..".
  virtual Result<std::shared_ptr<Inode>> Lookup(std::string_view name);
  virtual Result<std::vector<DirEntry>> List();
  virtual Result<std::shared_ptr<Inode>> Create(std::string_view name, mode_t mode,
                                                const Credentials& creds);
  virtual Result<std::shared_ptr<Inode>> MakeDir(std::string_view name, mode_t mode,
                                                 const Credentials& creds);
  virtual Result<std::shared_ptr<Inode>> MakeSymlink(std::string_view name, std::string_view target,
                                                     const Credentials& creds);
  virtual Result<void> Unlink(std::string_view name);
  virtual Result<void> RemoveDir(std::string_view name);
  // mknod(2) of a FIFO, socket or device node: `mode` carries the type
  // (S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK) and permission bits; `rdev` is
  // the device number a device node reports. Regular files use Create.
  virtual Result<std::shared_ptr<Inode>> MakeNode(std::string_view name, mode_t mode, dev_t rdev,
                                                  const Credentials& creds);
  // link(2): `target`, a non-directory of this filesystem (EXDEV
  // otherwise), gets the name `name` here; returns the inode the new name
  // leads to. ENOENT if `target` has no names left and was not made
  // linkable (an O_TMPFILE file without O_EXCL is).
  virtual Result<std::shared_ptr<Inode>> Link(std::string_view name,
                                              const std::shared_ptr<Inode>& target);
  // renameat2(2): the entry `old_name` here becomes `new_name` in `new_dir`
  // (a directory of this filesystem, EXDEV otherwise), replacing what was
  // there (RENAME_NOREPLACE: EEXIST instead), or trading places with it
  // (RENAME_EXCHANGE). RENAME_WHITEOUT leaves a whiteout (a 0:0 character
  // device owned by `creds`) under the old name. Atomic; the caller (the
  // Vfs) has checked permissions and that no directory moves under itself.
  virtual Result<void> Rename(std::string_view old_name, Inode& new_dir, std::string_view new_name,
                              unsigned flags, const Credentials& creds);
  // Symlinks.
  virtual Result<std::string> ReadLink();
  // A procfs "magic" link (/proc/[pid]/fd/N, exe, cwd, root): the path it
  // stands for, which a walk jumps to instead of resolving ReadLink()'s
  // text (Linux's nd_jump_link), so that it reaches deleted files, pipes
  // and files outside the caller's root. Null for an ordinary symlink.
  virtual Result<std::optional<Path>> Jump() { return std::optional<Path>(); }
  // Regular files.
  virtual Result<void> Truncate(uint64_t size);
  // Sets access and modification times (ctime becomes now), as utimensat.
  virtual Result<void> SetTimes(const timespec& atime, const timespec& mtime);
  // chmod(2): the permission bits (07777) become `mode`.
  virtual Result<void> SetMode(mode_t mode);
  // chown(2): the owner becomes `uid` and the group `gid` (kKeepId keeps
  // either), and the mode loses the bits in `clear` (the set-user-ID and
  // set-group-ID bits chown drops), as one change; ctime becomes now.
  static constexpr uint32_t kKeepId = static_cast<uint32_t>(-1);
  virtual Result<void> SetOwner(uint32_t uid, uint32_t gid, mode_t clear);
  // Extended attributes (xattr(7)) the filesystem stores; the VFS has
  // checked the namespace rules and permissions (vfs/xattr.h). Defaults: a
  // filesystem without xattr support: EOPNOTSUPP, and an empty list.
  virtual Result<std::string> GetXattr(std::string_view name);
  // `flags`: XATTR_CREATE (EEXIST if present), XATTR_REPLACE (ENODATA if
  // absent), or neither.
  virtual Result<void> SetXattr(std::string_view name, std::string_view value, int flags);
  virtual Result<std::vector<std::string>> ListXattr();
  virtual Result<void> RemoveXattr(std::string_view name);
  // An unnamed regular file in this directory (open's O_TMPFILE);
  // `linkable`: whether link(2) may give it a name (not with O_EXCL).
  virtual Result<std::shared_ptr<Inode>> CreateTmpfile(mode_t mode, const Credentials& creds,
                                                       bool linkable);
  // statfs(2) of the filesystem the inode is on.
  virtual Result<struct statfs> StatFs();
  // Whether files on it can be written at all (EROFS otherwise).
  virtual bool ReadOnly() const { return false; }
  // Whether the inode has no names left (unlinked file, removed directory).
  virtual bool Unlinked() const { return false; }
  // Whether a cached dentry of this inode still stands for something
  // (Linux's d_revalidate): procfs's entries of a process go with it.
  // False makes the next lookup of the name ask the directory again.
  virtual bool Revalidate() { return true; }
  // The advisory locks on the file (flock(2), fcntl(2) record locks,
  // vfs/lock.h); made on first use unless `create` is false (null then).
  std::shared_ptr<FileLocks> Locks(bool create = true);

 private:
  const mode_t type_;
  absl::Mutex locks_mu_;
  std::shared_ptr<FileLocks> locks_ ABSL_GUARDED_BY(locks_mu_);
};

// A name in the tree: parent, name and inode. Children are cached, so each
// host file is looked up through the gofer once. The tree is owned from the
// top (a mount holds its root, a dentry its cached children); the parent
// link is weak so that a dropped tree is freed. rename(2) moves a dentry
// (Move), so open files, working directories and mount points below it
// see their new path.
class Dentry : public std::enable_shared_from_this<Dentry> {
 public:
  Dentry(std::shared_ptr<Dentry> parent, std::string name, std::shared_ptr<Inode> inode)
      : parent_(parent), root_(parent == nullptr), name_(std::move(name)),
        inode_(std::move(inode)) {}

  // Null for a root, or once the parent's tree was dropped.
  std::shared_ptr<Dentry> parent() const {
    absl::MutexLock lock(&mu_);
    return parent_.lock();
  }
  std::string name() const {
    absl::MutexLock lock(&mu_);
    return name_;
  }
  const std::shared_ptr<Inode>& inode() const { return inode_; }
  bool IsRoot() const { return root_; }

  // The child `name`, from the cache or the inode.
  Result<std::shared_ptr<Dentry>> Child(std::string_view name);
  // Adds a child the caller just created.
  std::shared_ptr<Dentry> AddChild(std::string_view name, std::shared_ptr<Inode> inode);
  void ForgetChild(std::string_view name);
  // Drops the cached children that no longer Revalidate (a directory
  // listing does it, so procfs's names of gone processes do not pile up).
  void PruneChildren();
  // Linux's d_move after a rename: the cached child `old_name` of
  // `old_parent` becomes the child `new_name` of `new_parent`, and a dentry
  // cached under that name is dropped or, with `exchange`, moves the other
  // way. The caller serializes renames (so no directory moves under itself).
  static void Move(Dentry& old_parent, std::string_view old_name, Dentry& new_parent,
                   std::string_view new_name, bool exchange);

  bool mounted() const { return mounted_.load(); }
  void set_mounted(bool m) { mounted_.store(m); }

 private:
  mutable absl::Mutex mu_;  // lock order: a parent's, then its child's
  std::weak_ptr<Dentry> parent_ ABSL_GUARDED_BY(mu_);
  const bool root_;
  std::string name_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Inode> inode_;
  std::map<std::string, std::shared_ptr<Dentry>, std::less<>> children_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> mounted_{false};
};

// One mounted filesystem: its root, where it is mounted, and its flags.
class Mount {
 public:
  Mount(std::shared_ptr<Dentry> root, std::string fs_type, std::string source, bool read_only)
      : root_(std::move(root)), fs_type_(std::move(fs_type)), source_(std::move(source)),
        read_only_(read_only) {}

  const std::shared_ptr<Dentry>& root() const { return root_; }
  const std::string& fs_type() const { return fs_type_; }
  const std::string& source() const { return source_; }
  bool read_only() const { return read_only_; }
  // Where it is mounted; empty for the root mount.
  const Path& mountpoint() const { return mountpoint_; }
  void set_mountpoint(Path p) { mountpoint_ = std::move(p); }

 private:
  std::shared_ptr<Dentry> root_;
  std::string fs_type_;
  std::string source_;
  bool read_only_;
  Path mountpoint_;
};

uint8_t DirentType(mode_t mode);

}  // namespace husk::vfs
