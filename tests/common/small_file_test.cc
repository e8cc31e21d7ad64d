#include "weituo/common/small_file.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fifo_watchdog.h"
#include "status_matchers.h"

namespace weituo {
namespace {

using ::testing::HasSubstr;

class SmallFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/weituo-small-file-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
    return dir_ + "/" + name;
  }
  std::string dir_;
};

TEST_F(SmallFileTest, ReadsARegularFileWholeWithItsMode) {
  std::string path = Write("courts.toml", "[[court]]\nid = \"kaihua\"\n");
  ::chmod(path.c_str(), 0640);
  auto file = ReadSmallFile(path, "court directory", kMaxConfigFileBytes);
  ASSERT_THAT(file, IsOk());
  EXPECT_EQ(file->text, "[[court]]\nid = \"kaihua\"\n");
  EXPECT_EQ(file->mode, 0640u);
}

TEST_F(SmallFileTest, AFileAtTheLimitIsReadAndOneByteMoreIsRefused) {
  EXPECT_THAT(ReadSmallFile(Write("4k", std::string(4096, 'k')), "key file", kMaxKeyFileBytes),
              IsOk());
  EXPECT_THAT(ReadSmallFile(Write("4k1", std::string(4097, 'k')), "key file", kMaxKeyFileBytes),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("cannot read key file " + dir_ +
                                                               "/4k1: it is larger than 4 KiB")));
}

TEST_F(SmallFileTest, AMissingFileIsNotFoundNamingIt) {
  EXPECT_THAT(ReadSmallFile(dir_ + "/none", "deadlines file", kMaxConfigFileBytes),
              StatusIs(StatusCode::kNotFound,
                       HasSubstr("cannot read deadlines file " + dir_ + "/none: no such file")));
}

TEST_F(SmallFileTest, WhatIsNotARegularFileIsRefusedWithoutReadingOrWaiting) {
  // A FIFO with no writer: opening it to read would block without O_NONBLOCK.
  testing::FifoWatchdog fifo(dir_ + "/fifo");
  EXPECT_THAT(
      ReadSmallFile(fifo.path(), "key file", kMaxKeyFileBytes),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("it is a FIFO, not a regular file")));
  // /dev/zero never ends: reading it whole would exhaust memory.
  EXPECT_THAT(ReadSmallFile("/dev/zero", "court directory", kMaxConfigFileBytes),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("cannot read court directory /dev/zero: it is a character "
                                 "device, not a regular file")));
  EXPECT_THAT(ReadSmallFile(dir_, "config file", kMaxConfigFileBytes),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("it is a directory")));
}

TEST_F(SmallFileTest, ALinkToARegularFileIsThatFile) {
  std::string target = Write("target", "token\n");
  std::filesystem::create_symlink(target, dir_ + "/link");
  auto file = ReadSmallFile(dir_ + "/link", "token file", kMaxConfigFileBytes);
  ASSERT_THAT(file, IsOk());
  EXPECT_EQ(file->text, "token\n");
}

}  // namespace
}  // namespace weituo
