#include "sentry/kernel/tty/line_discipline.h"

#include <signal.h>
#include <termios.h>

#include <algorithm>
#include <cctype>

namespace husk::kernel::tty {
namespace {

enum EraseKind { kErase, kWerase, kKill };

bool IsCntrl(uint8_t c) { return c < 0x20 || c == 0x7f; }

}  // namespace

KernelTermios DefaultTermios() {
  KernelTermios t;
  t.c_iflag = ICRNL | IXON;
  t.c_oflag = OPOST | ONLCR;
  t.c_cflag = B38400 | CS8 | CREAD;
  t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
  // INTR ^C, QUIT ^\, ERASE DEL, KILL ^U, EOF ^D, TIME 0, MIN 1, SWTC -,
  // START ^Q, STOP ^S, SUSP ^Z, EOL -, REPRINT ^R, DISCARD ^O, WERASE ^W,
  // LNEXT ^V, EOL2 - (INIT_C_CC).
  static constexpr uint8_t kCc[kNccs] = {3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13,
                                         0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0, 0, 0};
  std::copy(std::begin(kCc), std::end(kCc), t.c_cc);
  return t;
}

bool LineDiscipline::canonical() const { return L(ICANON); }

bool LineDiscipline::Is(uint8_t c, int idx) const {
  // _POSIX_VDISABLE (0) turns a control character off.
  return termios_.c_cc[idx] != 0 && c == termios_.c_cc[idx];
}

void LineDiscipline::SetTermios(const KernelTermios& t) {
  const bool was_canonical = canonical();
  const bool had_ixon = I(IXON);
  termios_ = t;
  if (!was_canonical && canonical()) {
    // What was typed raw becomes one line, readable at once.
    lines_.clear();
    if (!input_.empty()) lines_.push_back(input_.size());
    canon_bytes_ = input_.size();
  } else if (was_canonical && !canonical()) {
    lines_.clear();
    canon_bytes_ = 0;
  }
  if (had_ixon && !I(IXON)) stopped_ = false;
}

void LineDiscipline::OutputChar(uint8_t c) {
  if (!O(OPOST)) {
    output_.push_back(c);
    return;
  }
  switch (c) {
    case '\n':
      if (O(ONLRET)) column_ = 0;
      if (O(ONLCR)) {
        output_.push_back('\r');
        output_.push_back('\n');
        column_ = canon_column_ = 0;
        return;
      }
      canon_column_ = column_;
      break;
    case '\r':
      if (O(ONOCR) && column_ == 0) return;
      if (O(OCRNL)) {
        c = '\n';
        if (O(ONLRET)) column_ = canon_column_ = 0;
        break;
      }
      column_ = canon_column_ = 0;
      break;
    case '\t': {
      size_t spaces = 8 - (column_ & 7);
      column_ += spaces;
      if ((termios_.c_oflag & TABDLY) == XTABS) {
        while (spaces-- > 0) output_.push_back(' ');
        return;
      }
      break;
    }
    case '\b':
      if (column_ > 0) --column_;
      break;
    default:
      if (!IsCntrl(c)) {
        if (O(OLCUC)) c = static_cast<uint8_t>(toupper(c));
        // A UTF-8 continuation byte takes no column of its own.
        if (!(I(IUTF8) && (c & 0xc0) == 0x80)) ++column_;
      }
      break;
  }
  output_.push_back(c);
}

void LineDiscipline::EchoChar(uint8_t c) {
  if (L(ECHOCTL) && IsCntrl(c) && c != '\t') {
    output_.push_back('^');
    output_.push_back(c ^ 0100);
    column_ += 2;
    return;
  }
  OutputChar(c);
}

size_t LineDiscipline::ColumnBefore(size_t i) const {
  size_t col = canon_column_;
  for (size_t j = PartialStart(); j < i; ++j) {
    const uint8_t c = input_[j];
    if (c == '\t') {
      col = (col | 7) + 1;
    } else if (IsCntrl(c)) {
      if (L(ECHOCTL)) col += 2;
    } else if (!(I(IUTF8) && (c & 0xc0) == 0x80)) {
      ++col;
    }
  }
  return col;
}

void LineDiscipline::Erase(uint8_t c, int kind) {
  const size_t start = PartialStart();
  if (input_.size() == start) return;
  if (kind == kKill) {
    if (!L(ECHO)) {
      input_.resize(start);
      return;
    }
    if (!L(ECHOK) || !L(ECHOKE) || !L(ECHOE)) {
      input_.resize(start);
      EchoChar(c);
      if (L(ECHOK)) OutputChar('\n');
      return;
    }
  }
  bool seen_alnums = false;
  auto rub_out = [this] {
    OutputChar('\b');
    OutputChar(' ');
    OutputChar('\b');
  };
  while (input_.size() > start) {
    const uint8_t e = input_.back();
    if (kind == kWerase) {
      // BSD's ALTWERASE: trailing non-word characters, then the word.
      if (isalnum(e) || e == '_') {
        seen_alnums = true;
      } else if (seen_alnums) {
        break;
      }
    }
    const size_t col = ColumnBefore(input_.size() - 1);
    input_.pop_back();
    if (L(ECHO)) {
      if (kind == kErase && !L(ECHOE)) {
        EchoChar(termios_.c_cc[VERASE]);
      } else if (e == '\t') {
        for (size_t k = column_ > col ? column_ - col : 0; k > 0; --k) OutputChar('\b');
      } else {
        if (IsCntrl(e) && L(ECHOCTL)) rub_out();
        if (!IsCntrl(e) || L(ECHOCTL)) rub_out();
      }
    }
    if (kind == kErase) break;
  }
}

void LineDiscipline::EndLine() {
  lines_.push_back(input_.size() - canon_bytes_);
  canon_bytes_ = input_.size();
}

size_t LineDiscipline::Receive(std::span<const uint8_t> in, std::vector<int>& signals) {
  size_t n = 0;
  for (; n < in.size() && InputRoom(); ++n) {
    const uint8_t orig = in[n];
    uint8_t c = orig;
    if (I(ISTRIP)) c &= 0x7f;
    if (I(IUCLC) && L(IEXTEN)) c = static_cast<uint8_t>(tolower(c));
    if (lnext_) {
      // The character after VLNEXT is taken literally.
      lnext_ = false;
      if (L(ECHO)) EchoChar(c);
      if (input_.size() - PartialStart() < kMaxLine) input_.push_back(c);
      continue;
    }
    if (I(IXON)) {
      if (Is(c, VSTART)) {
        stopped_ = false;
        continue;
      }
      if (Is(c, VSTOP)) {
        stopped_ = true;
        continue;
      }
    }
    if (L(ISIG)) {
      const int sig = Is(c, VINTR) ? SIGINT : Is(c, VQUIT) ? SIGQUIT : Is(c, VSUSP) ? SIGTSTP : 0;
      if (sig != 0) {
        if (!L(NOFLSH)) {
          FlushInput();
          FlushOutput();
        }
        if (I(IXON)) stopped_ = false;
        if (L(ECHO)) EchoChar(c);
        signals.push_back(sig);
        continue;
      }
    }
    if (stopped_ && I(IXON) && I(IXANY)) stopped_ = false;
    if (c == '\r') {
      if (I(IGNCR)) continue;
      if (I(ICRNL)) c = '\n';
    } else if (c == '\n' && I(INLCR)) {
      c = '\r';
    }
    if (canonical()) {
      if (Is(c, VERASE) || Is(c, VKILL) || (Is(c, VWERASE) && L(IEXTEN))) {
        Erase(c, Is(c, VERASE) ? kErase : Is(c, VKILL) ? kKill : kWerase);
        continue;
      }
      if (Is(c, VLNEXT) && L(IEXTEN)) {
        lnext_ = true;
        if (L(ECHO) && L(ECHOCTL)) {
          output_.push_back('^');
          output_.push_back('\b');
        }
        continue;
      }
      if (Is(c, VREPRINT) && L(ECHO) && L(IEXTEN)) {
        EchoChar(c);
        OutputChar('\n');
        for (size_t i = PartialStart(); i < input_.size(); ++i) EchoChar(input_[i]);
        continue;
      }
      if (c == '\n') {
        if (L(ECHO) || L(ECHONL)) OutputChar('\n');
        input_.push_back(c);
        EndLine();
        continue;
      }
      if (Is(c, VEOF)) {
        // Ends the line without itself; alone on a line it reads as 0 bytes.
        EndLine();
        continue;
      }
      if (Is(c, VEOL) || (Is(c, VEOL2) && L(IEXTEN))) {
        if (L(ECHO)) EchoChar(c);
        input_.push_back(c);
        EndLine();
        continue;
      }
      if (input_.size() - PartialStart() >= kMaxLine) continue;  // the line is full
      if (L(ECHO)) {
        if (input_.size() == PartialStart()) canon_column_ = column_;
        EchoChar(c);
      }
      input_.push_back(c);
      continue;
    }
    if (L(ECHO)) {
      // A CR that became a newline echoes as one; other control
      // characters as typed (n_tty_receive_char_special vs _char).
      if (c == '\n' && orig == '\r') {
        OutputChar('\n');
      } else {
        EchoChar(c);
      }
    }
    input_.push_back(c);
  }
  return n;
}

bool LineDiscipline::Readable(size_t min) const {
  if (canonical()) return !lines_.empty();
  return input_.size() >= std::max<size_t>(min, 1);
}

size_t LineDiscipline::InputBytes() const { return canonical() ? canon_bytes_ : input_.size(); }

size_t LineDiscipline::Read(std::span<uint8_t> dst) {
  if (canonical()) {
    if (lines_.empty()) return 0;
    const size_t len = lines_.front();
    if (len == 0) {  // end of file
      lines_.pop_front();
      return 0;
    }
    const size_t n = std::min(dst.size(), len);
    std::copy_n(input_.begin(), n, dst.begin());
    input_.erase(input_.begin(), input_.begin() + static_cast<long>(n));
    canon_bytes_ -= n;
    if (n == len) {
      lines_.pop_front();
    } else {
      lines_.front() -= n;
    }
    return n;
  }
  const size_t n = std::min(dst.size(), input_.size());
  std::copy_n(input_.begin(), n, dst.begin());
  input_.erase(input_.begin(), input_.begin() + static_cast<long>(n));
  return n;
}

size_t LineDiscipline::Write(std::span<const uint8_t> src) {
  size_t n = 0;
  for (; n < src.size() && OutputRoom(); ++n) OutputChar(src[n]);
  return n;
}

size_t LineDiscipline::ReadOutput(std::span<uint8_t> dst) {
  const size_t n = std::min(dst.size(), output_.size());
  std::copy_n(output_.begin(), n, dst.begin());
  output_.erase(output_.begin(), output_.begin() + static_cast<long>(n));
  return n;
}

void LineDiscipline::FlushInput() {
  input_.clear();
  lines_.clear();
  canon_bytes_ = 0;
  lnext_ = false;
}

}  // namespace husk::kernel::tty
