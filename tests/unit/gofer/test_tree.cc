#include "tests/unit/gofer/test_tree.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace husk::gofer::testing {
namespace {

void WriteFile(const std::string& path, std::string_view content) {
  std::ofstream(path) << content;
}

void Check(bool ok, std::string_view what) {
  if (!ok) {
    perror(std::string(what).c_str());
    std::abort();
  }
}

TestTree* BuildTree() {
  auto* tree = new TestTree;
  char tmpl[] = "/tmp/husk-gofer-test-XXXXXX";
  Check(::mkdtemp(tmpl) != nullptr, "mkdtemp");
  tree->base = tmpl;
  tree->ro = tree->base + "/ro";
  tree->rw = tree->base + "/rw";
  std::filesystem::create_directories(tree->ro + "/dir");
  std::filesystem::create_directories(tree->ro + "/big");
  std::filesystem::create_directories(tree->rw);
  WriteFile(tree->ro + "/file.txt", kFileContent);
  WriteFile(tree->ro + "/dir/nested.txt", "nested\n");
  Check(::symlink("/etc", (tree->ro + "/link_etc").c_str()) == 0, "symlink");
  Check(::symlink("..", (tree->ro + "/link_up").c_str()) == 0, "symlink");
  Check(::symlink("file.txt", (tree->ro + "/link_file").c_str()) == 0, "symlink");
  Check(::mkfifo((tree->ro + "/fifo").c_str(), 0600) == 0, "mkfifo");
  for (int i = 0; i < kBigDirEntries; ++i) {
    std::string path = tree->ro + "/big/" + BigEntryName(i);
    if (i % 10 == 0) {
      Check(::mkdir(path.c_str(), 0755) == 0, "mkdir");
    } else {
      WriteFile(path, "");
    }
  }
  std::atexit([] { std::filesystem::remove_all(Tree().base); });
  return tree;
}

}  // namespace

const TestTree& Tree() {
  static const TestTree* tree = BuildTree();
  return *tree;
}

// Long names make big/ span several ReadDir replies.
std::string BigEntryName(int i) {
  char name[64];
  snprintf(name, sizeof(name), "entry_with_a_fairly_long_name_%05d", i);
  return name;
}

std::vector<Export> TestExports() { return {{Tree().ro, false}, {Tree().rw, true}}; }

struct stat HostLstat(const std::string& path) {
  struct stat st = {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

int WaitStatus(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return status;
}

void GoferTest::SetUp() {
  Result<Spawned> spawned = SpawnGofer(GOFER_PATH, TestExports());
  ASSERT_TRUE(spawned.has_value()) << ErrnoName(spawned.error().value());
  pid_ = spawned->pid;
  client_ = std::make_unique<Client>(std::move(spawned->sock));
}

void GoferTest::TearDown() {
  client_.reset();  // closes the socket: the gofer sees EOF
  if (pid_ > 0) {
    int status = WaitStatus(pid_);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "gofer status " << status;
  }
}

Result<std::pair<Fid, Attr>> GoferTest::WalkPath(std::string_view path, uint32_t export_index) {
  auto current = TRY(client_->Attach(export_index));
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view name = path.substr(0, slash);
    path = slash == std::string_view::npos ? "" : path.substr(slash + 1);
    Result<std::pair<Fid, Attr>> next = client_->Walk(current.first, name);
    client_->Clunk(current.first);
    current = TRY(std::move(next));
  }
  return current;
}

}  // namespace husk::gofer::testing
