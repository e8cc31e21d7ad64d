#include "weituo/common/config_table.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"

namespace weituo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ConfigTable Parse(const std::string& text) {
  auto table = ConfigTable::Parse(text, "t.toml");
  EXPECT_THAT(table, IsOk());
  return std::move(table).value();
}

TEST(ConfigTableTest, TypedGettersSetWhatIsThereAndLeaveWhatIsNot) {
  ConfigTable t = Parse(
      "sync = false\nwindow = 64\nrate = 2.5\nburst = 10\nname = \"kaihua\"\n"
      "codes = [\"330824\", \"330822\"]\n");
  bool sync = true;
  int64_t window = 0;
  size_t absent = 7;
  double rate = 0, burst = 0;
  std::string name;
  std::vector<std::string> codes;
  EXPECT_TRUE(t.Bool("sync", &sync));
  EXPECT_TRUE(t.Int("window", 1, 65536, &window));
  EXPECT_FALSE(t.Int("absent", 1, 10, &absent));
  EXPECT_TRUE(t.Number("rate", 0, 10, &rate));
  EXPECT_TRUE(t.Number("burst", 0, 100, &burst));  // an integer is a number too
  EXPECT_TRUE(t.String("name", &name));
  EXPECT_TRUE(t.StringArray("codes", &codes));
  EXPECT_FALSE(sync);
  EXPECT_EQ(window, 64);
  EXPECT_EQ(absent, 7u);
  EXPECT_EQ(rate, 2.5);
  EXPECT_EQ(burst, 10);
  EXPECT_EQ(name, "kaihua");
  EXPECT_THAT(codes, ElementsAre("330824", "330822"));
  EXPECT_THAT(t.Finish(), IsOk());
}

TEST(ConfigTableTest, TheFirstValueOfTheWrongTypeIsKeptWithWhatItIs) {
  struct Row {
    std::string toml, says;
  };
  for (const Row& row : std::vector<Row>{
           {"v = \"false\"",
            "t.toml: v: expected a boolean (true or false), got the string \"false\""},
           {"v = 18981", "t.toml: v: expected a boolean (true or false), got the integer 18981"},
           {"v = 1.5", "got the number 1.5"},
           {"v = [true]", "got an array"},
           {"v = { a = 1 }", "got a table"},
           {"v = 2026-11-28", "got a date"},
       }) {
    SCOPED_TRACE(row.toml);
    ConfigTable t = Parse(row.toml + "\n");
    bool v = true;
    EXPECT_FALSE(t.Bool("v", &v));
    EXPECT_TRUE(v);
    EXPECT_FALSE(t.ok());
    EXPECT_THAT(t.Finish(), StatusIs(StatusCode::kInvalidArgument, HasSubstr(row.says)));
  }
  ConfigTable t = Parse("a = \"x\"\nb = \"y\"\n");
  int64_t n = 0;
  t.Int("a", 0, 1, &n);
  t.Int("b", 0, 1, &n);
  EXPECT_THAT(t.Finish(), StatusIs(StatusCode::kInvalidArgument, HasSubstr("t.toml: a: ")));
}

TEST(ConfigTableTest, RangesAreCheckedAndNamed) {
  int64_t n = 5;
  double x = 5;
  ConfigTable zero = Parse("window = 0\n");
  EXPECT_FALSE(zero.Int("window", 1, 65536, &n));
  EXPECT_EQ(n, 5);
  EXPECT_THAT(zero.Finish(),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("t.toml: window: expected an integer from 1 to 65536, got the "
                                 "integer 0")));
  ConfigTable open = Parse("n = -1\n");
  open.Int("n", 0, INT64_MAX, &n);
  EXPECT_THAT(open.Finish(), StatusIs(StatusCode::kInvalidArgument,
                                      HasSubstr("expected an integer of at least 0")));
  ConfigTable nan = Parse("x = nan\n");
  EXPECT_FALSE(nan.Number("x", 0, 1000000, &x));
  EXPECT_THAT(nan.Finish(), StatusIs(StatusCode::kInvalidArgument,
                                     HasSubstr("expected a number from 0 to 1000000")));
  ConfigTable holding = Parse("codes = [330824]\n");
  std::vector<std::string> codes;
  EXPECT_FALSE(holding.StringArray("codes", &codes));
  EXPECT_THAT(holding.Finish(),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("codes: expected an array of strings, got an array holding the "
                                 "integer 330824")));
}

TEST(ConfigTableTest, KeysNobodyAskedForAreUnknownNamingWhatIsKnown) {
  ConfigTable t = Parse("endpoint = \"tcp://127.0.0.1:5555\"\nbackup_dri = \"/tmp\"\n");
  std::string endpoint, backup;
  t.String("endpoint", &endpoint);
  t.String("backup_dir", &backup);
  EXPECT_THAT(t.Finish(), StatusIs(StatusCode::kInvalidArgument,
                                   HasSubstr("t.toml: unknown key 'backup_dri' (known keys: "
                                             "endpoint, backup_dir)")));
}

TEST(ConfigTableTest, SubTablesNameTheirKeysWithTheirPath) {
  ConfigTable t = Parse("[handlers.ASSET_QUERY]\ncommand = [\"x\"]\ntimeout = 5\n");
  std::optional<ConfigTable> handlers = t.Table("handlers");
  ASSERT_TRUE(handlers);
  EXPECT_THAT(handlers->Keys(), ElementsAre("ASSET_QUERY"));
  std::optional<ConfigTable> asset = handlers->Table("ASSET_QUERY");
  ASSERT_TRUE(asset);
  std::vector<std::string> command;
  int64_t timeout_ms = 0;
  asset->StringArray("command", &command);
  asset->Int("timeout_ms", 1, 100, &timeout_ms);
  EXPECT_EQ(asset->Name("timeout_ms"), "handlers.ASSET_QUERY.timeout_ms");
  EXPECT_THAT(t.Finish(), StatusIs(StatusCode::kInvalidArgument,
                                   HasSubstr("t.toml: unknown key 'handlers.ASSET_QUERY.timeout' "
                                             "(handlers.ASSET_QUERY takes command, timeout_ms)")));
  // Asked twice, one view: what either asked for is known.
  ConfigTable twice = Parse("[api]\nlisten = \"127.0.0.1:1\"\ntoken_file = \"t\"\n");
  std::string listen, token;
  twice.Table("api")->String("listen", &listen);
  twice.Table("api")->String("token_file", &token);
  EXPECT_THAT(twice.Finish(), IsOk());
  ConfigTable not_table = Parse("api = 3\n");
  EXPECT_FALSE(not_table.Table("api"));
  EXPECT_THAT(not_table.Finish(), StatusIs(StatusCode::kInvalidArgument,
                                           HasSubstr("t.toml: api: expected a table, got the "
                                                     "integer 3")));
}

TEST(ConfigTableTest, ArraysOfTablesAreNamedByNumberOrByTheirLabel) {
  ConfigTable t = Parse("[[court]]\nid = \"kaihua\"\n[[court]]\nid = \"chunan\"\ncurve_key = 1\n");
  std::vector<ConfigTable> courts = t.TableArray("court");
  ASSERT_EQ(courts.size(), 2u);
  EXPECT_EQ(courts[0].Where(), "t.toml: court #1");
  std::string id;
  for (ConfigTable& c : courts) c.String("id", &id);
  courts[1].SetLabel("court \"chunan\"");
  EXPECT_THAT(t.Finish(), StatusIs(StatusCode::kInvalidArgument,
                                   HasSubstr("t.toml: court \"chunan\": unknown key 'curve_key' "
                                             "(court \"chunan\" takes id)")));
  ConfigTable scalars = Parse("court = [\"a\"]\n");
  EXPECT_TRUE(scalars.TableArray("court").empty());
  EXPECT_THAT(scalars.Finish(),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("court: expected an array of tables ([[court]]), got an array "
                                 "holding the string \"a\"")));
}

TEST(ConfigTableTest, ProblemsTheReaderFindsAreWordedTheSameWay) {
  ConfigTable t = Parse("[[court]]\nid = \"kaihua\"\nregion_codes = [\"abc\"]\n");
  ConfigTable court = t.TableArray("court")[0];
  court.SetLabel("court \"kaihua\"");
  EXPECT_EQ(court.Describe("id"), "the string \"kaihua\"");
  EXPECT_EQ(court.Describe("none"), "nothing");
  court.Fail("region_codes", "\"abc\" is not six digits");
  court.Fail("id", "a second problem is not kept");
  EXPECT_THAT(t.Finish(), StatusIs(StatusCode::kInvalidArgument,
                                   "t.toml: court \"kaihua\": region_codes: \"abc\" is not six "
                                   "digits"));
}

TEST(ConfigTableTest, SyntaxErrorsNameTheLineAndFilesMustBeSmallRegularOnes) {
  EXPECT_THAT(ConfigTable::Parse("a = 1\nb = \n", "bad.toml"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("bad.toml:2: ")));
  EXPECT_THAT(ConfigTable::ReadFile("/dev/zero", "config file"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("cannot read config file /dev/zero: it is a character device")));
}

}  // namespace
}  // namespace weituo
