#include "weituo/group/etcd_client.h"

#include <stdlib.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "etcd_process.h"
#include "harness.h"
#include "status_matchers.h"
#include "weituo/common/clock.h"

namespace weituo::group {
namespace {

using ::testing::HasSubstr;
using weituo::testing::EtcdProcess;
using weituo::testing::FreePort;

constexpr std::chrono::milliseconds kTimeout{2000};

// Without etcd the group's tests fail, and say how to get it.
TEST(EtcdProcessTest, MissingEtcdFailsWithTheInstallHint) {
  const char* given = std::getenv("WEITUO_ETCD_BIN");
  const std::string saved = given ? given : "";
  ::setenv("WEITUO_ETCD_BIN", "/nonexistent/etcd", 1);
  std::string message;
  try {
    EtcdProcess etcd;
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  if (given) {
    ::setenv("WEITUO_ETCD_BIN", saved.c_str(), 1);
  } else {
    ::unsetenv("WEITUO_ETCD_BIN");
  }
  EXPECT_THAT(message, HasSubstr("run deploy/install-deps.sh"));
}

class EtcdClientTest : public ::testing::Test {
 protected:
  EtcdProcess etcd_;
  EtcdClient client_{{etcd_.endpoint()}, kTimeout};
};

TEST_F(EtcdClientTest, PutGetDeleteRoundTrip) {
  auto absent = client_.Get("/t/a");
  ASSERT_TRUE(absent.ok()) << absent.status().ToString();
  EXPECT_FALSE(absent->has_value());

  // Bytes that are not text survive the base64 of the gateway.
  const std::string value("v\0\xff\n\"1", 6);
  auto first = client_.Put("/t/a", value);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = client_.Put("/t/a", "w");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_GT(*second, *first);

  auto got = client_.Get("/t/a");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, "w");
  EXPECT_EQ((*got)->create_revision, *first);
  EXPECT_EQ((*got)->mod_revision, *second);
  EXPECT_EQ((*got)->lease, 0);

  ASSERT_TRUE(client_.Put("/t/b", value).ok());
  auto b = client_.Get("/t/b");
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->value, value);

  auto deleted = client_.Delete("/t/a");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 1);
  auto again = client_.Delete("/t/a");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  auto gone = client_.Get("/t/a");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(EtcdClientTest, LeaseGrantKeepAliveRevoke) {
  auto lease = client_.Grant(30);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_NE(lease->id, 0);
  EXPECT_EQ(lease->ttl_s, 30);

  auto ttl = client_.KeepAliveOnce(lease->id);
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  EXPECT_EQ(*ttl, 30);

  ASSERT_TRUE(client_.Put("/t/leased", "x", lease->id).ok());
  auto kv = client_.Get("/t/leased");
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->lease, lease->id);

  EXPECT_TRUE(client_.Revoke(lease->id).ok());
  auto gone = client_.Get("/t/leased");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value()) << "revoking the lease deletes its key";

  EXPECT_THAT(client_.KeepAliveOnce(lease->id), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(client_.Revoke(lease->id), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(client_.Put("/t/leased", "x", lease->id),
              StatusIs(StatusCode::kNotFound, HasSubstr("lease not found")));
}

TEST_F(EtcdClientTest, EtcdRaisesATtlUnderItsMinimum) {
  auto lease = client_.Grant(1);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_GE(lease->ttl_s, 1);  // 2 with etcd's default timers: the caller reads it here
}

TEST_F(EtcdClientTest, CreateIfAbsentCreatesOnceAndReturnsTheWinner) {
  auto lease = client_.Grant(30);
  ASSERT_TRUE(lease.ok());
  auto created = client_.CreateIfAbsent("/t/leader", "b1", lease->id);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(created->succeeded);
  auto kv = client_.Get("/t/leader");
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->create_revision, created->create_revision);
  EXPECT_EQ((*kv)->lease, lease->id);

  auto second = client_.CreateIfAbsent("/t/leader", "b2", 0);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->succeeded);
  ASSERT_TRUE(second->current.has_value());
  EXPECT_EQ(second->current->value, "b1");
  EXPECT_EQ(second->current->create_revision, created->create_revision);
  EXPECT_EQ(second->current->lease, lease->id);
}

TEST_F(EtcdClientTest, CreateIfAbsentHonoursItsGuard) {
  // The guard's key absent: mod_revision 0 holds.
  auto bootstrap = client_.CreateIfAbsent("/t/k1", "x", 0, EtcdGuard{"/t/isr", 0});
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status().ToString();
  EXPECT_TRUE(bootstrap->succeeded);

  auto isr = client_.Put("/t/isr", "{}");
  ASSERT_TRUE(isr.ok());
  auto stale = client_.CreateIfAbsent("/t/k2", "x", 0, EtcdGuard{"/t/isr", 0});
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(stale->succeeded);
  EXPECT_FALSE(stale->current.has_value()) << "the key is absent: the guard failed";
  auto k2 = client_.Get("/t/k2");
  ASSERT_TRUE(k2.ok());
  EXPECT_FALSE(k2->has_value());

  auto fresh = client_.CreateIfAbsent("/t/k2", "x", 0, EtcdGuard{"/t/isr", *isr});
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(fresh->succeeded);
}

TEST_F(EtcdClientTest, CompareAndSwap) {
  auto created = client_.CompareAndSwap("/t/isr", 0, "v1");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(created->succeeded);

  auto stale = client_.CompareAndSwap("/t/isr", 0, "v2");
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(stale->succeeded);
  EXPECT_EQ(stale->mod_revision, created->mod_revision);

  auto swapped = client_.CompareAndSwap("/t/isr", created->mod_revision, "v2");
  ASSERT_TRUE(swapped.ok());
  EXPECT_TRUE(swapped->succeeded);
  EXPECT_GT(swapped->mod_revision, created->mod_revision);
  auto kv = client_.Get("/t/isr");
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->value, "v2");
  EXPECT_EQ((*kv)->mod_revision, swapped->mod_revision);

  // A guard on another key: here one that is absent, so 1 fails.
  auto guarded =
      client_.CompareAndSwap("/t/isr", swapped->mod_revision, "v3", EtcdGuard{"/t/leader", 1});
  ASSERT_TRUE(guarded.ok());
  EXPECT_FALSE(guarded->succeeded);
  EXPECT_EQ(guarded->mod_revision, swapped->mod_revision);
}

TEST_F(EtcdClientTest, ConcurrentCreatesHaveOneWinner) {
  EtcdClient other({etcd_.endpoint()}, kTimeout);
  for (int round = 0; round < 10; ++round) {
    const std::string key = "/t/race/" + std::to_string(round);
    std::atomic<int> go{0};
    StatusOr<CreateResult> a = Status::Internal("not run");
    StatusOr<CreateResult> b = Status::Internal("not run");
    std::thread ta([&] {
      go.fetch_add(1);
      while (go.load() < 2) {
      }
      a = client_.CreateIfAbsent(key, "a", 0);
    });
    std::thread tb([&] {
      go.fetch_add(1);
      while (go.load() < 2) {
      }
      b = other.CreateIfAbsent(key, "b", 0);
    });
    ta.join();
    tb.join();
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    ASSERT_NE(a->succeeded, b->succeeded) << "round " << round;
    const CreateResult& loser = a->succeeded ? *b : *a;
    const CreateResult& winner = a->succeeded ? *a : *b;
    ASSERT_TRUE(loser.current.has_value());
    EXPECT_EQ(loser.current->value, a->succeeded ? "a" : "b");
    EXPECT_EQ(loser.current->create_revision, winner.create_revision);
  }
}

TEST_F(EtcdClientTest, UnavailableWhenNoEndpointAnswers) {
  const std::string dead = "http://127.0.0.1:" + std::to_string(FreePort());
  EtcdClient nobody({dead}, kTimeout);
  EXPECT_THAT(nobody.Get("/t/a"), StatusIs(StatusCode::kUnavailable, HasSubstr("cannot connect")));
  EXPECT_THAT(nobody.Grant(5), StatusIs(StatusCode::kUnavailable));
}

TEST_F(EtcdClientTest, TriesTheNextEndpoint) {
  const std::string dead = "http://127.0.0.1:" + std::to_string(FreePort());
  EtcdClient both({dead, etcd_.endpoint()}, kTimeout);
  ASSERT_TRUE(both.Put("/t/a", "x").ok());
  auto kv = both.Get("/t/a");
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  ASSERT_TRUE(kv->has_value());
  EXPECT_EQ((*kv)->value, "x");
}

TEST_F(EtcdClientTest, UnavailableWithinTheTimeoutWhenEtcdIsStopped) {
  EtcdClient quick({etcd_.endpoint()}, std::chrono::milliseconds(300));
  etcd_.Pause();
  const int64_t start = MonotonicMs();
  EXPECT_THAT(quick.Get("/t/a"), StatusIs(StatusCode::kUnavailable, HasSubstr("no answer")));
  EXPECT_LT(MonotonicMs() - start, 2000);
  etcd_.Resume();
  EXPECT_TRUE(weituo::testing::WaitFor([&] { return quick.Put("/t/a", "x").ok(); },
                                       std::chrono::seconds(10)));
}

}  // namespace
}  // namespace weituo::group
