#include "http_access.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weituo::broker {
namespace {

using ::testing::HasSubstr;

const std::string kAdmin = "admin-token-0123456789abcdef";
const std::string kReader = "read-token-0123456789abcdef";
const std::string kWitness = "witness-token-0123456789abcdef0123";

HttpAccessPolicy Policy(bool open_reads = false) {
  HttpAccess access;
  access.admin_token = kAdmin;
  access.read_token = kReader;
  access.witness_tokens = {{"deputy-wang", kWitness}};
  access.open_reads = open_reads;
  return HttpAccessPolicy(std::move(access));
}

// The status a GET (or another method) of `path` with `token` gets: 0 if it
// may go on.
unsigned Refused(const HttpAccessPolicy& policy, const std::string& token, bool get,
                 const std::string& path) {
  auto refusal = policy.Check(policy.Identify(token), get, path);
  return refusal ? refusal->status : 0;
}

const char* kReads[] = {"/api/status", "/api/commissions", "/api/commissions/01ABC",
                        "/api/parked", "/api/stats",       "/api/anything"};

TEST(HttpAccessPolicyTest, IdentifiesEachToken) {
  HttpAccessPolicy policy = Policy();
  EXPECT_EQ(policy.Identify(kAdmin).role, HttpRole::kAdmin);
  EXPECT_EQ(policy.Identify(kReader).role, HttpRole::kReader);
  EXPECT_EQ(policy.Identify(kWitness).role, HttpRole::kWitness);
  EXPECT_EQ(policy.Identify(kWitness).name, "deputy-wang");
  EXPECT_EQ(policy.Identify("").role, HttpRole::kAnonymous);
  EXPECT_FALSE(policy.Identify("").gave_token);
  EXPECT_EQ(policy.Identify(kReader + "x").role, HttpRole::kAnonymous);
  EXPECT_TRUE(policy.Identify(kReader + "x").gave_token);
}

TEST(HttpAccessPolicyTest, ReadsNeedAToken) {
  HttpAccessPolicy policy = Policy();
  for (const char* path : kReads) {
    EXPECT_EQ(Refused(policy, "", true, path), 401u) << path;
    EXPECT_EQ(Refused(policy, "not-a-token-of-anyone", true, path), 401u) << path;
    EXPECT_EQ(Refused(policy, kReader, true, path), 0u) << path;
    EXPECT_EQ(Refused(policy, kAdmin, true, path), 0u) << path;
  }
  auto refusal = policy.Check(policy.Identify(""), true, "/api/commissions/01ABC");
  ASSERT_TRUE(refusal);
  EXPECT_THAT(refusal->message, HasSubstr("Authorization: Bearer <token>"));
  EXPECT_THAT(refusal->message, HasSubstr("read.token"));
}

TEST(HttpAccessPolicyTest, HealthReadinessMetricsAndThePageStayOpen) {
  HttpAccessPolicy policy = Policy();
  for (const char* path : {"/", "/healthz", "/readyz", "/metrics"}) {
    EXPECT_EQ(Refused(policy, "", true, path), 0u) << path;
    EXPECT_EQ(Refused(policy, "wrong", true, path), 0u) << path;
    EXPECT_EQ(Refused(policy, kWitness, true, path), 0u) << path;
  }
}

TEST(HttpAccessPolicyTest, AWitnessReadsTrailsAndStatisticsOnly) {
  HttpAccessPolicy policy = Policy();
  for (const char* path : {"/api/commissions", "/api/commissions/01ABC", "/api/stats"}) {
    EXPECT_EQ(Refused(policy, kWitness, true, path), 0u) << path;
  }
  EXPECT_EQ(Refused(policy, kWitness, true, "/api/status"), 403u);
  EXPECT_EQ(Refused(policy, kWitness, true, "/api/parked"), 403u);
  EXPECT_EQ(Refused(policy, kWitness, false, "/api/courts/kaihua/pause"), 403u);
}

TEST(HttpAccessPolicyTest, TheReadTokenDoesNotAct) {
  HttpAccessPolicy policy = Policy();
  EXPECT_EQ(Refused(policy, kReader, false, "/api/courts/kaihua/pause"), 403u);
  EXPECT_EQ(Refused(policy, kAdmin, false, "/api/courts/kaihua/pause"), 0u);
  // An anonymous action goes on, to be answered 401 (or 405) where it is served.
  EXPECT_EQ(Refused(policy, "", false, "/api/courts/kaihua/pause"), 0u);
}

TEST(HttpAccessPolicyTest, OpenReadsLetAnyoneReadButNotAct) {
  HttpAccessPolicy policy = Policy(/*open_reads=*/true);
  for (const char* path : kReads) {
    EXPECT_EQ(Refused(policy, "", true, path), 0u) << path;
    EXPECT_EQ(Refused(policy, kWitness, true, path), 0u) << path;
  }
  EXPECT_EQ(Refused(policy, kReader, false, "/api/parked/1/redrive"), 403u);
}

TEST(HttpAccessPolicyTest, NoReadTokenMatchesNoOne) {
  HttpAccess access;
  access.admin_token = kAdmin;
  HttpAccessPolicy policy(std::move(access));
  EXPECT_EQ(policy.Identify("").role, HttpRole::kAnonymous);
  EXPECT_EQ(Refused(policy, "", true, "/api/status"), 401u);
}

}  // namespace
}  // namespace weituo::broker
