// Vfs: the mount tree and path resolution (Linux's namei): ".", "..",
// symlinks (at most 40 per lookup), mount points, trailing slashes, and
// open(2)'s flag semantics.
#pragma once

#include <linux/openat2.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <absl/synchronization/mutex.h>

#include "base/result.h"
#include "vfs/file.h"
#include "vfs/inode.h"

namespace husk::vfs {

inline constexpr int kMaxSymlinks = 40;  // Linux's MAXSYMLINKS
inline constexpr size_t kNameMax = 255;
inline constexpr size_t kPathMax = 4096;

// Whether `creds` may add or remove names in the directory `dir` (Linux's
// may_create/may_delete): write and search permission, on a writable mount.
Result<void> CheckDirWritable(const Path& dir, const Credentials& creds);

// mknod(2)'s check of the node type in `mode` (Linux's may_mknod): regular
// (or 0), FIFO, socket and devices pass; a directory is EPERM, anything
// else EINVAL.
Result<void> CheckNodeType(mode_t mode);

// Where a lookup starts: the task's root and working directory.
struct LookupContext {
  Path root;
  Path cwd;
  const Credentials* creds = nullptr;
  // openat2(2)'s RESOLVE_* flags. For RESOLVE_BENEATH and RESOLVE_IN_ROOT
  // the caller makes `root` the directory the lookup starts from: ".."
  // there stays (IN_ROOT) or is EXDEV (BENEATH), and absolute paths and
  // symlinks start there (IN_ROOT) or are EXDEV (BENEATH).
  uint64_t resolve = 0;
};

struct ParentAndName {
  Path parent;
  std::string name;     // "" for "/", or "." / ".." when the path ends in one
  bool trailing_slash = false;
};

class Vfs {
 public:
  // The root mount of the tree.
  void SetRoot(std::shared_ptr<Mount> root);
  Path Root() const;
  // Mounts `m` on the directory `where`.
  Result<void> MountAt(const Path& where, std::shared_ptr<Mount> m);
  // All mounts, root first (for /proc/mounts).
  std::vector<std::shared_ptr<Mount>> Mounts() const;

  // Resolves `path` from `start` (a dirfd's path or the cwd). `follow`:
  // whether a symlink in the last component is followed. ENOENT for "".
  Result<Path> Resolve(const LookupContext& ctx, const Path& start, std::string_view path,
                       bool follow) const;
  // Resolves everything but the last component.
  Result<ParentAndName> ResolveParent(const LookupContext& ctx, const Path& start,
                                      std::string_view path) const;
  // openat(2) from `start`.
  Result<std::shared_ptr<FileDescription>> Open(const LookupContext& ctx, const Path& start,
                                                std::string_view path, int flags, mode_t mode,
                                                mode_t umask) const;
  // open(2) with O_TMPFILE: an unnamed file in the directory `path`.
  Result<std::shared_ptr<FileDescription>> OpenTmpfile(const LookupContext& ctx, const Path& start,
                                                       std::string_view path, int flags, mode_t mode,
                                                       mode_t umask) const;
  // link(2)/linkat(2): a new name `new_path` (from `new_start`) for the
  // file at `old`, which the caller resolved (following a final symlink
  // or not, or the fd of AT_EMPTY_PATH).
  Result<void> Link(const LookupContext& ctx, const Path& old, const Path& new_start,
                    std::string_view new_path) const;
  // renameat2(2) of `old_path` (from `old_start`) to `new_path` (from
  // `new_start`); `flags`: RENAME_NOREPLACE, RENAME_EXCHANGE,
  // RENAME_WHITEOUT.
  Result<void> Rename(const LookupContext& ctx, const Path& old_start, std::string_view old_path,
                      const Path& new_start, std::string_view new_path, unsigned flags) const;
  // mknodat(2): a regular file, FIFO, socket or device node at `path`.
  Result<void> MakeNode(const LookupContext& ctx, const Path& start, std::string_view path,
                        mode_t mode, dev_t dev, mode_t umask) const;

  // Opens a resolved path (exec, /proc links).
  Result<std::shared_ptr<FileDescription>> OpenPath(const LookupContext& ctx, const Path& p,
                                                    int flags) const;

  // The absolute path of `p` as seen from `root`, as getcwd(2) and
  // /proc/self/exe report it.
  std::string PathOf(const Path& root, const Path& p) const;

 private:
  Result<Path> Walk(const LookupContext& ctx, const Path& start, std::string_view path,
                    bool follow_last, int& symlinks) const;
  Path Parent(const LookupContext& ctx, const Path& p) const;
  Path CrossMounts(Path p) const;
  // The RESOLVE_* checks of following a symlink found in `dir`: `jump`
  // for a procfs magic link, else the link's `target`.
  static Result<void> CheckLinkFollow(const LookupContext& ctx, const Path& dir,
                                      const std::optional<Path>& jump, std::string_view target);

  // Serializes renames, so that no directory can move under itself
  // (Linux's s_vfs_rename_mutex). Lock order: this, then the filesystems'.
  mutable absl::Mutex rename_mu_;
  mutable absl::Mutex mu_;
  std::shared_ptr<Mount> root_ ABSL_GUARDED_BY(mu_);
  // Mount points: the dentry a mount covers, in its parent mount.
  std::map<const Dentry*, std::shared_ptr<Mount>> mounts_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Mount>> order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace husk::vfs
