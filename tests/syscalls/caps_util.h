// The calling process's capability sets through the raw capget/capset
// (version 3, 64 bits per set), for the credential and prctl tests.
#pragma once

#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace husk_test {

struct Caps {
  uint64_t effective = 0;
  uint64_t permitted = 0;
  uint64_t inheritable = 0;
};

// capget(2) of `pid` (0: the caller); a failure fails the test.
inline Caps GetCaps(pid_t pid = 0) {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, pid};
  __user_cap_data_struct d[2] = {};
  EXPECT_EQ(syscall(SYS_capget, &h, d), 0) << strerror(errno);
  Caps c;
  c.effective = d[0].effective | uint64_t{d[1].effective} << 32;
  c.permitted = d[0].permitted | uint64_t{d[1].permitted} << 32;
  c.inheritable = d[0].inheritable | uint64_t{d[1].inheritable} << 32;
  return c;
}

// capset(2) for `pid` (0: the caller); returns the raw result.
inline long SetCaps(const Caps& c, pid_t pid = 0) {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, pid};
  __user_cap_data_struct d[2];
  d[0] = {static_cast<uint32_t>(c.effective), static_cast<uint32_t>(c.permitted),
          static_cast<uint32_t>(c.inheritable)};
  d[1] = {static_cast<uint32_t>(c.effective >> 32), static_cast<uint32_t>(c.permitted >> 32),
          static_cast<uint32_t>(c.inheritable >> 32)};
  return syscall(SYS_capset, &h, d);
}

}  // namespace husk_test
