// Bounds-checked (de)serialisation of wire structs to and from byte buffers.
// Packets come from the other process, so every read checks the length first
// and copies with memcpy (no alignment or aliasing assumptions).
#pragma once

#include <cstddef>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "gofer/protocol/messages.h"

namespace husk::gofer {

// A cursor over a received packet.
class WireReader {
 public:
  explicit WireReader(std::span<const std::byte> bytes) : bytes_(bytes) {}

  // Copies the next sizeof(T) bytes into *out; false if fewer remain.
  template <class T>
  [[nodiscard]] bool Read(T* out) {
    static_assert(kIsWireType<T>);
    if (bytes_.size() < sizeof(T)) return false;
    std::memcpy(out, bytes_.data(), sizeof(T));
    bytes_ = bytes_.subspan(sizeof(T));
    return true;
  }

  // The next n bytes as text; false if fewer remain.
  [[nodiscard]] bool ReadBytes(size_t n, std::string_view* out) {
    if (bytes_.size() < n) return false;
    *out = std::string_view(reinterpret_cast<const char*>(bytes_.data()), n);
    bytes_ = bytes_.subspan(n);
    return true;
  }

  // Everything not read yet, consuming it.
  std::string_view TakeRest() {
    std::string_view rest;
    (void)ReadBytes(bytes_.size(), &rest);
    return rest;
  }

  size_t remaining() const { return bytes_.size(); }

 private:
  std::span<const std::byte> bytes_;
};

// Appends wire structs and text to a growing buffer.
class WireWriter {
 public:
  template <class T>
  void Write(const T& value) {
    static_assert(kIsWireType<T>);
    Append(&value, sizeof(T));
  }
  void WriteBytes(std::string_view text) { Append(text.data(), text.size()); }
  void WriteBytes(std::span<const std::byte> bytes) { Append(bytes.data(), bytes.size()); }

  size_t size() const { return bytes_.size(); }
  std::span<const std::byte> bytes() const { return bytes_; }

 private:
  void Append(const void* data, size_t n) {
    const auto* p = static_cast<const std::byte*>(data);
    bytes_.insert(bytes_.end(), p, p + n);
  }

  std::vector<std::byte> bytes_;
};

}  // namespace husk::gofer
