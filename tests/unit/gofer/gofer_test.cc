// What the gofer serves, through the Client, as the sentry's goferfs sees it.
#include <fcntl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "tests/unit/gofer/test_tree.h"

namespace husk::gofer::testing {
namespace {

// "OK" or the errno's name, so failures print ENOENT rather than 2.
template <class T>
std::string ErrName(const Result<T>& r) {
  return r.has_value() ? "OK" : std::string(ErrnoName(r.error().value()));
}

void ExpectAttrMatches(const Attr& a, const struct stat& st) {
  EXPECT_EQ(a.dev, st.st_dev);
  EXPECT_EQ(a.ino, st.st_ino);
  EXPECT_EQ(a.nlink, st.st_nlink);
  EXPECT_EQ(a.mode, st.st_mode);
  EXPECT_EQ(a.uid, st.st_uid);
  EXPECT_EQ(a.gid, st.st_gid);
  EXPECT_EQ(a.rdev, st.st_rdev);
  EXPECT_EQ(a.size, st.st_size);
  EXPECT_EQ(a.blksize, st.st_blksize);
  EXPECT_EQ(a.blocks, st.st_blocks);
  EXPECT_EQ(a.mtime.tv_sec, st.st_mtim.tv_sec);
  EXPECT_EQ(a.mtime.tv_nsec, st.st_mtim.tv_nsec);
  EXPECT_EQ(a.ctime.tv_sec, st.st_ctim.tv_sec);
  EXPECT_EQ(a.ctime.tv_nsec, st.st_ctim.tv_nsec);
  EXPECT_EQ(a.atime.tv_sec, st.st_atim.tv_sec);
  EXPECT_EQ(a.atime.tv_nsec, st.st_atim.tv_nsec);
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  return out;
}

std::string HostFile(const std::string& path) {
  std::stringstream s;
  s << std::ifstream(path).rdbuf();
  return s.str();
}

// ---- Attach ----

TEST_F(GoferTest, AttachReturnsTheExportRoot) {
  auto root = client_->Attach(0);
  ASSERT_EQ(ErrName(root), "OK");
  ExpectAttrMatches(root->second, HostLstat(Tree().ro));
  auto rw = client_->Attach(1);
  ASSERT_EQ(ErrName(rw), "OK");
  EXPECT_EQ(rw->second.ino, HostLstat(Tree().rw).st_ino);
  EXPECT_NE(root->first, rw->first);
}

TEST_F(GoferTest, AttachUnknownExportIsEnoent) {
  EXPECT_EQ(ErrName(client_->Attach(2)), "ENOENT");
}

// ---- Walk and GetAttr ----

TEST_F(GoferTest, WalkReturnsTheHostFilesAttr) {
  auto file = WalkPath("dir/nested.txt");
  ASSERT_EQ(ErrName(file), "OK");
  ExpectAttrMatches(file->second, HostLstat(Tree().ro + "/dir/nested.txt"));
}

TEST_F(GoferTest, GetAttrMatchesHostLstat) {
  auto file = WalkPath("file.txt");
  ASSERT_EQ(ErrName(file), "OK");
  auto attr = client_->GetAttr(file->first);
  ASSERT_EQ(ErrName(attr), "OK");
  ExpectAttrMatches(*attr, HostLstat(Tree().ro + "/file.txt"));
}

TEST_F(GoferTest, WalkMissingNameIsEnoent) {
  EXPECT_EQ(ErrName(WalkPath("no_such_file")), "ENOENT");
}

TEST_F(GoferTest, WalkFromAFileIsEnotdir) {
  EXPECT_EQ(ErrName(WalkPath("file.txt/x")), "ENOTDIR");
}

TEST_F(GoferTest, WalkLongNameIsEnametoolong) {
  auto root = client_->Attach(0);
  ASSERT_EQ(ErrName(root), "OK");
  EXPECT_EQ(ErrName(client_->Walk(root->first, std::string(NAME_MAX + 1, 'a'))), "ENAMETOOLONG");
  EXPECT_EQ(ErrName(client_->Walk(root->first, std::string(70000, 'a'))), "ENAMETOOLONG");
}

TEST_F(GoferTest, WalkRejectsAnythingButOneComponent) {
  auto root = client_->Attach(0);
  ASSERT_EQ(ErrName(root), "OK");
  for (std::string_view bad : {"", ".", "..", "dir/nested.txt", "/etc", "dir/"}) {
    EXPECT_EQ(ErrName(client_->Walk(root->first, bad)), "EINVAL") << "'" << bad << "'";
  }
  EXPECT_EQ(ErrName(client_->Walk(root->first, std::string_view("file.txt\0x", 10))), "EINVAL");
}

TEST_F(GoferTest, WalkUnknownFidIsEbadf) {
  EXPECT_EQ(ErrName(client_->Walk(123456789, "file.txt")), "EBADF");
  EXPECT_EQ(ErrName(client_->GetAttr(123456789)), "EBADF");
}

// ---- Symlinks are never followed ----

TEST_F(GoferTest, WalkToASymlinkReturnsTheLinkItself) {
  auto link = WalkPath("link_etc");
  ASSERT_EQ(ErrName(link), "OK");
  EXPECT_TRUE(S_ISLNK(link->second.mode));
  ExpectAttrMatches(link->second, HostLstat(Tree().ro + "/link_etc"));
}

TEST_F(GoferTest, WalkThroughASymlinkIsEnotdir) {
  EXPECT_EQ(ErrName(WalkPath("link_etc/passwd")), "ENOTDIR");
  EXPECT_EQ(ErrName(WalkPath("link_up/ro")), "ENOTDIR");
  EXPECT_EQ(ErrName(WalkPath("link_up/rw")), "ENOTDIR");
}

TEST_F(GoferTest, OpenASymlinkIsEloop) {
  for (std::string_view name : {"link_etc", "link_up", "link_file"}) {
    auto link = WalkPath(name);
    ASSERT_EQ(ErrName(link), "OK");
    EXPECT_EQ(ErrName(client_->Open(link->first, O_RDONLY)), "ELOOP") << name;
  }
}

TEST_F(GoferTest, ReadDirOfASymlinkIsEnotdir) {
  auto link = WalkPath("link_etc");
  ASSERT_EQ(ErrName(link), "OK");
  EXPECT_EQ(ErrName(client_->ReadDir(link->first)), "ENOTDIR");
}

TEST_F(GoferTest, ReadLinkReturnsTheTarget) {
  std::map<std::string, std::string> links = {
      {"link_etc", "/etc"}, {"link_up", ".."}, {"link_file", "file.txt"}};
  for (const auto& [name, target] : links) {
    auto link = WalkPath(name);
    ASSERT_EQ(ErrName(link), "OK");
    auto got = client_->ReadLink(link->first);
    ASSERT_EQ(ErrName(got), "OK");
    EXPECT_EQ(*got, target);
  }
}

TEST_F(GoferTest, WalkToASymlinkBringsItsTarget) {
  auto root = client_->Attach(0);
  ASSERT_EQ(ErrName(root), "OK");
  std::string target;
  auto link = client_->Walk(root->first, "link_etc", &target);
  ASSERT_EQ(ErrName(link), "OK");
  EXPECT_EQ(target, "/etc");
  std::string none = "unchanged";
  auto file = client_->Walk(root->first, "file.txt", &none);
  ASSERT_EQ(ErrName(file), "OK");
  EXPECT_EQ(none, "unchanged");
}

TEST_F(GoferTest, ReadLinkOfAFileIsEinval) {
  auto file = WalkPath("file.txt");
  ASSERT_EQ(ErrName(file), "OK");
  EXPECT_EQ(ErrName(client_->ReadLink(file->first)), "EINVAL");
}

// ---- Open ----

TEST_F(GoferTest, OpenDonatesAReadableCloexecFd) {
  auto file = WalkPath("file.txt");
  ASSERT_EQ(ErrName(file), "OK");
  auto fd = client_->Open(file->first, O_RDONLY);
  ASSERT_EQ(ErrName(fd), "OK");
  EXPECT_EQ(ReadAll(fd->get()), kFileContent);
  EXPECT_NE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(::fcntl(fd->get(), F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY);
}

TEST_F(GoferTest, OpenKeepsRequestedStatusFlags) {
  auto file = WalkPath("file.txt");
  ASSERT_EQ(ErrName(file), "OK");
  auto fd = client_->Open(file->first, O_RDONLY | O_NONBLOCK);
  ASSERT_EQ(ErrName(fd), "OK");
  EXPECT_NE(::fcntl(fd->get(), F_GETFL) & O_NONBLOCK, 0);
}

TEST_F(GoferTest, OpenADirectoryGivesADirectoryFd) {
  auto dir = WalkPath("dir");
  ASSERT_EQ(ErrName(dir), "OK");
  auto fd = client_->Open(dir->first, O_RDONLY | O_DIRECTORY);
  ASSERT_EQ(ErrName(fd), "OK");
  struct stat st;
  ASSERT_EQ(::fstat(fd->get(), &st), 0);
  EXPECT_EQ(st.st_ino, HostLstat(Tree().ro + "/dir").st_ino);
  auto root = client_->Attach(0);
  ASSERT_EQ(ErrName(root), "OK");
  auto root_fd = client_->Open(root->first, O_RDONLY);
  ASSERT_EQ(ErrName(root_fd), "OK");
  ASSERT_EQ(::fstat(root_fd->get(), &st), 0);
  EXPECT_EQ(st.st_ino, HostLstat(Tree().ro).st_ino);
}

TEST_F(GoferTest, OpenAFileWithODirectoryIsEnotdir) {
  auto file = WalkPath("file.txt");
  ASSERT_EQ(ErrName(file), "OK");
  EXPECT_EQ(ErrName(client_->Open(file->first, O_RDONLY | O_DIRECTORY)), "ENOTDIR");
}

TEST_F(GoferTest, OpenADirectoryForWritingIsEisdir) {
  auto dir = WalkPath("", 1);
  ASSERT_EQ(ErrName(dir), "OK");
  EXPECT_EQ(ErrName(client_->Open(dir->first, O_WRONLY)), "EISDIR");
}

TEST_F(GoferTest, OpenWithCreationFlagsIsEinval) {
  auto file = WalkPath("file.txt");
  ASSERT_EQ(ErrName(file), "OK");
  for (int flags : {O_RDONLY | O_CREAT, O_RDONLY | O_PATH, O_WRONLY | O_TMPFILE, O_ACCMODE}) {
    EXPECT_EQ(ErrName(client_->Open(file->first, flags)), "EINVAL") << flags;
  }
}

TEST_F(GoferTest, OpenAFifoIsEperm) {
  auto fifo = WalkPath("fifo");
  ASSERT_EQ(ErrName(fifo), "OK");
  EXPECT_TRUE(S_ISFIFO(fifo->second.mode));
  EXPECT_EQ(ErrName(client_->Open(fifo->first, O_RDONLY)), "EPERM");
}

TEST_F(GoferTest, WriteOpenOnReadOnlyExportIsErofs) {
  auto file = WalkPath("file.txt");
  ASSERT_EQ(ErrName(file), "OK");
  for (int flags : {O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC, O_WRONLY | O_APPEND}) {
    EXPECT_EQ(ErrName(client_->Open(file->first, flags)), "EROFS") << flags;
  }
  EXPECT_EQ(HostFile(Tree().ro + "/file.txt"), kFileContent);
}

TEST_F(GoferTest, WriteOpenOnWritableExportWritesTheHostFile) {
  std::string host_path = Tree().rw + "/written.txt";
  std::ofstream(host_path) << "old contents";
  auto file = WalkPath("written.txt", 1);
  ASSERT_EQ(ErrName(file), "OK");
  auto fd = client_->Open(file->first, O_WRONLY | O_TRUNC);
  ASSERT_EQ(ErrName(fd), "OK");
  ASSERT_EQ(::write(fd->get(), "new", 3), 3);
  EXPECT_EQ(HostFile(host_path), "new");
}

TEST_F(GoferTest, OpenAFileReplacedOnTheHostIsEstale) {
  std::string victim = Tree().rw + "/victim", other = Tree().rw + "/other";
  std::ofstream(victim) << "v";
  auto file = WalkPath("victim", 1);
  ASSERT_EQ(ErrName(file), "OK");
  std::ofstream(other) << "o";
  ASSERT_EQ(::rename(other.c_str(), victim.c_str()), 0);
  EXPECT_EQ(ErrName(client_->Open(file->first, O_RDONLY)), "ESTALE");
}

// ---- ReadDir ----

TEST_F(GoferTest, ReadDirListsEverythingButDots) {
  auto root = client_->Attach(0);
  ASSERT_EQ(ErrName(root), "OK");
  auto entries = client_->ReadDir(root->first);
  ASSERT_EQ(ErrName(entries), "OK");
  std::map<std::string, uint8_t> got;
  for (const DirEntry& e : *entries) got[e.name] = e.type;
  std::map<std::string, uint8_t> want = {
      {"file.txt", DT_REG}, {"dir", DT_DIR},      {"link_etc", DT_LNK}, {"link_up", DT_LNK},
      {"link_file", DT_LNK}, {"fifo", DT_FIFO},   {"big", DT_DIR}};
  EXPECT_EQ(got, want);
  for (const DirEntry& e : *entries) {
    EXPECT_EQ(e.ino, HostLstat(Tree().ro + "/" + e.name).st_ino) << e.name;
  }
}

TEST_F(GoferTest, ReadDirOfALargeDirectoryIsComplete) {
  auto big = WalkPath("big");
  ASSERT_EQ(ErrName(big), "OK");
  auto entries = client_->ReadDir(big->first);
  ASSERT_EQ(ErrName(entries), "OK");
  ASSERT_EQ(entries->size(), static_cast<size_t>(kBigDirEntries));
  std::set<std::string> names;
  for (const DirEntry& e : *entries) names.insert(e.name);
  EXPECT_EQ(names.size(), entries->size()) << "duplicate entries";
  for (int i = 0; i < kBigDirEntries; ++i) {
    ASSERT_TRUE(names.count(BigEntryName(i))) << BigEntryName(i);
  }
  for (const DirEntry& e : *entries) {
    int index = std::stoi(e.name.substr(e.name.rfind('_') + 1));
    EXPECT_EQ(e.type, index % 10 == 0 ? DT_DIR : DT_REG) << e.name;
  }
}

TEST_F(GoferTest, ReadDirOfAnEmptyDirectoryIsEmpty) {
  std::filesystem::create_directory(Tree().rw + "/empty");
  auto dir = WalkPath("empty", 1);
  ASSERT_EQ(ErrName(dir), "OK");
  auto entries = client_->ReadDir(dir->first);
  ASSERT_EQ(ErrName(entries), "OK");
  EXPECT_TRUE(entries->empty());
}

TEST_F(GoferTest, ReadDirOfAFileIsEnotdir) {
  auto file = WalkPath("file.txt");
  ASSERT_EQ(ErrName(file), "OK");
  EXPECT_EQ(ErrName(client_->ReadDir(file->first)), "ENOTDIR");
}

// ---- StatFs and Clunk ----

TEST_F(GoferTest, StatFsMatchesTheHost) {
  auto root = client_->Attach(0);
  ASSERT_EQ(ErrName(root), "OK");
  auto got = client_->StatFs(root->first);
  ASSERT_EQ(ErrName(got), "OK");
  struct statfs want;
  ASSERT_EQ(::statfs(Tree().ro.c_str(), &want), 0);
  EXPECT_EQ(got->f_type, want.f_type);
  EXPECT_EQ(got->f_bsize, want.f_bsize);
  EXPECT_EQ(got->f_blocks, want.f_blocks);
  EXPECT_EQ(got->f_namelen, want.f_namelen);
}

TEST_F(GoferTest, ClunkedFidIsEbadf) {
  auto file = WalkPath("file.txt");
  ASSERT_EQ(ErrName(file), "OK");
  client_->Clunk(file->first);
  EXPECT_EQ(ErrName(client_->GetAttr(file->first)), "EBADF");
  client_->Clunk(file->first);  // twice: ignored
}

TEST_F(GoferTest, ChildFidsOutliveTheirClunkedParent) {
  auto dir = WalkPath("dir");
  ASSERT_EQ(ErrName(dir), "OK");
  auto file = client_->Walk(dir->first, "nested.txt");
  ASSERT_EQ(ErrName(file), "OK");
  client_->Clunk(dir->first);
  auto fd = client_->Open(file->first, O_RDONLY);
  ASSERT_EQ(ErrName(fd), "OK");
  EXPECT_EQ(ReadAll(fd->get()), "nested\n");
}

// ---- Concurrency ----

TEST_F(GoferTest, ConcurrentCallsFromFourThreads) {
  auto root = client_->Attach(0);
  ASSERT_EQ(ErrName(root), "OK");
  std::atomic<int> failures = 0;
  auto worker = [&] {
    for (int i = 0; i < 200; ++i) {
      auto file = client_->Walk(root->first, "file.txt");
      if (!file) { ++failures; continue; }
      auto attr = client_->GetAttr(file->first);
      auto fd = client_->Open(file->first, O_RDONLY);
      if (!attr || attr->size != static_cast<int64_t>(kFileContent.size()) || !fd ||
          ReadAll(fd->get()) != kFileContent) {
        ++failures;
      }
      if (i % 20 == 0) {
        auto entries = client_->ReadDir(root->first);
        if (!entries || entries->size() != 7) ++failures;
      }
      client_->Clunk(file->first);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace husk::gofer::testing
