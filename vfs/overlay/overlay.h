// overlay: the sandbox's default root. A writable upper layer (tmpfs) over
// a read-only lower tree (the host root served by the gofer), after Linux's
// overlayfs: lookups see the upper entry, else the lower one; writing a
// lower file first copies it (and its parent directories) up; removing a
// lower entry leaves a whiteout. Nothing written reaches the lower layer.
#pragma once

#include <memory>

#include "vfs/inode.h"
#include "vfs/pages.h"

namespace husk::vfs {

// An overlay whose lower layer is the tree under `lower_root` and whose
// upper layer is a new tmpfs with data in `store`.
std::shared_ptr<Mount> NewOverlayMount(std::shared_ptr<Inode> lower_root, PageStore* store,
                                       std::string source);

}  // namespace husk::vfs
