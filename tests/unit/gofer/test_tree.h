// Shared fixture for the gofer tests: a host directory tree in /tmp and a
// real gofer process serving it.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "gofer/protocol/client.h"
#include "gofer/protocol/spawn.h"

namespace husk::gofer::testing {

inline constexpr int kBigDirEntries = 3000;
inline constexpr std::string_view kFileContent = "hello, gofer\n";

// The tree, built once per test program and removed at exit:
//   BASE/ro/                export 0, read-only
//     file.txt              kFileContent
//     dir/nested.txt
//     link_etc -> /etc      leads outside the export
//     link_up -> ..         leads to BASE, outside the export
//     link_file -> file.txt
//     fifo
//     big/                  kBigDirEntries entries, every 10th a directory
//   BASE/rw/                export 1, writable
struct TestTree {
  std::string base, ro, rw;
};
const TestTree& Tree();

// Name of entry i of big/.
std::string BigEntryName(int i);

std::vector<Export> TestExports();

// Host lstat, failing the test on error.
struct stat HostLstat(const std::string& path);

// Waits for `pid` and returns its wait status.
int WaitStatus(pid_t pid);

// A gofer serving Tree() with a Client on it. The gofer must exit cleanly
// when the client goes away.
class GoferTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Walks from export `export_index`'s root along '/'-separated `path`.
  Result<std::pair<Fid, Attr>> WalkPath(std::string_view path, uint32_t export_index = 0);

  pid_t pid_ = -1;
  std::unique_ptr<Client> client_;
};

}  // namespace husk::gofer::testing
