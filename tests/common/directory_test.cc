#include "weituo/common/directory.h"

#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("no id")));
}

TEST(CourtDirectoryTest, BadTomlNamesTheLine) {
  EXPECT_THAT(CourtDirectory::LoadString("[[court]]\nid = \"a\"\nname = \n", "bad.toml"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("bad.toml:3:")));
  EXPECT_THAT(CourtDirectory::LoadString("\n\n\n\n[[court]\nid = \"a\"\n", "bad.toml"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("bad.toml:5:")));
}

TEST(CourtDirectoryTest, CourtThatIsNotATableIsRefused) {
  EXPECT_THAT(CourtDirectory::LoadString("court = [\"a\"]\n", "shape.toml"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("[[court]] is not a table")));
}

TEST(CourtDirectoryTest, NoCourtsIsRefused) {
  EXPECT_THAT(CourtDirectory::LoadString("", "empty.toml"),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("empty.toml"), HasSubstr("no [[court]] entries"))));
  EXPECT_THAT(CourtDirectory::LoadString("title = \"zone\"\n", "empty.toml"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("no [[court]] entries")));
  // Supervisors alone serve no region: still no courts.
  EXPECT_THAT(CourtDirectory::LoadString("[[supervisor]]\nid = \"s\"\n", "sup.toml"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("no [[court]] entries")));
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
