// tmpfs: a filesystem kept in sentry memory: directories, regular files and
// symlinks.
#pragma once

#include <memory>
#include <string>

#include "vfs/inode.h"

namespace husk::vfs {

class PageStore;

// A new, empty tmpfs whose root has `mode` and is owned by `creds`. File
// data lives in `store` (the memory file, so MAP_SHARED maps it); without
// one, in the sentry's heap.
std::shared_ptr<Mount> NewTmpfsMount(mode_t mode, const Credentials& creds, std::string source,
                                     PageStore* store = nullptr);

// memfd_create(2): a new regular file with permission bits `mode` on the
// tmpfs `mount` (the kernel's internal one, mounted nowhere), in no
// directory, named "memfd:NAME", open O_RDWR, with the F_SEAL_* bits
// `seals`.
Result<std::shared_ptr<FileDescription>> NewTmpfsMemfd(const std::shared_ptr<Mount>& mount,
                                                       std::string_view name, mode_t mode,
                                                       unsigned seals, const Credentials& creds);

// Builds synthetic trees (devfs) on a tmpfs-like directory.
std::shared_ptr<Inode> NewTmpfsDir(mode_t mode, const Credentials& creds, dev_t dev,
                                   PageStore& store);
// Adds a node of another kind (a device) to a tmpfs directory.
Result<void> TmpfsAddNode(Inode& dir, std::string_view name, std::shared_ptr<Inode> node);

}  // namespace husk::vfs
