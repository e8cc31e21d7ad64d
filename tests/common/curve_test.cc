#include "weituo/common/curve.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"

namespace weituo {
namespace {

using ::testing::HasSubstr;

class CurveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/weituo-curve-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text, mode_t mode) {
    std::ofstream(dir_ + "/" + name) << text;
    ::chmod((dir_ + "/" + name).c_str(), mode);
  }
  std::string dir_;
};

TEST_F(CurveTest, AGeneratedPairIsTwoDistinctKeysThatBelongTogether) {
  auto a = GenerateCurveKeyPair();
  auto b = GenerateCurveKeyPair();
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_TRUE(IsCurveKey(a->public_key));
  EXPECT_TRUE(IsCurveKey(a->secret_key));
  EXPECT_NE(a->public_key, b->public_key);
  auto derived = CurvePublicKeyOf(a->secret_key);
  ASSERT_THAT(derived, IsOk());
  EXPECT_EQ(*derived, a->public_key);
}

TEST_F(CurveTest, IsCurveKeyWantsFortyCharactersOfZ85) {
  EXPECT_FALSE(IsCurveKey(""));
  EXPECT_FALSE(IsCurveKey(std::string(39, 'a')));
  EXPECT_FALSE(IsCurveKey(std::string(41, 'a')));
  EXPECT_FALSE(IsCurveKey(std::string(40, '"')));  // not in the Z85 alphabet
  EXPECT_TRUE(IsCurveKey(std::string(40, 'a')));
  EXPECT_THAT(CurvePublicKeyOf("short"), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(CurveTest, CertificatesRoundTripWithTheSecretOwnerOnly) {
  auto keys = GenerateCurveKeyPair();
  ASSERT_THAT(keys, IsOk());
  ASSERT_THAT(WriteCertificate(dir_ + "/kaihua", *keys, {{"court", "kaihua"}}, false), IsOk());
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/kaihua.key_secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ + "/kaihua.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);

  auto secret = ReadCertificate(dir_ + "/kaihua.key_secret");
  ASSERT_THAT(secret, IsOk());
  EXPECT_EQ(secret->public_key, keys->public_key);
  EXPECT_EQ(secret->secret_key, keys->secret_key);
  auto pub = ReadCertificate(dir_ + "/kaihua.key");
  ASSERT_THAT(pub, IsOk());
  EXPECT_EQ(pub->public_key, keys->public_key);
  EXPECT_TRUE(pub->secret_key.empty());
}

TEST_F(CurveTest, AKeyInUseIsNotReplacedByAccident) {
  auto first = GenerateCurveKeyPair();
  auto second = GenerateCurveKeyPair();
  ASSERT_THAT(WriteCertificate(dir_ + "/broker", *first, {}, false), IsOk());
  EXPECT_THAT(WriteCertificate(dir_ + "/broker", *second, {}, false),
              StatusIs(StatusCode::kAlreadyExists, HasSubstr("--force")));
  EXPECT_EQ(ReadCertificate(dir_ + "/broker.key_secret")->public_key, first->public_key);
  ASSERT_THAT(WriteCertificate(dir_ + "/broker", *second, {}, true), IsOk());
  EXPECT_EQ(ReadCertificate(dir_ + "/broker.key_secret")->public_key, second->public_key);
}

TEST_F(CurveTest, ReadsCertificatesWrittenByOtherZeroMQTools) {
  // The layout czmq's zcert writes: comments, metadata, a curve section.
  auto keys = GenerateCurveKeyPair();
  Write("zcert.key_secret",
        "#   ZeroMQ CURVE **Secret** Certificate\n\nmetadata\n    name = \"x\"\ncurve\n"
        "    public-key = \"" +
            keys->public_key + "\"\n    secret-key = \"" + keys->secret_key + "\"\n",
        0600);
  auto read = ReadCertificate(dir_ + "/zcert.key_secret");
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->secret_key, keys->secret_key);
}

TEST_F(CurveTest, RefusesWhatIsNotAUsableKeyFile) {
  auto keys = GenerateCurveKeyPair();
  auto other = GenerateCurveKeyPair();
  EXPECT_THAT(ReadCertificate(dir_ + "/missing.key"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("cannot read")));
  Write("empty.key", "curve\n", 0644);
  EXPECT_THAT(ReadCertificate(dir_ + "/empty.key"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("no valid public-key")));
  Write("open.key_secret",
        "curve\n    public-key = \"" + keys->public_key + "\"\n    secret-key = \"" +
            keys->secret_key + "\"\n",
        0644);
  EXPECT_THAT(ReadCertificate(dir_ + "/open.key_secret"),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("chmod 600")));
  Write("mixed.key_secret",
        "curve\n    public-key = \"" + keys->public_key + "\"\n    secret-key = \"" +
            other->secret_key + "\"\n",
        0600);
  EXPECT_THAT(ReadCertificate(dir_ + "/mixed.key_secret"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("does not belong")));
}

}  // namespace
}  // namespace weituo
