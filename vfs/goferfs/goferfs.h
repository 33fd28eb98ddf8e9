// goferfs: host files served by the gofer. Every inode is a gofer fid;
// opening a file gets the host fd donated by the gofer, so reads and writes
// do not round-trip through it.
#pragma once

#include <memory>
#include <string>

#include "gofer/protocol/client.h"
#include "vfs/inode.h"

namespace husk::vfs {

// A mount of export `export_index` of the gofer behind `client`.
Result<std::shared_ptr<Mount>> NewGoferMount(std::shared_ptr<gofer::Client> client,
                                             uint32_t export_index, bool read_only,
                                             std::string source);

}  // namespace husk::vfs
