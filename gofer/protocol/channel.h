// Where the gofer protocol's packets are received: base/packet.h sends and
// receives them; a PacketBuffer holds one.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "base/packet.h"

namespace husk::gofer {

// A message buffer left uninitialized, so that only the pages messages
// actually fill are ever touched (zeroing 64 KiB up front costs 16 page
// faults of every start-up).
class PacketBuffer {
 public:
  explicit PacketBuffer(size_t size)
      : bytes_(std::make_unique_for_overwrite<std::byte[]>(size)), size_(size) {}
  std::byte* data() { return bytes_.get(); }
  std::span<std::byte> span() { return {bytes_.get(), size_}; }

 private:
  std::unique_ptr<std::byte[]> bytes_;
  size_t size_;
};

}  // namespace husk::gofer
