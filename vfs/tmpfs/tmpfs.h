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

// Builds synthetic trees (devfs) on a tmpfs-like directory.
std::shared_ptr<Inode> NewTmpfsDir(mode_t mode, const Credentials& creds, dev_t dev,
                                   PageStore& store);
// Adds a node of another kind (a device) to a tmpfs directory.
Result<void> TmpfsAddNode(Inode& dir, std::string_view name, std::shared_ptr<Inode> node);

}  // namespace husk::vfs
