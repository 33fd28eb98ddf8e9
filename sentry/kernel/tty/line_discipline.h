// The terminal line discipline (Linux's n_tty): termios, the slave's input
// queue with canonical line editing, echo, and output post-processing. It
// holds data only; its owner (a pseudo-terminal pair) locks it, blocks its
// readers and writers and sends the signals it reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

namespace husk::kernel::tty {

// The kernel's struct termios (asm-generic/termbits.h), which TCGETS and
// TCSETS copy, and struct termios2 (TCGETS2) with the two speeds.
inline constexpr size_t kNccs = 19;
struct KernelTermios {
  uint32_t c_iflag = 0;
  uint32_t c_oflag = 0;
  uint32_t c_cflag = 0;
  uint32_t c_lflag = 0;
  uint8_t c_line = 0;
  uint8_t c_cc[kNccs] = {};
};
static_assert(sizeof(KernelTermios) == 36, "kernel struct termios is 36 bytes");
struct KernelTermios2 {
  KernelTermios t;
  uint32_t c_ispeed = 0;
  uint32_t c_ospeed = 0;
};
static_assert(sizeof(KernelTermios2) == 44, "kernel struct termios2 is 44 bytes");

// What a new pseudo-terminal's slave starts with (tty_std_termios):
// ICRNL IXON, OPOST ONLCR, B38400 CS8 CREAD, ISIG ICANON ECHO ECHOE ECHOK
// ECHOCTL ECHOKE IEXTEN, and the usual control characters.
KernelTermios DefaultTermios();

class LineDiscipline {
 public:
  // The capacity of the input queue (what the master may write ahead of
  // the slave's reads) and of the output queue (the slave's writes not yet
  // read by the master). Linux: N_TTY_BUF_SIZE plus the flip buffers.
  static constexpr size_t kInputCap = 65536;
  static constexpr size_t kOutputCap = 65536;
  // The longest canonical line; further characters are dropped.
  static constexpr size_t kMaxLine = 4095;

  LineDiscipline() : termios_(DefaultTermios()) {}

  const KernelTermios& termios() const { return termios_; }
  // TCSETS: switching ICANON on makes what was typed one line; off, every
  // byte is readable (n_tty_set_termios).
  void SetTermios(const KernelTermios& t);
  bool canonical() const;

  // --- Input: what the master writes, on its way to the slave's reader.
  // Takes as many bytes of `in` as there is room for; returns how many.
  // Signal characters (ISIG) append the signal to `signals`, in order;
  // echoes go to the output queue.
  size_t Receive(std::span<const uint8_t> in, std::vector<int>& signals);
  // Whether the input queue has room for a master write.
  bool InputRoom() const { return input_.size() < kInputCap; }
  // Whether a read would return now: a complete line (canonical), or at
  // least `min` bytes (non-canonical, min >= 1).
  bool Readable(size_t min = 1) const;
  // Bytes a read could take (FIONREAD/TIOCINQ): the complete lines, or
  // every byte.
  size_t InputBytes() const;
  // A read: one line at most (canonical; an end-of-file line gives 0
  // bytes), or up to dst.size() bytes.
  size_t Read(std::span<uint8_t> dst);

  // --- Output: what the slave writes (and the echoes), for the master.
  // Post-processes (OPOST) as many bytes of `src` as fit; returns how many
  // were taken.
  size_t Write(std::span<const uint8_t> src);
  bool OutputRoom() const { return output_.size() < kOutputCap; }
  size_t OutputBytes() const { return output_.size(); }
  size_t ReadOutput(std::span<uint8_t> dst);

  // TCFLSH.
  void FlushInput();
  void FlushOutput() { output_.clear(); }
  // Output stopped by VSTOP (IXON) or TCOOFF: slave writes wait.
  bool stopped() const { return stopped_; }
  void set_stopped(bool s) { stopped_ = s; }

 private:
  bool L(uint32_t flag) const { return (termios_.c_lflag & flag) != 0; }
  bool I(uint32_t flag) const { return (termios_.c_iflag & flag) != 0; }
  bool O(uint32_t flag) const { return (termios_.c_oflag & flag) != 0; }
  // Whether `c` is the (enabled) control character at index `idx`.
  bool Is(uint8_t c, int idx) const;
  // Echoes `c` as typed: ^X for a control character under ECHOCTL.
  void EchoChar(uint8_t c);
  // Output post-processing of one byte (do_output_char).
  void OutputChar(uint8_t c);
  // ERASE, WERASE, KILL (n_tty's eraser).
  void Erase(uint8_t c, int kind);
  // The column the partial line's character `i` starts at on the screen.
  size_t ColumnBefore(size_t i) const;
  // Ends the partial line (newline, EOL or EOF).
  void EndLine();
  size_t PartialStart() const { return canon_bytes_; }

  KernelTermios termios_;
  // The slave's input: complete lines first (lines_ holds their lengths,
  // summing to canon_bytes_; a 0-length line is an end of file), then the
  // line being edited. Non-canonical mode reads input_ as it is.
  std::deque<uint8_t> input_;
  std::deque<size_t> lines_;
  size_t canon_bytes_ = 0;
  bool lnext_ = false;  // VLNEXT: the next character is literal
  size_t canon_column_ = 0;  // where the line being edited started
  // The output queue and the column its writer is at (for tabs, ONOCR
  // and erasing).
  std::deque<uint8_t> output_;
  size_t column_ = 0;
  bool stopped_ = false;
};

}  // namespace husk::kernel::tty
