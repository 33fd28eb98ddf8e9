// ParseShebang: "#!" lines as Linux's fs/binfmt_script.c reads them.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "loader/loader.h"

namespace husk::loader {
namespace {

Result<std::optional<Shebang>> Parse(std::string_view text) {
  return ParseShebang({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

// Expects `text` to name `interp` with `arg`.
void ExpectShebang(std::string_view text, std::string_view interp,
                   std::optional<std::string_view> arg) {
  auto r = Parse(text);
  ASSERT_TRUE(r) << ErrnoName(r.error().value());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->interp, interp);
  if (arg) {
    ASSERT_TRUE((*r)->arg);
    EXPECT_EQ(*(*r)->arg, *arg);
  } else {
    EXPECT_FALSE((*r)->arg) << "arg: " << *(*r)->arg;
  }
}

int Err(std::string_view text) {
  auto r = Parse(text);
  return r ? 0 : r.error().value();
}

bool NotAScript(std::string_view text) {
  auto r = Parse(text);
  return r && !r->has_value();
}

using namespace std::string_view_literals;

TEST(ParseShebang, InterpreterOnly) {
  ExpectShebang("#!/bin/sh\necho hi\n", "/bin/sh", std::nullopt);
}

TEST(ParseShebang, RestOfLineIsOneArgument) {
  ExpectShebang("#! /usr/bin/env  python3 -u \n", "/usr/bin/env", "python3 -u");
}

TEST(ParseShebang, TabsSeparateLikeSpaces) {
  ExpectShebang("#!\t/bin/sh\t-e\t\n", "/bin/sh", "-e");
}

TEST(ParseShebang, BlanksInsideTheArgumentAreKept) {
  ExpectShebang("#!/usr/bin/awk -f  x\ty \n", "/usr/bin/awk", "-f  x\ty");
}

TEST(ParseShebang, TrailingBlanksAreNotAnArgument) {
  ExpectShebang("#!/bin/sh \t \n", "/bin/sh", std::nullopt);
}

TEST(ParseShebang, CarriageReturnIsPartOfTheName) {
  // The classic "bad interpreter: /bin/sh^M" of DOS line endings.
  ExpectShebang("#!/bin/sh\r\n", "/bin/sh\r", std::nullopt);
}

TEST(ParseShebang, NoNewlineInShortFile) {
  ExpectShebang("#!/bin/sh", "/bin/sh", std::nullopt);
  ExpectShebang("#!/bin/sh -x", "/bin/sh", "-x");
}

TEST(ParseShebang, NulEndsTheLine) { ExpectShebang("#!/bin/sh\0 -x\n"sv, "/bin/sh", std::nullopt); }

TEST(ParseShebang, NoInterpreterIsEnoexec) {
  EXPECT_EQ(Err("#!\n"), ENOEXEC);
  EXPECT_EQ(Err("#!"), ENOEXEC);
  EXPECT_EQ(Err("#!  \t \n"), ENOEXEC);
  EXPECT_EQ(Err("#!   "), ENOEXEC);  // blanks, then the zero padding
  EXPECT_EQ(Err("#!\0/bin/sh\n"sv), ENOEXEC);
  EXPECT_EQ(Err("#!" + std::string(254, ' ')), ENOEXEC);
}

TEST(ParseShebang, NotAScript) {
  EXPECT_TRUE(NotAScript(""));
  EXPECT_TRUE(NotAScript("#"));
  EXPECT_TRUE(NotAScript("# !/bin/sh\n"));
  EXPECT_TRUE(NotAScript("\177ELF"));
  EXPECT_TRUE(NotAScript(" #!/bin/sh\n"));
}

TEST(ParseShebang, LongArgumentIsTruncated) {
  // Only 256 bytes are read and, with no newline among them, the last one is
  // dropped too: 256 - strlen("#!/bin/sh ") - 1 = 245 bytes of argument.
  std::string text = "#!/bin/sh " + std::string(300, 'a') + "\n";
  ExpectShebang(text, "/bin/sh", std::string(245, 'a'));
}

TEST(ParseShebang, TruncatedInterpreterIsEnoexec) {
  EXPECT_EQ(Err("#!/" + std::string(300, 'a') + "\n"), ENOEXEC);
  EXPECT_EQ(Err("#!  /" + std::string(251, 'a')), ENOEXEC);  // exactly 256 bytes
}

TEST(ParseShebang, InterpreterEndingAtEndOfShortFile) {
  // A 255-byte file: the zero padding of the 256-byte buffer ends the name.
  std::string name = "/" + std::string(252, 'a');
  ExpectShebang("#!" + name, name, std::nullopt);
}

TEST(ParseShebang, NewlineBeyondTheBufferIsNotSeen) {
  std::string text = "#!/bin/sh -e" + std::string(250, ' ') + "\n";
  // No newline in the first 256 bytes: the line is cut there and its
  // trailing blanks stripped.
  ExpectShebang(text, "/bin/sh", "-e");
}

}  // namespace
}  // namespace husk::loader
