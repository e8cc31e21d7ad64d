#include "weituo/common/directory.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fifo_watchdog.h"
#include "status_matchers.h"

namespace weituo {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kZoneFile = std::string(WEITUO_SOURCE_DIR) + "/deploy/zone/courts.toml";

class ZoneDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<CourtDirectory> loaded = CourtDirectory::LoadFile(kZoneFile);
    ASSERT_THAT(loaded, IsOk());
    directory_ = std::move(loaded).value();
  }

  CourtDirectory directory_;
};

TEST_F(ZoneDirectoryTest, FindsKaihuaByIdAndByRegion) {
  const CourtEntry* kaihua = directory_.Find("kaihua");
  ASSERT_NE(kaihua, nullptr);
  EXPECT_EQ(kaihua->id, "kaihua");
  EXPECT_EQ(kaihua->name, "开化县人民法院");
  EXPECT_EQ(kaihua->name_en, "Kaihua County People's Court");
  EXPECT_EQ(kaihua->province, "Zhejiang");
  EXPECT_THAT(kaihua->region_codes, ElementsAre("330824"));
  EXPECT_EQ(kaihua->superior, "quzhou-intermediate");
  EXPECT_FALSE(kaihua->is_supervisor);
  EXPECT_EQ(directory_.FindByRegion("330824"), kaihua);
}

TEST_F(ZoneDirectoryTest, FindsShexianByRegion) {
  const CourtEntry* shexian = directory_.FindByRegion("341021");
  ASSERT_NE(shexian, nullptr);
  EXPECT_EQ(shexian->id, "shexian");
  EXPECT_EQ(shexian->province, "Anhui");
  EXPECT_EQ(shexian->superior, "huangshan-intermediate");
  EXPECT_EQ(directory_.Find("shexian"), shexian);
  // Its neighbour Xiuning is a different court.
  ASSERT_NE(directory_.FindByRegion("341022"), nullptr);
  EXPECT_EQ(directory_.FindByRegion("341022")->id, "xiuning");
}

TEST_F(ZoneDirectoryTest, SupervisorsAreFlaggedAndListedLast) {
  std::vector<std::string> ids;
  for (const CourtEntry& e : directory_.entries()) ids.push_back(e.id);
  EXPECT_THAT(ids, ElementsAre("kaihua", "changshan", "chunan", "dexing", "wuyuan", "yushan",
                               "xiuning", "shexian", "quzhou-intermediate", "hangzhou-intermediate",
                               "shangrao-intermediate", "huangshan-intermediate"));
  for (const CourtEntry& e : directory_.entries()) {
    EXPECT_EQ(e.is_supervisor, e.id.find("-intermediate") != std::string::npos) << e.id;
  }
  const CourtEntry* quzhou = directory_.Find("quzhou-intermediate");
  ASSERT_NE(quzhou, nullptr);
  EXPECT_TRUE(quzhou->is_supervisor);
  EXPECT_EQ(quzhou->name, "衢州市中级人民法院");
  EXPECT_TRUE(quzhou->region_codes.empty());
}

TEST_F(ZoneDirectoryTest, EveryCourtsSuperiorIsAKnownSupervisor) {
  for (const CourtEntry& e : directory_.entries()) {
    if (e.is_supervisor) continue;
    const CourtEntry* superior = directory_.Find(e.superior);
    ASSERT_NE(superior, nullptr) << e.id << " -> " << e.superior;
    EXPECT_TRUE(superior->is_supervisor) << e.superior;
  }
}

TEST_F(ZoneDirectoryTest, UnknownIdsAndRegionsAreNull) {
  EXPECT_EQ(directory_.Find("nowhere"), nullptr);
  EXPECT_EQ(directory_.Find(""), nullptr);
  EXPECT_EQ(directory_.Find("Kaihua"), nullptr);
  EXPECT_EQ(directory_.FindByRegion("110000"), nullptr);
  EXPECT_EQ(directory_.FindByRegion(""), nullptr);
}

TEST(CourtDirectoryTest, LoadFileOfAMissingFileNamesThePath) {
  EXPECT_THAT(CourtDirectory::LoadFile("/nonexistent/courts.toml"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("/nonexistent/courts.toml")));
}

TEST(CourtDirectoryTest, LoadStringOfAMinimalDirectory) {
  StatusOr<CourtDirectory> dir = CourtDirectory::LoadString(R"(
[[court]]
id = "a"
region_codes = ["100001", "100002"]
)",
                                                            "mem.toml");
  ASSERT_THAT(dir, IsOk());
  ASSERT_EQ(dir->entries().size(), 1u);
  EXPECT_EQ(dir->FindByRegion("100001"), dir->Find("a"));
  EXPECT_EQ(dir->FindByRegion("100002"), dir->Find("a"));
}

TEST(CourtDirectoryTest, DuplicateIdIsRefused) {
  EXPECT_THAT(CourtDirectory::LoadString(R"(
[[court]]
id = "a"
region_codes = ["100001"]

[[court]]
id = "a"
region_codes = ["100002"]
)",
                                         "dup.toml"),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("dup.toml"), HasSubstr("'a' appears twice"))));
}

TEST(CourtDirectoryTest, SupervisorWithACourtsIdIsRefused) {
  EXPECT_THAT(CourtDirectory::LoadString(R"(
[[court]]
id = "a"
region_codes = ["100001"]

[[supervisor]]
id = "a"
)",
                                         "dup.toml"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("'a' appears twice")));
}

TEST(CourtDirectoryTest, DuplicateRegionCodeIsRefused) {
  EXPECT_THAT(
      CourtDirectory::LoadString(R"(
[[court]]
id = "a"
region_codes = ["100001"]

[[court]]
id = "b"
region_codes = ["100002", "100001"]
)",
                                 "region.toml"),
      StatusIs(StatusCode::kInvalidArgument, AllOf(HasSubstr("region.toml"), HasSubstr("100001"),
                                                   HasSubstr("'a'"), HasSubstr("'b'"))));
}

TEST(CourtDirectoryTest, RegionCodeRepeatedWithinOneCourtIsRefused) {
  EXPECT_THAT(CourtDirectory::LoadString(R"(
[[court]]
id = "a"
region_codes = ["100001", "100001"]
)",
                                         "region.toml"),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("region.toml"), HasSubstr("100001"), HasSubstr("'a'"))));
}

TEST(CourtDirectoryTest, MissingIdIsRefused) {
  EXPECT_THAT(
      CourtDirectory::LoadString(R"(
[[court]]
name = "无名法院"
region_codes = ["100001"]
)",
                                 "noid.toml"),
      StatusIs(StatusCode::kInvalidArgument, AllOf(HasSubstr("noid.toml"), HasSubstr("no id"))));
  EXPECT_THAT(CourtDirectory::LoadString("[[court]]\nid = 7\n", "intid.toml"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("intid.toml: court #1: id: expected a court id (1 to 64 "
                                 "characters of a-z, 0-9 and -), got the integer 7")));
}

TEST(CourtDirectoryTest, BadTomlNamesTheLine) {
  EXPECT_THAT(CourtDirectory::LoadString("[[court]]\nid = \"a\"\nname = \n", "bad.toml"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("bad.toml:3:")));
  EXPECT_THAT(CourtDirectory::LoadString("\n\n\n\n[[court]\nid = \"a\"\n", "bad.toml"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("bad.toml:5:")));
}

TEST(CourtDirectoryTest, CourtThatIsNotATableIsRefused) {
  EXPECT_THAT(CourtDirectory::LoadString("court = [\"a\"]\n", "shape.toml"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("shape.toml: court: expected an array of tables ([[court]]), "
                                 "got an array holding the string \"a\"")));
}

TEST(CourtDirectoryTest, NoCourtsIsRefused) {
  EXPECT_THAT(CourtDirectory::LoadString("", "empty.toml"),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("empty.toml"), HasSubstr("no [[court]] entries"))));
  EXPECT_THAT(CourtDirectory::LoadString("title = \"zone\"\n", "empty.toml"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("empty.toml: unknown key 'title' (known keys: court, "
                                 "supervisor)")));
  // Supervisors alone serve no region: still no courts.
  EXPECT_THAT(CourtDirectory::LoadString("[[supervisor]]\nid = \"s\"\n", "sup.toml"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("no [[court]] entries")));
}

// Each row is one mistake an operator makes in courts.toml; each is refused
// whole, naming the file, the court and the key.
TEST(CourtDirectoryTest, EveryValueIsCheckedNamingTheCourtAndTheKey) {
  const std::string key(40, 'k');
  const std::string kaihua = "[[court]]\nid = \"kaihua\"\nregion_codes = [\"330824\"]\n";
  const std::string quzhou = "[[supervisor]]\nid = \"quzhou-intermediate\"\n";
  struct Row {
    std::string toml, says;
  };
  for (const Row& row : std::vector<Row>{
           {kaihua + "curve_key = [\"" + key + "\"]\n",
            "z.toml: court \"kaihua\": unknown key 'curve_key' (court \"kaihua\" takes id, name, "
            "name_en, province, superior, region_codes, curve_keys, liaison)"},
           {kaihua + "curve_keys = \"" + key + "\"\n",
            "z.toml: court \"kaihua\": curve_keys: expected an array of strings, got the string "
            "\"" +
                key + "\""},
           {"[[court]]\nid = \"kaihua\"\nregion_codes = [330824]\n",
            "z.toml: court \"kaihua\": region_codes: expected an array of strings, got an array "
            "holding the integer 330824"},
           {"[[court]]\nid = \"kaihua\"\nregion_codes = [\"abc\"]\n",
            "z.toml: court \"kaihua\": region_codes: expected region codes of six digits (GB/T "
            "2260), got \"abc\""},
           {"[[court]]\nid = \"kaihua\"\nregion_codes = [\"3308240\"]\n", "got \"3308240\""},
           {"[[court]]\nid = \"Kai Hua\"\n",
            "z.toml: court #1: id: expected a court id (1 to 64 characters of a-z, 0-9 and -), got "
            "the string \"Kai Hua\""},
           {kaihua + "superior = \"atlantis\"\n" + quzhou,
            "z.toml: court \"kaihua\": superior: 'atlantis' is not a [[supervisor]] in this "
            "directory"},
           {kaihua + "superior = \"chunan\"\n[[court]]\nid = \"chunan\"\n",
            "superior: 'chunan' is not a [[supervisor]] in this directory (it is a [[court]])"},
           {kaihua + "superior = \"\"\n",
            "z.toml: court \"kaihua\": superior: expected the id of a "
            "[[supervisor]] in this directory, got the string \"\""},
           {kaihua + "[[courts]]\nid = \"chunan\"\n",
            "z.toml: unknown key 'courts' (known keys: court, supervisor)"},
           {kaihua + quzhou + "region_codes = [\"330800\"]\n",
            "z.toml: supervisor \"quzhou-intermediate\": unknown key 'region_codes' (supervisor "
            "\"quzhou-intermediate\" takes id, name, name_en, province, curve_keys, liaison)"},
           {kaihua + "name = 5\n",
            "z.toml: court \"kaihua\": name: expected a string, got the "
            "integer 5"},
           {kaihua + "liaison = { phone = 5705550001 }\n",
            "z.toml: court \"kaihua\": liaison.phone: expected a string, got the integer "
            "5705550001"},
           {kaihua + "liaison = { mobile = \"1\" }\n",
            "z.toml: court \"kaihua\": unknown key 'liaison.mobile' (liaison takes office, phone, "
            "person)"},
           {kaihua + "liaison = \"0570-5550001\"\n",
            "z.toml: court \"kaihua\": liaison: expected a table, got the string"},
           {"supervisor = 3\n" + kaihua,
            "z.toml: supervisor: expected an array of tables ([[supervisor]]), got the integer 3"},
       }) {
    SCOPED_TRACE(row.toml);
    EXPECT_THAT(CourtDirectory::LoadString(row.toml, "z.toml"),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr(row.says)));
  }
}

TEST(CourtDirectoryTest, ACourtsSuperiorIsASupervisorOfTheDirectory) {
  auto dir = CourtDirectory::LoadString(
      "[[court]]\nid = \"kaihua\"\nsuperior = \"quzhou-intermediate\"\n"
      "[[court]]\nid = \"chunan\"\n"  // no superior: no supervisor
      "[[supervisor]]\nid = \"quzhou-intermediate\"\nliaison = { phone = \"0570-1\" }\n",
      "z.toml");
  ASSERT_THAT(dir, IsOk());
  EXPECT_EQ(dir->Find("kaihua")->superior, "quzhou-intermediate");
  EXPECT_EQ(dir->Find("chunan")->superior, "");
  EXPECT_EQ(dir->Find("quzhou-intermediate")->liaison_phone, "0570-1");
}

TEST(CourtDirectoryTest, APathThatIsNotASmallRegularFileIsRefusedBeforeReading) {
  char templ[] = "/tmp/weituo-directory-XXXXXX";
  ASSERT_NE(mkdtemp(templ), nullptr);
  const std::string dir = templ;
  testing::FifoWatchdog fifo(dir + "/courts.fifo");
  { std::ofstream(dir + "/huge.toml") << std::string((1 << 20) + 1, '#'); }
  struct Row {
    std::string path, says;
  };
  for (const Row& row : std::vector<Row>{
           {"/dev/zero", "cannot read court directory /dev/zero: it is a character device"},
           {dir + "/courts.fifo", "courts.fifo: it is a FIFO, not a regular file"},
           {dir, "it is a directory, not a regular file"},
           {dir + "/huge.toml", "it is larger than 1 MiB"},
       }) {
    EXPECT_THAT(CourtDirectory::LoadFile(row.path),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr(row.says)));
  }
  std::filesystem::remove_all(dir);
}

TEST(DirectoryTest, FindsTheCourtOfEachCurveKey) {
  const std::string a(40, 'a'), b(40, 'b'), c(40, 'c');
  auto dir = CourtDirectory::LoadString("[[court]]\nid = \"kaihua\"\ncurve_keys = [\"" + a +
                                            "\", \"" + b + "\"]\n[[court]]\nid = \"chunan\"\n",
                                        "t.toml");
  ASSERT_THAT(dir, IsOk());
  ASSERT_NE(dir->FindByKey(a), nullptr);
  EXPECT_EQ(dir->FindByKey(a)->id, "kaihua");
  EXPECT_EQ(dir->FindByKey(b)->id, "kaihua");  // two keys during a rotation
  EXPECT_EQ(dir->FindByKey(c), nullptr);
  EXPECT_TRUE(dir->Find("chunan")->curve_keys.empty());
}

TEST(DirectoryTest, RefusesMalformedOrSharedKeys) {
  const std::string a(40, 'a');
  EXPECT_THAT(CourtDirectory::LoadString("[[court]]\nid = \"kaihua\"\ncurve_keys = [\"short\"]\n",
                                         "t.toml"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not 40 characters of Z85")));
  EXPECT_THAT(
      CourtDirectory::LoadString("[[court]]\nid = \"kaihua\"\ncurve_keys = [\"" + a +
                                     "\"]\n[[court]]\nid = \"chunan\"\ncurve_keys = [\"" + a +
                                     "\"]\n",
                                 "t.toml"),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("listed for both 'kaihua' and 'chunan'")));
  EXPECT_THAT(
      CourtDirectory::LoadString(
          "[[court]]\nid = \"kaihua\"\ncurve_keys = [\"" + a + "\", \"" + a + "\"]\n", "t.toml"),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("court 'kaihua' lists curve key")));
}

}  // namespace
}  // namespace weituo
