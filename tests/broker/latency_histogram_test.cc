// The latency buckets, the submission-to-receipt latency, and the status
// published for the HTTP thread.

#include "latency_histogram.h"

#include <gtest/gtest.h>

#include "published_status.h"

namespace weituo::broker {
namespace {

TEST(LatencyHistogramTest, EachLatencyFallsInTheFirstBucketThatHoldsIt) {
  LatencyHistogram h;
  h.Observe(0.5);    // <= 1
  h.Observe(1);      // <= 1
  h.Observe(7);      // <= 10
  h.Observe(90000);  // above the last bound
  weituo::v1::Histogram p = h.ToProto();
  ASSERT_EQ(p.upper_bounds_ms_size(), 15);
  ASSERT_EQ(p.counts_size(), 16);
  EXPECT_EQ(p.counts(0), 2u);
  EXPECT_EQ(p.counts(3), 1u);
  EXPECT_EQ(p.counts(15), 1u);
  EXPECT_EQ(p.count(), 4u);
  EXPECT_DOUBLE_EQ(p.sum_ms(), 90008.5);
}

TEST(ReceiptLatencyTest, OnlyReceiptedSubmissionsAreTimedFromTheirReadToTheSend) {
  using std::chrono::milliseconds;
  ReceiptLatency latency;
  const ReceiptLatency::TimePoint t0{};
  latency.Read(t0);
  latency.Receipted();
  latency.Read(t0 + milliseconds(3));  // not a submission receipted
  latency.Read(t0 + milliseconds(4));
  latency.Receipted();
  latency.Sent(t0 + milliseconds(10));
  EXPECT_EQ(latency.histogram().ToProto().count(), 2u);
  EXPECT_DOUBLE_EQ(latency.histogram().ToProto().sum_ms(), 10 + 6);
  latency.Sent(t0 + milliseconds(20));  // nothing waits any more
  EXPECT_EQ(latency.histogram().ToProto().count(), 2u);
}

TEST(PublishedStatusTest, ReadersGetTheLastPublishedAndPublishingIsDueEveryPeriod) {
  PublishedStatus published;
  EXPECT_EQ(published.Get().version(), "");
  weituo::v1::BrokerStatus s;
  s.set_version("v1");
  published.Publish(s);
  EXPECT_EQ(published.Get().version(), "v1");
  EXPECT_TRUE(published.Due(1000, 200));
  EXPECT_FALSE(published.Due(1199, 200));
  EXPECT_TRUE(published.Due(1200, 200));
}

}  // namespace
}  // namespace weituo::broker
