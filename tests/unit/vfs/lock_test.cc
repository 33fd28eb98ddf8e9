// FileLocks (vfs/lock.h) on its own: record lock splitting and merging,
// owners, and flock(2) conflicts. Nothing here waits: with no task on the
// thread a wait that would block fails with EAGAIN.
#include "vfs/lock.h"

#include <sys/file.h>

#include <gtest/gtest.h>

namespace husk::vfs {
namespace {

// Two owners: only their addresses matter.
int owner_a;
int owner_b;

RecordLock Req(const void* owner, short type, int64_t start, int64_t end, bool ofd = false) {
  RecordLock r;
  r.owner = owner;
  r.type = type;
  r.start = start;
  r.end = end;
  r.ofd = ofd;
  r.pid = owner == &owner_a ? 1 : 2;
  return r;
}

TEST(FileLocks, ConflictsOnlyBetweenOwnersAndWithAWriter) {
  FileLocks locks;
  ASSERT_TRUE(locks.SetRecord(Req(&owner_a, F_RDLCK, 0, 9), false));
  EXPECT_TRUE(locks.SetRecord(Req(&owner_b, F_RDLCK, 5, 20), false));
  EXPECT_EQ(locks.SetRecord(Req(&owner_b, F_WRLCK, 9, 9), false).error(), Errno(EAGAIN));
  EXPECT_TRUE(locks.SetRecord(Req(&owner_a, F_WRLCK, 0, 4), false));  // only A reads there
  auto held = locks.Test(Req(&owner_b, F_RDLCK, 0, RecordLock::kEof));
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->owner, &owner_a);
  EXPECT_EQ(held->type, F_WRLCK);
  EXPECT_EQ(held->start, 0);
  EXPECT_EQ(held->end, 4);
  EXPECT_EQ(held->pid, 1);
}

TEST(FileLocks, UnlockSplitsAndAdjacentLocksMerge) {
  FileLocks locks;
  ASSERT_TRUE(locks.SetRecord(Req(&owner_a, F_WRLCK, 0, 99), false));
  ASSERT_TRUE(locks.SetRecord(Req(&owner_a, F_UNLCK, 40, 59), false));
  EXPECT_FALSE(locks.Test(Req(&owner_b, F_WRLCK, 40, 59)).has_value());
  auto right = locks.Test(Req(&owner_b, F_WRLCK, 41, RecordLock::kEof));
  ASSERT_TRUE(right.has_value());
  EXPECT_EQ(right->start, 60);
  EXPECT_EQ(right->end, 99);
  // Filling the hole joins the three pieces into one lock.
  ASSERT_TRUE(locks.SetRecord(Req(&owner_a, F_WRLCK, 40, 59), false));
  auto whole = locks.Test(Req(&owner_b, F_WRLCK, 50, 50));
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(whole->start, 0);
  EXPECT_EQ(whole->end, 99);
}

TEST(FileLocks, ReleasePosixKeepsOfdLocks) {
  FileLocks locks;
  ASSERT_TRUE(locks.SetRecord(Req(&owner_a, F_WRLCK, 0, 9), false));
  ASSERT_TRUE(locks.SetRecord(Req(&owner_b, F_WRLCK, 10, 19, /*ofd=*/true), false));
  locks.ReleasePosix(&owner_a);
  locks.ReleasePosix(&owner_b);  // an OFD owner's locks are not POSIX ones
  EXPECT_FALSE(locks.Test(Req(&owner_b, F_WRLCK, 0, 9)).has_value());
  EXPECT_TRUE(locks.Test(Req(&owner_a, F_WRLCK, 10, 19)).has_value());
  locks.ReleaseFile(&owner_b);
  EXPECT_FALSE(locks.Test(Req(&owner_a, F_WRLCK, 0, RecordLock::kEof)).has_value());
}

TEST(FileLocks, FlockSharedExclusiveAndConversion) {
  FileLocks locks;
  ASSERT_TRUE(locks.Flock(&owner_a, LOCK_SH, true));
  EXPECT_TRUE(locks.Flock(&owner_b, LOCK_SH, true));
  EXPECT_EQ(locks.Flock(&owner_a, LOCK_EX, true).error(), Errno(EWOULDBLOCK));
  // The failed conversion dropped A's shared lock.
  ASSERT_TRUE(locks.Flock(&owner_b, LOCK_EX, true));
  EXPECT_EQ(locks.Flock(&owner_a, LOCK_SH, true).error(), Errno(EWOULDBLOCK));
  locks.ReleaseFile(&owner_b);
  EXPECT_TRUE(locks.Flock(&owner_a, LOCK_EX, true));
  // flock locks and record locks are separate.
  EXPECT_TRUE(locks.SetRecord(Req(&owner_b, F_WRLCK, 0, RecordLock::kEof), false));
}

}  // namespace
}  // namespace husk::vfs
