#include "weituo/common/settings.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"

namespace weituo {
namespace {

using ::testing::HasSubstr;

struct Options {
  bool sync = true;
  size_t window = 256;
  double rate = 2000;
  std::string level = "info";
  std::string endpoint = "tcp://127.0.0.1:5555";
  std::string data_dir;
  std::string listen;
};

class SettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    list_.Bool("sync", &o_.sync, "fsync per batch");
    list_.Int("window", &o_.window, 1, 65536, "in flight per court");
    list_.Number("rate", &o_.rate, 0, 1e6, "messages per second");
    list_.Choice("log_level", &o_.level, LogLevels(), "least severe level logged");
    list_.String("endpoint", &o_.endpoint, "to bind", "tcp://HOST:PORT", ExpectZmqEndpoint);
    list_.String("data_dir", &o_.data_dir, "the store").required = true;
    list_.String("api.listen", &o_.listen, "the API", "HOST:PORT", ExpectHostPort);
  }
  Status Read(const std::string& toml) {
    WEITUO_ASSIGN_OR_RETURN(auto table, ConfigTable::Parse(toml, "s.toml"));
    list_.Read(table);
    return table.Finish();
  }
  const SettingList::Setting& Named(const std::string& key) {
    for (const auto& s : list_.settings()) {
      if (s.key == key) return s;
    }
    throw std::runtime_error("no setting " + key);
  }
  Options o_;
  SettingList list_;
};

TEST_F(SettingsTest, AFileSetsWhatItNamesIncludingKeysOfATable) {
  ASSERT_THAT(Read("sync = false\nwindow = 8\nrate = 10\nlog_level = \"warn\"\n"
                   "data_dir = \"d\"\n[api]\nlisten = \"127.0.0.1:7801\"\n"),
              IsOk());
  EXPECT_FALSE(o_.sync);
  EXPECT_EQ(o_.window, 8u);
  EXPECT_EQ(o_.rate, 10);
  EXPECT_EQ(o_.level, "warn");
  EXPECT_EQ(o_.data_dir, "d");
  EXPECT_EQ(o_.listen, "127.0.0.1:7801");
  EXPECT_EQ(o_.endpoint, "tcp://127.0.0.1:5555");  // not in the file: the default
  EXPECT_EQ(list_.FirstMissing(), nullptr);
}

TEST_F(SettingsTest, AFileValueOutOfRangeOrRefusedByItsCheckNamesTheKey) {
  EXPECT_THAT(Read("window = 0\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       "s.toml: window: expected an integer from 1 to 65536, got the integer 0"));
  EXPECT_THAT(Read("log_level = \"verbose\"\n"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("s.toml: log_level: expected one of trace, debug, info, warn, "
                                 "error, critical or off, got the string \"verbose\"")));
  EXPECT_THAT(Read("[api]\nlisten = \"localhost\"\n"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("s.toml: api.listen: expected an "
                                                               "address HOST:PORT")));
  EXPECT_THAT(Read("endpoint = \"udp://x:1\"\n"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("s.toml: endpoint: expected a "
                                                               "ZeroMQ endpoint")));
  EXPECT_EQ(o_.window, 256u);
  EXPECT_EQ(o_.level, "info");
}

TEST_F(SettingsTest, AFlagsTextIsCheckedByTheSameRules) {
  EXPECT_THAT(list_.SetFromText(Named("window"), "0", "--window"),
              StatusIs(StatusCode::kInvalidArgument,
                       "--window: expected an integer from 1 to 65536, got \"0\""));
  EXPECT_THAT(list_.SetFromText(Named("window"), "8x", "--window"),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(list_.SetFromText(Named("sync"), "no", "--sync"),
              StatusIs(StatusCode::kInvalidArgument,
                       "--sync: expected a boolean (true or false), got \"no\""));
  EXPECT_THAT(list_.SetFromText(Named("rate"), "inf", "--rate"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("a number from 0 to 1000000")));
  EXPECT_THAT(list_.SetFromText(Named("log_level"), "verbose", "--log-level"),
              StatusIs(StatusCode::kInvalidArgument));
  ASSERT_THAT(list_.SetFromText(Named("window"), "65536", "--window"), IsOk());
  ASSERT_THAT(list_.SetFromText(Named("sync"), "false", "--sync"), IsOk());
  ASSERT_THAT(list_.SetFromText(Named("rate"), "0.5", "--rate"), IsOk());
  EXPECT_EQ(o_.window, 65536u);
  EXPECT_FALSE(o_.sync);
  EXPECT_EQ(o_.rate, 0.5);
}

TEST_F(SettingsTest, ARequiredStringLeftEmptyIsNamed) {
  ASSERT_NE(list_.FirstMissing(), nullptr);
  EXPECT_EQ(list_.FirstMissing()->key, "data_dir");
}

TEST_F(SettingsTest, DescribeListsEveryKeyWithTypeRangeAndDefault) {
  std::string help = list_.Describe();
  for (const char* shown :
       {"sync", "boolean, default true", "window", "integer (1 to 65536), default 256", "rate",
        "number (0 to 1000000), default 2000", "log_level",
        "string (trace, debug, info, warn, error, critical or off), default \"info\"", "data_dir",
        "string, required", "api.listen", "in flight per court"}) {
    EXPECT_NE(help.find(shown), std::string::npos) << shown << "\n" << help;
  }
}

TEST(SettingChecksTest, HostPortAndZmqEndpoint) {
  for (const char* good :
       {"127.0.0.1:8080", "127.0.0.1:0", "[::1]:8080", "::1:8080", "0.0.0.0:65535"}) {
    EXPECT_EQ(ExpectHostPort(good), "") << good;
  }
  for (const char* bad : {"127.0.0.1", "localhost:8080", "127.0.0.1:http", "127.0.0.1:65536",
                          ":8080", "[::1:8080", "127.0.0.1:-1"}) {
    EXPECT_NE(ExpectHostPort(bad), "") << bad;
  }
  for (const char* good :
       {"tcp://127.0.0.1:5555", "tcp://broker.zone:5555", "tcp://127.0.0.1:*", "ipc:///run/b"}) {
    EXPECT_EQ(ExpectZmqEndpoint(good), "") << good;
  }
  for (const char* bad : {"tcp://127.0.0.1", "tcp://:5555x", "ipc://", "inproc://x",
                          "127.0.0.1:5555", "tcp://127.0.0.1:0"}) {
    EXPECT_NE(ExpectZmqEndpoint(bad), "") << bad;
  }
}

TEST(StringOrArrayTest, TakesOneStringOrAnArrayOfThemEachChecked) {
  std::vector<std::string> brokers;
  SettingList list;
  list.StringOrArray("broker", &brokers, "the brokers", "tcp://HOST:PORT", ExpectZmqConnectEndpoint)
      .required = true;
  auto read = [&](const std::string& toml) -> Status {
    WEITUO_ASSIGN_OR_RETURN(auto table, ConfigTable::Parse(toml, "a.toml"));
    list.Read(table);
    return table.Finish();
  };
  EXPECT_EQ(list.FirstMissing()->key, "broker");
  ASSERT_THAT(read("broker = \"tcp://a:1\"\n"), IsOk());
  EXPECT_EQ(brokers, std::vector<std::string>{"tcp://a:1"});
  ASSERT_THAT(read("broker = [\"tcp://a:1\", \"tcp://b:1\", \"ipc:///c\"]\n"), IsOk());
  EXPECT_EQ(brokers, (std::vector<std::string>{"tcp://a:1", "tcp://b:1", "ipc:///c"}));
  EXPECT_EQ(list.FirstMissing(), nullptr);
  for (const auto& [toml, says] : std::vector<std::pair<std::string, std::string>>{
           {"broker = 5",
            "a.toml: broker: expected a string or an array of strings, got the "
            "integer 5"},
           {"broker = []",
            "a.toml: broker: expected a string or an array of at least one "
            "string, got an empty array"},
           {"broker = [\"tcp://a:1\", true]",
            "a.toml: broker: expected an array of strings, got an array holding the boolean "
            "true"},
           {"broker = \"tcp://a:*\"", "a.toml: broker: expected a ZeroMQ endpoint"},
           {"broker = [\"tcp://a:1\", \"tcp://a\"]",
            "a.toml: broker: element 2 expected a ZeroMQ endpoint tcp://HOST:PORT or ipc://PATH, "
            "got \"tcp://a\""},
           {"broker = [\"tcp://a:1\", \"tcp://a:1\"]",
            "a.toml: broker: element 2 \"tcp://a:1\" is given twice"},
       }) {
    EXPECT_THAT(read(toml + "\n"), StatusIs(StatusCode::kInvalidArgument, HasSubstr(says))) << toml;
  }
  EXPECT_EQ(brokers, (std::vector<std::string>{"tcp://a:1", "tcp://b:1", "ipc:///c"}));
  ASSERT_THAT(list.SetFromText(list.settings().front(), "tcp://d:1", "--broker"), IsOk());
  EXPECT_EQ(brokers, std::vector<std::string>{"tcp://d:1"});
  EXPECT_NE(list.Describe().find("string or array of strings (tcp://HOST:PORT), required"),
            std::string::npos)
      << list.Describe();
}

}  // namespace
}  // namespace weituo
