#include "sentry/kernel/tty/line_discipline.h"

#include <signal.h>
#include <termios.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace husk::kernel::tty {
namespace {

// Types `in` at the master; returns the signals it raised.
std::vector<int> Type(LineDiscipline& ld, std::string_view in) {
  std::vector<int> sigs;
  EXPECT_EQ(ld.Receive(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(in.data()), in.size()), sigs),
            in.size());
  return sigs;
}

std::string Output(LineDiscipline& ld) {
  std::string s(ld.OutputBytes(), '\0');
  ld.ReadOutput(std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.data()), s.size()));
  return s;
}

std::string ReadLine(LineDiscipline& ld, size_t max = 4096) {
  std::string s(max, '\0');
  s.resize(ld.Read(std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.data()), s.size())));
  return s;
}

void Write(LineDiscipline& ld, std::string_view out) {
  EXPECT_EQ(ld.Write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(out.data()), out.size())),
            out.size());
}

TEST(LineDiscipline, EraseOfATabGoesBackToItsColumn) {
  LineDiscipline ld;
  Type(ld, "ab\t");
  EXPECT_EQ(Output(ld), "ab\t");
  Type(ld, "\x7f");
  // From column 8 back to column 2.
  EXPECT_EQ(Output(ld), std::string(6, '\b'));
  Type(ld, "\n");
  EXPECT_EQ(ReadLine(ld), "ab\n");
}

TEST(LineDiscipline, EraseOfAControlCharacterRubsOutBoth) {
  LineDiscipline ld;
  Type(ld, "\x01");
  EXPECT_EQ(Output(ld), "^A");
  Type(ld, "\x7f");
  EXPECT_EQ(Output(ld), "\b \b\b \b");
}

TEST(LineDiscipline, KillWithoutEchokeEchoesKillAndNewline) {
  LineDiscipline ld;
  KernelTermios t = ld.termios();
  t.c_lflag &= ~ECHOKE;
  ld.SetTermios(t);
  Type(ld, "abc\x15");
  EXPECT_EQ(Output(ld), "abc^U\r\n");
  Type(ld, "d\n");
  EXPECT_EQ(ReadLine(ld), "d\n");
}

TEST(LineDiscipline, SignalCharactersFlushAndEcho) {
  LineDiscipline ld;
  Write(ld, "pending");
  EXPECT_EQ(Type(ld, "xy\x03"), std::vector<int>{SIGINT});
  EXPECT_EQ(Output(ld), "^C");  // the output and the echoes before it are flushed
  EXPECT_EQ(ld.InputBytes(), 0u);
  EXPECT_EQ(Type(ld, "\x1c\x1a"), (std::vector<int>{SIGQUIT, SIGTSTP}));
  KernelTermios t = ld.termios();
  t.c_lflag |= NOFLSH;
  ld.SetTermios(t);
  Type(ld, "ab");
  Type(ld, "\x03");
  Type(ld, "\n");
  EXPECT_EQ(ReadLine(ld), "ab\n");
}

TEST(LineDiscipline, SwitchingToCanonicalMakesTypedBytesALine) {
  LineDiscipline ld;
  KernelTermios t = ld.termios();
  t.c_lflag &= ~ICANON;
  ld.SetTermios(t);
  Type(ld, "raw");
  EXPECT_TRUE(ld.Readable());
  t.c_lflag |= ICANON;
  ld.SetTermios(t);
  EXPECT_TRUE(ld.Readable());
  EXPECT_EQ(ReadLine(ld), "raw");
  EXPECT_FALSE(ld.Readable());
}

TEST(LineDiscipline, CanonicalLineIsLimited) {
  LineDiscipline ld;
  Type(ld, std::string(5000, 'x'));
  Type(ld, "\n");
  EXPECT_EQ(ReadLine(ld, 8192).size(), LineDiscipline::kMaxLine + 1);
}

TEST(LineDiscipline, OutputProcessing) {
  LineDiscipline ld;
  KernelTermios t = ld.termios();
  t.c_oflag = OPOST | XTABS | OLCUC | ONOCR;
  ld.SetTermios(t);
  Write(ld, "\rab\tc\r\n");
  EXPECT_EQ(Output(ld), "AB      C\r\n");
  t.c_oflag = OPOST | OCRNL;
  ld.SetTermios(t);
  Write(ld, "a\rb");
  EXPECT_EQ(Output(ld), "a\nb");
}

TEST(LineDiscipline, InputMapping) {
  LineDiscipline ld;
  KernelTermios t = ld.termios();
  t.c_iflag = IGNCR | ISTRIP;
  ld.SetTermios(t);
  Type(ld, "a\r\xe2\n");
  EXPECT_EQ(ReadLine(ld), "ab\n");
  t.c_iflag = INLCR;
  t.c_lflag &= ~ICANON;
  ld.SetTermios(t);
  Type(ld, "\n");
  EXPECT_EQ(ReadLine(ld), "\r");
}

TEST(LineDiscipline, EolEndsALine) {
  LineDiscipline ld;
  KernelTermios t = ld.termios();
  t.c_cc[VEOL] = ';';
  ld.SetTermios(t);
  Type(ld, "ab;cd");
  EXPECT_EQ(ReadLine(ld), "ab;");
  EXPECT_FALSE(ld.Readable());
}

TEST(LineDiscipline, RawEchoShowsControlCharacters) {
  LineDiscipline ld;
  KernelTermios t = ld.termios();
  t.c_lflag &= ~ICANON;
  t.c_iflag &= ~ICRNL;
  ld.SetTermios(t);
  Type(ld, "a\r\x01");
  EXPECT_EQ(Output(ld), "a^M^A");
}

}  // namespace
}  // namespace husk::kernel::tty
