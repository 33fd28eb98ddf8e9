// CheckPermission (generic_permission): mode bits against the filesystem
// ids and groups, then the DAC capabilities.
#include <linux/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "vfs/inode.h"

namespace husk::vfs {
namespace {

struct stat File(mode_t mode, uid_t uid, gid_t gid) {
  struct stat st{};
  st.st_mode = mode;
  st.st_uid = uid;
  st.st_gid = gid;
  return st;
}

bool Allowed(const struct stat& st, const Credentials& c, int mask) {
  return CheckPermission(st, c, mask).has_value();
}

TEST(Credentials, RootHasTheSandboxRootCapabilities) {
  Credentials root;
  EXPECT_EQ(root.cap_effective, kSandboxRootCaps);
  EXPECT_EQ(root.cap_permitted, kSandboxRootCaps);
  EXPECT_EQ(root.cap_bounding, kSandboxRootCaps);
  EXPECT_EQ(root.cap_inheritable, 0u);
  EXPECT_FALSE(root.HasCapability(CAP_SYS_ADMIN));
  EXPECT_FALSE(root.HasCapability(CAP_DAC_READ_SEARCH));
  Credentials user(1000, 1000);
  EXPECT_EQ(user.cap_effective, 0u);
  EXPECT_EQ(user.cap_bounding, kSandboxRootCaps);
  EXPECT_EQ(user.fsuid, 1000u);
  EXPECT_EQ(user.sgid, 1000u);
}

TEST(CheckPermission, UsesTheFilesystemIds) {
  Credentials c(1000, 1000);
  c.fsuid = 2000;
  EXPECT_TRUE(Allowed(File(S_IFREG | 0600, 2000, 0), c, R_OK | W_OK));
  EXPECT_FALSE(Allowed(File(S_IFREG | 0600, 1000, 0), c, R_OK));
  c.fsgid = 3000;
  EXPECT_TRUE(Allowed(File(S_IFREG | 0060, 0, 3000), c, R_OK));
  EXPECT_FALSE(Allowed(File(S_IFREG | 0060, 0, 1000), c, R_OK));
}

TEST(CheckPermission, DacOverrideWithoutRootUid) {
  Credentials c(1000, 1000);
  c.cap_effective = CapBit(CAP_DAC_OVERRIDE);
  EXPECT_TRUE(Allowed(File(S_IFREG | 0000, 0, 0), c, R_OK | W_OK));
  EXPECT_FALSE(Allowed(File(S_IFREG | 0600, 0, 0), c, X_OK)) << "no x bit at all";
  EXPECT_TRUE(Allowed(File(S_IFREG | 0001, 0, 0), c, X_OK));
  EXPECT_TRUE(Allowed(File(S_IFDIR | 0000, 0, 0), c, R_OK | W_OK | X_OK));
}

TEST(CheckPermission, RootWithoutCapabilitiesIsOrdinary) {
  Credentials c;
  c.cap_effective = 0;
  EXPECT_FALSE(Allowed(File(S_IFREG | 0600, 1000, 1000), c, R_OK));
  EXPECT_TRUE(Allowed(File(S_IFREG | 0600, 0, 1000), c, R_OK));
}

TEST(CheckPermission, DacReadSearchReadsAndSearches) {
  Credentials c(1000, 1000);
  c.cap_effective = CapBit(CAP_DAC_READ_SEARCH);
  EXPECT_TRUE(Allowed(File(S_IFREG | 0000, 0, 0), c, R_OK));
  EXPECT_FALSE(Allowed(File(S_IFREG | 0000, 0, 0), c, W_OK));
  EXPECT_FALSE(Allowed(File(S_IFREG | 0555, 0, 0), c, R_OK | W_OK));
  EXPECT_TRUE(Allowed(File(S_IFDIR | 0000, 0, 0), c, R_OK | X_OK));
  EXPECT_FALSE(Allowed(File(S_IFDIR | 0000, 0, 0), c, W_OK | X_OK));
}

TEST(CheckPermission, OwnerClassIsFinal) {
  // The owner gets the owner bits, even when group or other allow more.
  Credentials c(1000, 1000);
  EXPECT_FALSE(Allowed(File(S_IFREG | 0077, 1000, 1000), c, R_OK));
}

TEST(Credentials, ForAccessUsesRealIds) {
  Credentials c(1000, 1000);
  c.euid = c.fsuid = 0;
  c.cap_permitted = c.cap_effective = kSandboxRootCaps;
  Credentials a = c.ForAccess();
  EXPECT_EQ(a.fsuid, 1000u);
  EXPECT_EQ(a.cap_effective, 0u);
  Credentials root;
  root.cap_effective = 0;
  EXPECT_EQ(root.ForAccess().cap_effective, kSandboxRootCaps) << "real root: permitted";
}

}  // namespace
}  // namespace husk::vfs
