// devfs: /dev with the memory devices (null, zero, full, random, urandom)
// and the links into /proc (fd, stdin, stdout, stderr).
#pragma once

#include <memory>

#include "vfs/inode.h"

namespace husk::vfs {

std::shared_ptr<Mount> NewDevMount();

}  // namespace husk::vfs
