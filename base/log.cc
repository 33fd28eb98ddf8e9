#include "base/log.h"

#include <fmt/format.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace husk {
namespace {

std::atomic<int> g_fd{-1};
std::atomic<int> g_level{static_cast<int>(LogLevel::kOff)};
std::string g_program = "husk";

void WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

void SetLogSink(int fd, LogLevel level) {
  g_fd = fd;
  g_level = static_cast<int>(level);
}

bool LogEnabled(LogLevel level) {
  return g_fd.load(std::memory_order_relaxed) >= 0 &&
         static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void LogLine(LogLevel level, std::string_view text) {
  static constexpr char kLetters[] = "DIWE";
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  std::string line = fmt::format("{}{}.{:06} {}] {}\n", kLetters[static_cast<int>(level)],
                                 ts.tv_sec, ts.tv_nsec / 1000,
                                 static_cast<long>(syscall(SYS_gettid)), text);
  WriteAll(g_fd, line);
}

void SetProgramName(std::string_view name) { g_program = std::string(name); }

void Die(int status, std::string_view message) {
  WriteAll(2, fmt::format("{}: {}\n", g_program, message));
  std::_Exit(status);
}

}  // namespace husk
