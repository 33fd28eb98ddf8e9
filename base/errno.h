// Errno: a Linux errno value as a type, so that error paths cannot be
// confused with results. Includes the kernel-internal restart codes.
#pragma once

#include <cerrno>
#include <string_view>

namespace husk {

// Kernel-internal restart codes (include/linux/errno.h); never seen by the
// application, which gets EINTR or a restarted call instead.
inline constexpr int ERESTARTSYS = 512;
inline constexpr int ERESTARTNOINTR = 513;
inline constexpr int ERESTARTNOHAND = 514;
inline constexpr int ERESTART_RESTARTBLOCK = 516;

class Errno {
 public:
  constexpr explicit Errno(int value) : value_(value) {}
  constexpr int value() const { return value_; }
  constexpr bool operator==(const Errno&) const = default;

 private:
  int value_;
};

// "ENOENT" for 2, "E123" for values without a name.
std::string_view ErrnoName(int value);
// strerror-like text that does not depend on the locale: "No such file or directory".
std::string_view ErrnoText(int value);

}  // namespace husk
