// ParseShebang: the "#!" line of a script, parsed exactly as Linux's
// load_script() in fs/binfmt_script.c (5.x+) does, quirks included, so that a
// script gets the same interpreter and argument under Husk as on Linux.
#include <algorithm>
#include <array>
#include <cstring>

#include "loader/loader.h"

namespace husk::loader {
namespace {

// BINPRM_BUF_SIZE: exec reads this much of a file to decide how to run it,
// and prepare_binprm() zero-fills whatever a short file does not cover.
constexpr size_t kBufSize = 256;
using Buf = std::array<char, kBufSize>;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// The kernel's next_non_spacetab(): first index in [first, last] (inclusive)
// that is not a space or tab.
std::optional<size_t> NextNonBlank(const Buf& buf, size_t first, size_t last) {
  for (size_t i = first; i <= last; ++i) {
    if (!IsBlank(buf[i])) return i;
  }
  return std::nullopt;
}

// The kernel's next_terminator(): first index in [first, last] holding a
// space, tab or NUL.
std::optional<size_t> NextTerminator(const Buf& buf, size_t first, size_t last) {
  for (size_t i = first; i <= last; ++i) {
    if (IsBlank(buf[i]) || buf[i] == '\0') return i;
  }
  return std::nullopt;
}

// The first newline, looking no further than the first NUL (the kernel's
// strnchr() stops there).
std::optional<size_t> FindNewline(const Buf& buf) {
  for (size_t i = 0; i < buf.size() && buf[i] != '\0'; ++i) {
    if (buf[i] == '\n') return i;
  }
  return std::nullopt;
}

// Index one past the end of the line's useful part. With no newline in the
// buffer the line may have been cut short; that is only acceptable if the
// interpreter path itself was not cut, i.e. something ends it before the
// buffer does. Arguments may be truncated: the interpreter re-reads the file.
Result<size_t> LineEnd(const Buf& buf) {
  if (std::optional<size_t> newline = FindNewline(buf)) return *newline;
  const size_t last = buf.size() - 1;
  std::optional<size_t> name = NextNonBlank(buf, 2, last);
  if (!name) return Errno(ENOEXEC);  // nothing but blanks
  if (!NextTerminator(buf, *name, last)) return Errno(ENOEXEC);  // path truncated
  // Quirk kept from Linux: the buffer's final byte is not part of the line.
  return last;
}

// The C string at `start`, which the kernel ends at `end` by writing a NUL
// there, or earlier at a NUL already in the buffer.
std::string CString(const Buf& buf, size_t start, size_t end) {
  const char* first = buf.data() + start;
  return std::string(first, std::find(first, buf.data() + end, '\0'));
}

}  // namespace

Result<std::optional<Shebang>> ParseShebang(std::span<const uint8_t> head) {
  Buf buf{};
  if (!head.empty()) std::memcpy(buf.data(), head.data(), std::min(head.size(), buf.size()));
  if (buf[0] != '#' || buf[1] != '!') return std::nullopt;

  size_t end = TRY(LineEnd(buf));
  // Trailing blanks go; buf[1] == '!' stops the walk.
  while (IsBlank(buf[end - 1])) --end;

  // The interpreter is the first word after leading blanks...
  std::optional<size_t> name = NextNonBlank(buf, 2, end);
  if (!name || *name == end) return Errno(ENOEXEC);
  // ...and whatever follows the next blank, blanks skipped, is one argument.
  // A NUL ends the line instead: no argument after it.
  std::optional<size_t> sep = NextTerminator(buf, *name, end);
  std::optional<size_t> arg;
  if (sep && buf[*sep] != '\0') arg = NextNonBlank(buf, *sep, end);

  Shebang result;
  result.interp = CString(buf, *name, arg ? *sep : end);
  if (arg) result.arg = CString(buf, *arg, end);
  // "#!" followed by a NUL (or blanks to EOF) names the empty path. Linux
  // goes on to fail opening it (EACCES on 6.x); with no interpreter to run we
  // say ENOEXEC, as loader.h promises.
  if (result.interp.empty()) return Errno(ENOEXEC);
  return result;
}

}  // namespace husk::loader
