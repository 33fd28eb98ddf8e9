// One fmt-based logger for the sentry, gofer and husk. Nothing is written to
// the application's stdout/stderr unless the user asked (--debug / --log).
#pragma once

#include <fmt/core.h>

#include <string_view>

namespace husk {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

// Sends log lines to host fd `fd` (-1: nowhere) at `level` and above.
void SetLogSink(int fd, LogLevel level);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, std::string_view text);

template <class... Args>
void Log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  if (!LogEnabled(level)) return;
  LogLine(level, fmt::format(f, std::forward<Args>(args)...));
}

#define HUSK_DEBUG(...) ::husk::Log(::husk::LogLevel::kDebug, __VA_ARGS__)
#define HUSK_INFO(...) ::husk::Log(::husk::LogLevel::kInfo, __VA_ARGS__)
#define HUSK_WARN(...) ::husk::Log(::husk::LogLevel::kWarning, __VA_ARGS__)
#define HUSK_ERROR(...) ::husk::Log(::husk::LogLevel::kError, __VA_ARGS__)

// Prints "PROGRAM: message" to stderr and exits with `status`. For the
// user-facing fatal errors of the command line tools.
[[noreturn]] void Die(int status, std::string_view message);
void SetProgramName(std::string_view name);

}  // namespace husk
