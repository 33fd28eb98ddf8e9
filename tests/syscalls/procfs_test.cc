// procfs (man 5 proc): what /proc says of the calling process, its
// children and threads agrees with the system calls, and the system-wide
// files agree with sysinfo(2), uname(2) and the CPU affinity.

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::RunInChild;
using husk_test::SleepMs;

// The whole of a (small) file, by read(2) until EOF; "" if it cannot be opened.
std::string ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

std::string ReadLink(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof(buf));
  if (n < 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// The value of "Key:\tvalue" in a status-like file.
std::string Field(const std::string& text, const std::string& key) {
  for (const auto& line : Lines(text)) {
    if (line.rfind(key + ":", 0) == 0) {
      size_t i = key.size() + 1;
      while (i < line.size() && (line[i] == '\t' || line[i] == ' ')) ++i;
      return line.substr(i);
    }
  }
  return "";
}

// The fields of /proc/[pid]/stat after "(comm)", numbered as in proc(5):
// [3] is the state, [4] the ppid ...; [1] is the pid and [2] the comm.
std::vector<std::string> StatFields(const std::string& text) {
  std::vector<std::string> f(3);
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return {};
  f[1] = text.substr(0, open - 1);
  f[2] = text.substr(open + 1, close - open - 1);
  std::istringstream in(text.substr(close + 2));
  std::string w;
  while (in >> w) f.push_back(w);
  return f;
}

// The value of "key value" in /proc/stat.
std::string StatValue(const std::string& key) {
  for (const auto& line : Lines(ReadFile("/proc/stat"))) {
    if (line.rfind(key + " ", 0) == 0) return line.substr(key.size() + 1);
  }
  return "";
}

std::set<std::string> DirNames(const std::string& path) {
  std::set<std::string> out;
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) out.insert(e->d_name);
  closedir(d);
  return out;
}

pid_t Gettid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// A temporary file holding `content`; removed with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/procfs_test_XXXXXX";
    fd_ = mkstemp(name);
    path_ = name;
    if (fd_ >= 0 && !content.empty()) (void)!write(fd_, content.data(), content.size());
  }
  ~TempFile() {
    if (fd_ >= 0) close(fd_);
    unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// A child that execs `argv` with `envp`; returns once the exec is done.
pid_t SpawnExec(const std::vector<const char*>& argv, const std::vector<const char*>& envp) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    std::vector<char*> a, e;
    for (const char* s : argv) a.push_back(const_cast<char*>(s));
    a.push_back(nullptr);
    for (const char* s : envp) e.push_back(const_cast<char*>(s));
    e.push_back(nullptr);
    execve(a[0], a.data(), e.data());
    _exit(127);
  }
  close(p[1]);
  char c;
  (void)!read(p[0], &c, 1);  // EOF: the exec closed the write end
  close(p[0]);
  return pid;
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// --- /proc/self and /proc/thread-self ---

TEST(ProcSelf, LinkNamesTheCallersPid) {
  EXPECT_EQ(ReadLink("/proc/self"), std::to_string(getpid()));
}

TEST(ProcSelf, ThreadSelfNamesTheCallingThread) {
  EXPECT_EQ(ReadLink("/proc/thread-self"), std::to_string(getpid()) + "/task/" + std::to_string(Gettid()));
}

TEST(ProcSelf, DirectoryHasTheUsualFiles) {
  auto names = DirNames("/proc/self");
  for (const char* n : {"stat", "status", "statm", "maps", "cmdline", "environ", "comm", "exe",
                        "cwd", "root", "fd", "fdinfo", "limits", "mounts", "mountinfo", "task",
                        "cgroup", "oom_score_adj"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
}

// --- stat and status ---

TEST(ProcStat, FieldsMatchTheSyscalls) {
  auto f = StatFields(ReadFile("/proc/self/stat"));
  ASSERT_GE(f.size(), 53u);
  EXPECT_EQ(f[1], std::to_string(getpid()));
  char comm[16] = {};
  prctl(PR_GET_NAME, comm);
  EXPECT_EQ(f[2], comm);
  EXPECT_EQ(f[3], "R");
  EXPECT_EQ(f[4], std::to_string(getppid()));
  EXPECT_EQ(f[5], std::to_string(getpgrp()));
  EXPECT_EQ(f[6], std::to_string(getsid(0)));
  EXPECT_EQ(f[19], std::to_string(getpriority(PRIO_PROCESS, 0)));  // nice
  EXPECT_EQ(f[20], "1");                                           // num_threads
  EXPECT_EQ(f[38], "17");                                          // exit_signal (SIGCHLD)
}

TEST(ProcStat, StartTimeIsBeforeNow) {
  auto f = StatFields(ReadFile("/proc/self/stat"));
  ASSERT_GE(f.size(), 23u);
  double uptime = atof(ReadFile("/proc/uptime").c_str());
  const long ticks = sysconf(_SC_CLK_TCK);
  EXPECT_LE(atof(f[22].c_str()) / static_cast<double>(ticks), uptime + 1);
  EXPECT_GT(atoll(f[23].c_str()), 0);  // vsize
  EXPECT_GT(atoll(f[24].c_str()), 0);  // rss
}

TEST(ProcStatus, IdsMatchTheSyscalls) {
  std::string s = ReadFile("/proc/self/status");
  char comm[16] = {};
  prctl(PR_GET_NAME, comm);
  EXPECT_EQ(Field(s, "Name"), comm);
  EXPECT_EQ(Field(s, "State"), "R (running)");
  EXPECT_EQ(Field(s, "Tgid"), std::to_string(getpid()));
  EXPECT_EQ(Field(s, "Pid"), std::to_string(Gettid()));
  EXPECT_EQ(Field(s, "PPid"), std::to_string(getppid()));
  uid_t r, e, sv;
  getresuid(&r, &e, &sv);
  const uid_t fs = static_cast<uid_t>(setfsuid(static_cast<uid_t>(-1)));
  EXPECT_EQ(Field(s, "Uid"), std::to_string(r) + "\t" + std::to_string(e) + "\t" +
                                 std::to_string(sv) + "\t" + std::to_string(fs));
  gid_t gr, ge, gs;
  getresgid(&gr, &ge, &gs);
  const gid_t gfs = static_cast<gid_t>(setfsgid(static_cast<gid_t>(-1)));
  EXPECT_EQ(Field(s, "Gid"), std::to_string(gr) + "\t" + std::to_string(ge) + "\t" +
                                 std::to_string(gs) + "\t" + std::to_string(gfs));
  EXPECT_EQ(Field(s, "Threads"), "1");
  EXPECT_EQ(Field(s, "NoNewPrivs"), std::to_string(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)));
}

TEST(ProcStatus, MemoryLinesArePlausible) {
  std::string s = ReadFile("/proc/self/status");
  const long size = atol(Field(s, "VmSize").c_str());
  const long rss = atol(Field(s, "VmRSS").c_str());
  EXPECT_GT(size, 0);
  EXPECT_GT(rss, 0);
  EXPECT_LE(rss, size);
  EXPECT_NE(Field(s, "VmStk"), "");
  EXPECT_NE(Field(s, "VmData"), "");
}

TEST(ProcStatus, CapabilitiesMatchCapget) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  ASSERT_EQ(syscall(SYS_capget, &hdr, data), 0);
  auto hex = [](uint32_t lo, uint32_t hi) {
    char buf[17];
    snprintf(buf, sizeof(buf), "%016llx", (static_cast<unsigned long long>(hi) << 32) | lo);
    return std::string(buf);
  };
  std::string s = ReadFile("/proc/self/status");
  EXPECT_EQ(Field(s, "CapEff"), hex(data[0].effective, data[1].effective));
  EXPECT_EQ(Field(s, "CapPrm"), hex(data[0].permitted, data[1].permitted));
  EXPECT_EQ(Field(s, "CapInh"), hex(data[0].inheritable, data[1].inheritable));
}

TEST(ProcStatus, SignalMasksMatchTheDispositions) {
  RunInChild([] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    signal(SIGUSR2, SIG_IGN);
    signal(SIGHUP, [](int) {});
    raise(SIGUSR1);  // pending and blocked
    std::string s = ReadFile("/proc/self/status");
    auto bit = [](int sig) { return 1ULL << (sig - 1); };
    const unsigned long long blk = strtoull(Field(s, "SigBlk").c_str(), nullptr, 16);
    const unsigned long long ign = strtoull(Field(s, "SigIgn").c_str(), nullptr, 16);
    const unsigned long long cgt = strtoull(Field(s, "SigCgt").c_str(), nullptr, 16);
    const unsigned long long pnd = strtoull(Field(s, "SigPnd").c_str(), nullptr, 16) |
                                   strtoull(Field(s, "ShdPnd").c_str(), nullptr, 16);
    EXPECT_TRUE(blk & bit(SIGUSR1)) << s;
    EXPECT_TRUE(ign & bit(SIGUSR2)) << s;
    EXPECT_TRUE(cgt & bit(SIGHUP)) << s;
    EXPECT_TRUE(pnd & bit(SIGUSR1)) << s;
  });
}

TEST(ProcStatus, CpusAllowedListMatchesAffinity) {
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  std::string list = Field(ReadFile("/proc/self/status"), "Cpus_allowed_list");
  int count = 0;
  for (const auto& range : Lines(std::regex_replace(list, std::regex(","), "\n"))) {
    int a = 0, b = 0;
    if (sscanf(range.c_str(), "%d-%d", &a, &b) == 2) {
      count += b - a + 1;
    } else {
      count += 1;
    }
  }
  EXPECT_EQ(count, CPU_COUNT(&set)) << list;
}

TEST(ProcStatm, SevenFieldsSizeAboveResident) {
  std::istringstream in(ReadFile("/proc/self/statm"));
  std::vector<long> v;
  long x;
  while (in >> x) v.push_back(x);
  ASSERT_EQ(v.size(), 7u);
  EXPECT_GE(v[0], v[1]);
  EXPECT_GT(v[1], 0);
}

// --- maps ---

// The maps line of the mapping that starts at `addr`.
std::string MapsLineAt(const void* addr) {
  char prefix[32];
  snprintf(prefix, sizeof(prefix), "%08lx-", reinterpret_cast<unsigned long>(addr));
  for (const auto& line : Lines(ReadFile("/proc/self/maps"))) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

TEST(ProcMaps, EveryLineHasTheLinuxFormat) {
  const std::regex re("^[0-9a-f]{8,16}-[0-9a-f]{8,16} [r-][w-][x-][ps] [0-9a-f]{8} [0-9a-f]{2,}:[0-9a-f]{2,} [0-9]+ ( +.*)?$");
  auto lines = Lines(ReadFile("/proc/self/maps"));
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) EXPECT_TRUE(std::regex_match(line, re)) << line;
}

TEST(ProcMaps, NamesTheStackAndTheVdso) {
  std::string maps = ReadFile("/proc/self/maps");
  EXPECT_NE(maps.find("[stack]"), std::string::npos);
  EXPECT_NE(maps.find("[vdso]"), std::string::npos);
}

TEST(ProcMaps, ShowsANewAnonymousMapping) {
  void* p = mmap(nullptr, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  std::string line = MapsLineAt(p);
  char end[32];
  snprintf(end, sizeof(end), "-%08lx ", reinterpret_cast<unsigned long>(p) + 3 * 4096);
  EXPECT_NE(line.find(end), std::string::npos) << line;
  EXPECT_NE(line.find(" r--p 00000000 00:00 0"), std::string::npos) << line;
  munmap(p, 3 * 4096);
  EXPECT_EQ(MapsLineAt(p), "");
}

TEST(ProcMaps, ShowsAFileMappingWithItsOffsetAndPath) {
  TempFile f(std::string(3 * 4096, 'x'));
  struct stat st;
  ASSERT_EQ(fstat(f.fd(), &st), 0);
  void* p = mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, f.fd(), 4096);
  ASSERT_NE(p, MAP_FAILED);
  std::string line = MapsLineAt(p);
  EXPECT_NE(line.find(" rw-p 00001000 "), std::string::npos) << line;
  EXPECT_NE(line.find(" " + std::to_string(st.st_ino) + " "), std::string::npos) << line;
  char* real = realpath(f.path().c_str(), nullptr);
  ASSERT_NE(real, nullptr);
  EXPECT_TRUE(line.size() > strlen(real) && line.compare(line.size() - strlen(real), strlen(real), real) == 0)
      << line;
  free(real);
  munmap(p, 2 * 4096);
}

TEST(ProcMaps, MprotectSplitsTheLine) {
  void* p = mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_EQ(mprotect(static_cast<char*>(p) + 4096, 4096, PROT_NONE), 0);
  EXPECT_NE(MapsLineAt(p).find(" rw-p "), std::string::npos);
  EXPECT_NE(MapsLineAt(static_cast<char*>(p) + 4096).find(" ---p "), std::string::npos);
  munmap(p, 2 * 4096);
}

TEST(ProcSmaps, HasSizeRssAndFlags) {
  std::string s = ReadFile("/proc/self/smaps");
  EXPECT_NE(s.find("\nSize:"), std::string::npos);
  EXPECT_NE(s.find("\nRss:"), std::string::npos);
  EXPECT_NE(s.find("\nVmFlags:"), std::string::npos);
}

// --- fd and fdinfo ---

TEST(ProcFd, ListsAnOpenFdAndItsPath) {
  TempFile f("hello");
  auto names = DirNames("/proc/self/fd");
  EXPECT_TRUE(names.count(std::to_string(f.fd())));
  char* real = realpath(f.path().c_str(), nullptr);
  ASSERT_NE(real, nullptr);
  EXPECT_EQ(ReadLink("/proc/self/fd/" + std::to_string(f.fd())), real);
  free(real);
}

TEST(ProcFd, ClosedFdIsGone) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  EXPECT_EQ(ReadLink(path), "/dev/null");
  close(fd);
  struct stat st;
  EXPECT_FAILS_WITH(lstat(path.c_str(), &st), ENOENT);
}

TEST(ProcFd, LinkModeFollowsTheAccessMode) {
  int r = open("/dev/null", O_RDONLY);
  int w = open("/dev/null", O_WRONLY);
  struct stat st;
  ASSERT_EQ(lstat(("/proc/self/fd/" + std::to_string(r)).c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0500u);
  ASSERT_EQ(lstat(("/proc/self/fd/" + std::to_string(w)).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0300u);
  close(r);
  close(w);
}

TEST(ProcFd, PipeIsNamedByItsInode) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  struct stat st;
  ASSERT_EQ(fstat(p[0], &st), 0);
  EXPECT_EQ(ReadLink("/proc/self/fd/" + std::to_string(p[0])), "pipe:[" + std::to_string(st.st_ino) + "]");
  close(p[0]);
  close(p[1]);
}

TEST(ProcFd, OpeningAPipesLinkOpensTheSamePipe) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  int w = open(("/proc/self/fd/" + std::to_string(p[1])).c_str(), O_WRONLY);
  ASSERT_GE(w, 0) << strerror(errno);
  ASSERT_EQ(write(w, "x", 1), 1);
  char c = 0;
  ASSERT_EQ(read(p[0], &c, 1), 1);
  EXPECT_EQ(c, 'x');
  // The read end reopened after the writers are gone does not wait.
  close(w);
  close(p[1]);
  int r = open(("/proc/self/fd/" + std::to_string(p[0])).c_str(), O_RDONLY);
  ASSERT_GE(r, 0) << strerror(errno);
  EXPECT_EQ(read(r, &c, 1), 0);
  close(r);
  close(p[0]);
}

TEST(ProcFd, OpeningAFilesLinkIsANewOpenFile) {
  TempFile f("0123456789");
  ASSERT_EQ(lseek(f.fd(), 5, SEEK_SET), 5);
  int fd = open(("/proc/self/fd/" + std::to_string(f.fd())).c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 0);
  char buf[4] = {};
  EXPECT_EQ(read(fd, buf, 3), 3);
  EXPECT_STREQ(buf, "012");
  close(fd);
}

TEST(ProcFd, DeletedFileIsMarked) {
  TempFile f("x");
  char* real = realpath(f.path().c_str(), nullptr);
  ASSERT_NE(real, nullptr);
  ASSERT_EQ(unlink(f.path().c_str()), 0);
  EXPECT_EQ(ReadLink("/proc/self/fd/" + std::to_string(f.fd())), std::string(real) + " (deleted)");
  // It can still be opened through the link.
  int fd = open(("/proc/self/fd/" + std::to_string(f.fd())).c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  char c = 0;
  EXPECT_EQ(read(fd, &c, 1), 1);
  EXPECT_EQ(c, 'x');
  close(fd);
  free(real);
}

TEST(ProcFd, DevFdIsProcSelfFd) {
  EXPECT_EQ(ReadLink("/dev/fd"), "/proc/self/fd");
  EXPECT_EQ(ReadLink("/dev/stdin"), "/proc/self/fd/0");
  EXPECT_EQ(ReadLink("/dev/stderr"), "/proc/self/fd/2");
  TempFile f("abc");
  int fd = open(("/dev/fd/" + std::to_string(f.fd())).c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  char buf[4] = {};
  EXPECT_EQ(read(fd, buf, 3), 3);
  EXPECT_STREQ(buf, "abc");
  close(fd);
}

TEST(ProcFd, EventfdIsAnAnonInode) {
  int fd = static_cast<int>(syscall(SYS_eventfd2, 0, 0));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(ReadLink("/proc/self/fd/" + std::to_string(fd)), "anon_inode:[eventfd]");
  close(fd);
}

TEST(ProcFdinfo, ShowsPositionAndFlags) {
  TempFile f("0123456789");
  int fd = open(f.path().c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(lseek(fd, 7, SEEK_SET), 7);
  std::string s = ReadFile("/proc/self/fdinfo/" + std::to_string(fd));
  EXPECT_EQ(Field(s, "pos"), "7");
  const unsigned long flags = strtoul(Field(s, "flags").c_str(), nullptr, 8);
  EXPECT_EQ(flags & ~0100000ul, static_cast<unsigned long>(O_RDWR | O_APPEND | O_CLOEXEC)) << s;
  EXPECT_NE(Field(s, "mnt_id"), "");
  close(fd);
}

// --- cmdline, environ, comm, exe, cwd ---

TEST(ProcCmdline, OwnStartsWithArgv0) {
  std::string cmdline = ReadFile("/proc/self/cmdline");
  EXPECT_EQ(cmdline.substr(0, strlen(program_invocation_name) + 1),
            std::string(program_invocation_name) + std::string(1, '\0'));
  EXPECT_EQ(cmdline.back(), '\0');
}

TEST(ProcCmdline, EqualsTheArgvOfAnExec) {
  pid_t pid = SpawnExec({"/bin/sleep", "10", "1"}, {"A=1", "B=two words"});
  ASSERT_GT(pid, 0);
  const std::string dir = "/proc/" + std::to_string(pid);
  EXPECT_EQ(ReadFile(dir + "/cmdline"), std::string("/bin/sleep\0" "10\0" "1\0", 16));
  EXPECT_EQ(ReadFile(dir + "/environ"), std::string("A=1\0B=two words\0", 16));
  EXPECT_EQ(ReadFile(dir + "/comm"), "sleep\n");
  auto f = StatFields(ReadFile(dir + "/stat"));
  ASSERT_GE(f.size(), 5u);
  EXPECT_EQ(f[2], "sleep");
  EXPECT_EQ(f[4], std::to_string(getpid()));
  KillAndReap(pid);
}

TEST(ProcEnviron, OwnHoldsTheEnvironment) {
  std::string env = ReadFile("/proc/self/environ");
  // What the process was started with: PATH, if it was given one.
  if (const char* path = getenv("PATH")) {
    EXPECT_NE(env.find(std::string("PATH=") + path + std::string(1, '\0')), std::string::npos);
  }
}

TEST(ProcEnviron, AnotherUsersIsUnreadable) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to become another user";
  const pid_t parent = getpid();
  RunInChild([parent] {
    ASSERT_EQ(setresuid(65534, 65534, 65534), 0);
    const std::string dir = "/proc/" + std::to_string(parent);
    EXPECT_FAILS_WITH(open((dir + "/environ").c_str(), O_RDONLY), EACCES);
    EXPECT_FAILS_WITH(open((dir + "/mem").c_str(), O_RDONLY), EACCES);
    // What anyone may read stays readable.
    EXPECT_NE(ReadFile(dir + "/status"), "");
    EXPECT_NE(ReadFile(dir + "/cmdline"), "");
  });
}

TEST(ProcComm, WriteRenamesTheThread) {
  RunInChild([] {
    int fd = open("/proc/self/comm", O_WRONLY);
    ASSERT_GE(fd, 0) << strerror(errno);
    ASSERT_EQ(write(fd, "renamed", 7), 7);
    close(fd);
    char comm[16] = {};
    prctl(PR_GET_NAME, comm);
    EXPECT_STREQ(comm, "renamed");
    EXPECT_EQ(ReadFile("/proc/self/comm"), "renamed\n");
    EXPECT_EQ(StatFields(ReadFile("/proc/self/stat"))[2], "renamed");
  });
}

TEST(ProcComm, LongNamesAreCut) {
  RunInChild([] {
    int fd = open("/proc/self/comm", O_WRONLY);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(write(fd, "abcdefghijklmnopqrstuvwxyz", 26), 26);
    close(fd);
    EXPECT_EQ(ReadFile("/proc/self/comm"), "abcdefghijklmno\n");
  });
}

TEST(ProcExe, LinkLeadsToTheExecutable) {
  std::string exe = ReadLink("/proc/self/exe");
  ASSERT_FALSE(exe.empty());
  EXPECT_EQ(exe[0], '/');
  struct stat a, b;
  ASSERT_EQ(stat(exe.c_str(), &a), 0);
  ASSERT_EQ(stat("/proc/self/exe", &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_dev, b.st_dev);
}

TEST(ProcCwd, LinkFollowsChdir) {
  RunInChild([] {
    ASSERT_EQ(chdir("/usr"), 0);
    char* real = realpath("/usr", nullptr);
    EXPECT_EQ(ReadLink("/proc/self/cwd"), real);
    free(real);
    EXPECT_EQ(ReadLink("/proc/self/root"), "/");
  });
}

// --- limits, oom_score_adj, cgroup, loginuid, mounts ---

TEST(ProcLimits, ReflectsSetrlimit) {
  RunInChild([] {
    rlimit r{100, 200};
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &r), 0);
    std::string limits = ReadFile("/proc/self/limits");
    auto lines = Lines(limits);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0], "Limit                     Soft Limit           Hard Limit           Units     ");
    EXPECT_NE(limits.find("\nMax open files            100                  200                  files     \n"),
              std::string::npos)
        << limits;
  });
}

TEST(ProcOomScoreAdj, WriteThenRead) {
  RunInChild([] {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY);
    ASSERT_GE(fd, 0) << strerror(errno);
    EXPECT_EQ(write(fd, "500\n", 4), 4);
    close(fd);
    EXPECT_EQ(ReadFile("/proc/self/oom_score_adj"), "500\n");
    fd = open("/proc/self/oom_score_adj", O_WRONLY);
    EXPECT_FAILS_WITH(write(fd, "5000", 4), EINVAL);
    close(fd);
  });
}

TEST(ProcCgroup, HasTheUnifiedHierarchyLine) {
  bool found = false;
  for (const auto& line : Lines(ReadFile("/proc/self/cgroup"))) found |= line.rfind("0::/", 0) == 0;
  EXPECT_TRUE(found);
}

TEST(ProcLoginuid, IsANumber) {
  std::string s = ReadFile("/proc/self/loginuid");
  ASSERT_FALSE(s.empty());
  EXPECT_TRUE(std::regex_match(s, std::regex("[0-9]+\n?")));
}

TEST(ProcMounts, ShowsTheRootAndProc) {
  std::string mounts = ReadFile("/proc/self/mounts");
  bool root = false, proc = false;
  for (const auto& line : Lines(mounts)) {
    std::istringstream in(line);
    std::string src, where, type, opts;
    in >> src >> where >> type >> opts;
    root |= where == "/";
    proc |= where == "/proc" && type == "proc";
  }
  EXPECT_TRUE(root) << mounts;
  EXPECT_TRUE(proc) << mounts;
  EXPECT_EQ(ReadLink("/proc/mounts"), "self/mounts");
}

TEST(ProcMountinfo, EveryLineHasTheSeparator) {
  std::string info = ReadFile("/proc/self/mountinfo");
  auto lines = Lines(info);
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) {
    EXPECT_TRUE(std::regex_search(line, std::regex("^[0-9]+ [0-9]+ [0-9]+:[0-9]+ /[^ ]* /[^ ]* [^ ]+.* - [^ ]+ [^ ]+ [^ ]+")))
        << line;
  }
}

// --- Other processes and threads ---

TEST(ProcPid, ChildAppearsThenVanishes) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    pause();
    _exit(0);
  }
  const std::string dir = "/proc/" + std::to_string(pid);
  struct stat st;
  EXPECT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_TRUE(DirNames("/proc").count(std::to_string(pid)));
  auto f = StatFields(ReadFile(dir + "/stat"));
  ASSERT_GE(f.size(), 5u);
  EXPECT_EQ(f[1], std::to_string(pid));
  EXPECT_EQ(f[4], std::to_string(getpid()));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  // A zombie until it is waited for.
  std::string state;
  for (int i = 0; i < 500 && state != "Z"; ++i) {
    auto z = StatFields(ReadFile(dir + "/stat"));
    state = z.size() > 3 ? z[3] : "";
    if (state != "Z") SleepMs(10);
  }
  EXPECT_EQ(state, "Z");
  EXPECT_EQ(waitpid(pid, nullptr, 0), pid);
  EXPECT_FAILS_WITH(stat(dir.c_str(), &st), ENOENT);
  EXPECT_FAILS_WITH(open((dir + "/stat").c_str(), O_RDONLY), ENOENT);
  EXPECT_FALSE(DirNames("/proc").count(std::to_string(pid)));
}

// The state letter of process `pid` once it is `want`, or what it was
// after a few seconds.
std::string AwaitState(pid_t pid, const std::string& want) {
  std::string state;
  for (int i = 0; i < 300 && state != want; ++i) {
    auto f = StatFields(ReadFile("/proc/" + std::to_string(pid) + "/stat"));
    state = f.size() > 3 ? f[3] : "";
    if (state != want) SleepMs(10);
  }
  return state;
}

TEST(ProcPid, StateFollowsSleepAndStop) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    pause();
    _exit(0);
  }
  EXPECT_EQ(AwaitState(pid, "S"), "S");
  EXPECT_EQ(Field(ReadFile("/proc/" + std::to_string(pid) + "/status"), "State"), "S (sleeping)");
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, WUNTRACED), pid);
  EXPECT_EQ(AwaitState(pid, "T"), "T");
  EXPECT_EQ(Field(ReadFile("/proc/" + std::to_string(pid) + "/status"), "State"), "T (stopped)");
  KillAndReap(pid);
}

TEST(ProcPid, OtherProcessCwdAndExe) {
  pid_t pid = SpawnExec({"/bin/sleep", "10"}, {});
  ASSERT_GT(pid, 0);
  const std::string dir = "/proc/" + std::to_string(pid);
  char* cwd = getcwd(nullptr, 0);
  EXPECT_EQ(ReadLink(dir + "/cwd"), cwd);
  free(cwd);
  char* sleep = realpath("/bin/sleep", nullptr);
  EXPECT_EQ(ReadLink(dir + "/exe"), sleep);
  free(sleep);
  EXPECT_TRUE(DirNames(dir + "/fd").count("0"));
  KillAndReap(pid);
}

TEST(ProcMem, ReadsAndWritesOwnMemory) {
  static volatile char word[8] = "abcdefg";
  int fd = open("/proc/self/mem", O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  char buf[8] = {};
  ASSERT_EQ(pread(fd, buf, 7, reinterpret_cast<off_t>(word)), 7);
  EXPECT_STREQ(buf, "abcdefg");
  ASSERT_EQ(pwrite(fd, "XY", 2, reinterpret_cast<off_t>(word) + 1), 2);
  EXPECT_EQ(word[1], 'X');
  EXPECT_EQ(word[2], 'Y');
  close(fd);
}

TEST(ProcPid, OpenFileOfAGoneProcessFails) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    pause();
    _exit(0);
  }
  int fd = open(("/proc/" + std::to_string(pid) + "/status").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  KillAndReap(pid);
  char buf[64];
  EXPECT_FAILS_WITH(read(fd, buf, sizeof(buf)), ESRCH);
  close(fd);
}

TEST(ProcPid, NoSuchPidIsEnoent) {
  struct stat st;
  EXPECT_FAILS_WITH(stat("/proc/999999999", &st), ENOENT);
  EXPECT_FAILS_WITH(stat("/proc/notapid", &st), ENOENT);
}

TEST(ProcPid, ReaddirListsOnlyLiveProcesses) {
  int pids = 0;
  for (const auto& name : DirNames("/proc")) {
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    ++pids;
    const pid_t pid = atoi(name.c_str());
    EXPECT_TRUE(kill(pid, 0) == 0 || errno == EPERM) << name;
  }
  EXPECT_GE(pids, 1);
  EXPECT_TRUE(DirNames("/proc").count(std::to_string(getpid())));
}

TEST(ProcTask, ListsANewThread) {
  std::atomic<pid_t> tid{0};
  std::atomic<bool> done{false};
  pthread_t t;
  struct Args {
    std::atomic<pid_t>* tid;
    std::atomic<bool>* done;
  } args{&tid, &done};
  ASSERT_EQ(pthread_create(&t, nullptr, [](void* p) -> void* {
              auto* a = static_cast<Args*>(p);
              prctl(PR_SET_NAME, "procfs-worker");
              a->tid->store(Gettid());
              while (!a->done->load()) SleepMs(5);
              return nullptr;
            }, &args), 0);
  while (tid.load() == 0) SleepMs(1);
  const std::string me = std::to_string(getpid());
  const std::string id = std::to_string(tid.load());
  auto tasks = DirNames("/proc/self/task");
  EXPECT_TRUE(tasks.count(me));
  EXPECT_TRUE(tasks.count(id));
  const std::string dir = "/proc/self/task/" + id;
  EXPECT_EQ(ReadFile(dir + "/comm"), "procfs-worker\n");
  std::string status = ReadFile(dir + "/status");
  EXPECT_EQ(Field(status, "Pid"), id);
  EXPECT_EQ(Field(status, "Tgid"), me);
  EXPECT_EQ(Field(status, "Threads"), "2");
  auto f = StatFields(ReadFile(dir + "/stat"));
  ASSERT_GE(f.size(), 21u);
  EXPECT_EQ(f[1], id);
  EXPECT_EQ(f[20], "2");
  EXPECT_EQ(Field(ReadFile("/proc/self/status"), "Threads"), "2");
  done.store(true);
  pthread_join(t, nullptr);
}

// --- The system ---

TEST(ProcMeminfo, AgreesWithSysinfo) {
  struct sysinfo si;
  ASSERT_EQ(sysinfo(&si), 0);
  std::string m = ReadFile("/proc/meminfo");
  const unsigned long long total = strtoull(Field(m, "MemTotal").c_str(), nullptr, 10);
  const unsigned long long free = strtoull(Field(m, "MemFree").c_str(), nullptr, 10);
  EXPECT_EQ(total, static_cast<unsigned long long>(si.totalram) * si.mem_unit / 1024);
  EXPECT_LE(free, total);
  EXPECT_NE(Field(m, "MemAvailable"), "");
  EXPECT_NE(Field(m, "SwapTotal"), "");
}

TEST(ProcUptime, AgreesWithSysinfoAndBtime) {
  struct sysinfo si;
  ASSERT_EQ(sysinfo(&si), 0);
  double up = 0, idle = 0;
  ASSERT_EQ(sscanf(ReadFile("/proc/uptime").c_str(), "%lf %lf", &up, &idle), 2);
  EXPECT_NEAR(up, static_cast<double>(si.uptime), 2.0);
  EXPECT_GE(idle, 0);
  const long btime = atol(StatValue("btime").c_str());
  EXPECT_NEAR(static_cast<double>(btime) + up, static_cast<double>(time(nullptr)), 2.0);
}

TEST(ProcStatSystem, HasACpuLinePerOnlineCpu) {
  int cpus = 0;
  bool total = false;
  for (const auto& line : Lines(ReadFile("/proc/stat"))) {
    if (line.rfind("cpu ", 0) == 0) total = true;
    if (line.size() > 3 && line.rfind("cpu", 0) == 0 && isdigit(line[3])) ++cpus;
  }
  EXPECT_TRUE(total);
  EXPECT_EQ(cpus, sysconf(_SC_NPROCESSORS_ONLN));
  EXPECT_NE(StatValue("processes"), "");
  EXPECT_NE(StatValue("procs_running"), "");
}

TEST(ProcLoadavg, HasFiveFields) {
  EXPECT_TRUE(std::regex_match(ReadFile("/proc/loadavg"),
                               std::regex("[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+/[0-9]+ [0-9]+\n")));
}

TEST(ProcCpuinfo, HasAProcessorPerOnlineCpu) {
  int n = 0;
  for (const auto& line : Lines(ReadFile("/proc/cpuinfo"))) n += line.rfind("processor", 0) == 0;
  EXPECT_EQ(n, sysconf(_SC_NPROCESSORS_ONLN));
}

TEST(ProcVersion, NamesTheRelease) {
  utsname u;
  ASSERT_EQ(uname(&u), 0);
  EXPECT_EQ(ReadFile("/proc/version").rfind(std::string("Linux version ") + u.release + " ", 0), 0u);
}

TEST(ProcSys, KernelFilesAgreeWithTheSyscalls) {
  utsname u;
  ASSERT_EQ(uname(&u), 0);
  EXPECT_EQ(ReadFile("/proc/sys/kernel/ostype"), "Linux\n");
  EXPECT_EQ(ReadFile("/proc/sys/kernel/osrelease"), std::string(u.release) + "\n");
  EXPECT_EQ(ReadFile("/proc/sys/kernel/hostname"), std::string(u.nodename) + "\n");
  EXPECT_GT(atol(ReadFile("/proc/sys/kernel/pid_max").c_str()), 0);
  EXPECT_GT(atol(ReadFile("/proc/sys/kernel/ngroups_max").c_str()), 0);
  EXPECT_GE(atol(ReadFile("/proc/sys/kernel/cap_last_cap").c_str()), CAP_AUDIT_READ);
  EXPECT_GT(atol(ReadFile("/proc/sys/fs/nr_open").c_str()), 0);
  EXPECT_GT(atol(ReadFile("/proc/sys/fs/pipe-max-size").c_str()), 0);
  EXPECT_NE(ReadFile("/proc/sys/fs/file-max"), "");
  EXPECT_NE(ReadFile("/proc/sys/vm/overcommit_memory"), "");
}

TEST(ProcSys, RandomUuidChangesBootIdDoesNot) {
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n");
  std::string a = ReadFile("/proc/sys/kernel/random/uuid");
  std::string b = ReadFile("/proc/sys/kernel/random/uuid");
  EXPECT_TRUE(std::regex_match(a, uuid)) << a;
  EXPECT_NE(a, b);
  std::string boot = ReadFile("/proc/sys/kernel/random/boot_id");
  EXPECT_TRUE(std::regex_match(boot, uuid)) << boot;
  EXPECT_EQ(boot, ReadFile("/proc/sys/kernel/random/boot_id"));
}

TEST(ProcRereading, SeekingBackShowsNewText) {
  int fd = open("/proc/self/status", O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[8192];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  ASSERT_GT(n, 0);
  buf[n] = 0;
  EXPECT_EQ(Field(buf, "Threads"), "1");
  pthread_t t;
  std::atomic<bool> done{false};
  ASSERT_EQ(pthread_create(&t, nullptr, [](void* p) -> void* {
              while (!static_cast<std::atomic<bool>*>(p)->load()) SleepMs(5);
              return nullptr;
            }, &done), 0);
  n = pread(fd, buf, sizeof(buf) - 1, 0);
  ASSERT_GT(n, 0);
  buf[n] = 0;
  EXPECT_EQ(Field(buf, "Threads"), "2");
  done.store(true);
  pthread_join(t, nullptr);
  close(fd);
}

TEST(Sysfs, CpuOnlineCoversTheAffinity) {
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  std::string online = ReadFile("/sys/devices/system/cpu/online");
  ASSERT_FALSE(online.empty());
  std::set<int> cpus;
  for (const auto& range : Lines(std::regex_replace(online, std::regex(","), "\n"))) {
    int a = 0, b = 0;
    int n = sscanf(range.c_str(), "%d-%d", &a, &b);
    if (n == 1) b = a;
    for (int c = a; n >= 1 && c <= b; ++c) cpus.insert(c);
  }
  EXPECT_EQ(static_cast<long>(cpus.size()), sysconf(_SC_NPROCESSORS_ONLN));
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) {
      EXPECT_TRUE(cpus.count(c)) << c;
    }
  }
  EXPECT_NE(ReadFile("/sys/devices/system/cpu/possible"), "");
}

}  // namespace
