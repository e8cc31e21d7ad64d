// Bad input gets a clear error frame, is counted, changes nothing, and the
// broker keeps serving. The test speaks the wire protocol itself through a
// raw DEALER socket, as a hostile or buggy agent would.
#include <gtest/gtest.h>

#include <signal.h>

#include <zmq.hpp>

#include "harness.h"
#include "raw_agent.h"
#include "trail.h"
#include "weituo/common/clock.h"
#include "weituo/common/ids.h"
#include "weituo/common/wire.h"
#include "weituo/v1/wire.pb.h"

namespace weituo::testing {
namespace {

using weituo::v1::Envelope;
using weituo::v1::ErrorCode;

TEST(BadInputTest, EachRefusalIsClearCountedAndHarmless) {
  Zone zone;
  zone.StartBroker();
  zone.KillBroker(SIGTERM);
  const std::string empty_store = StoreDigest(zone.dir() + "/broker");
  zone.StartBroker();
  zmq::context_t ctx;
  // Chun'an's key, but a connection that has not said Hello yet.
  RawAgent stranger(ctx, zone, "chunan");

  stranger.SendRaw({"\xff\xff\xff not protobuf"});
  EXPECT_REFUSED(stranger.Receive(), ErrorCode::MALFORMED, "not a weituo.v1.Envelope");
  stranger.SendRaw({"a", "b"});
  EXPECT_REFUSED(stranger.Receive(), ErrorCode::MALFORMED, "one frame");
  stranger.SendRaw({std::string(300 * 1024, 'x')});
  EXPECT_REFUSED(stranger.Receive(), ErrorCode::TOO_LARGE, "over the limit");
  Envelope wrong_version;
  wrong_version.mutable_heartbeat();
  wrong_version.set_protocol(7);
  stranger.SendRaw({wrong_version.SerializeAsString()});
  EXPECT_REFUSED(stranger.Receive(), ErrorCode::UNSUPPORTED_VERSION, "protocol 7");
  stranger.Send(SubmitOf(Valid("chunan")));
  EXPECT_REFUSED(stranger.Receive(), ErrorCode::NOT_IDENTIFIED, "Hello");
  // The key decides the court: a Hello naming another is refused.
  EXPECT_REFUSED(stranger.Hello("atlantis"), ErrorCode::PERMISSION_DENIED,
                 "this connection's key is court 'chunan'");
  // Each was counted, and none of it reached the store.
  const std::vector<std::string> first_counts = {
      "\"MALFORMED\":\"2\"", "\"TOO_LARGE\":\"1\"", "\"UNSUPPORTED_VERSION\":\"1\"",
      "\"NOT_IDENTIFIED\":\"1\"", "\"PERMISSION_DENIED\":\"1\""};
  std::string first_status = StatusShowing(zone, first_counts);
  for (const std::string& e : first_counts) {
    EXPECT_NE(first_status.find(e), std::string::npos) << e << " in " << first_status;
  }
  zone.KillBroker(SIGTERM);
  EXPECT_EQ(StoreDigest(zone.dir() + "/broker"), empty_store);
  zone.StartBroker();

  RawAgent chunan(ctx, zone, "chunan");
  ASSERT_TRUE(chunan.Hello("chunan").has_welcome());
  EXPECT_REFUSED(chunan.Hello("kaihua"), ErrorCode::PERMISSION_DENIED,
                 "this connection's key is court 'chunan'");
  // Identity comes from the connection: Chun'an cannot submit as Kaihua.
  chunan.Send(SubmitOf(Valid("kaihua")));
  EXPECT_REFUSED(chunan.Receive(), ErrorCode::PERMISSION_DENIED,
                 "this connection is court 'chunan'");
  auto no_case = Valid("chunan");
  no_case.clear_case_number();
  chunan.Send(SubmitOf(no_case));
  EXPECT_REFUSED(chunan.Receive(), ErrorCode::INVALID_ARGUMENT, "case_number");
  auto nowhere = Valid("chunan");
  nowhere.mutable_debtor()->set_region_code("110101");
  chunan.Send(SubmitOf(nowhere));
  EXPECT_REFUSED(chunan.Receive(), ErrorCode::UNKNOWN_TARGET, "110101");
  auto to_supervisor = Valid("chunan");
  to_supervisor.set_target_court("quzhou-intermediate");
  chunan.Send(SubmitOf(to_supervisor));
  EXPECT_REFUSED(chunan.Receive(), ErrorCode::UNKNOWN_TARGET, "supervising court");
  auto unknown_target = Valid("chunan");
  unknown_target.set_target_court("beijing-high");
  chunan.Send(SubmitOf(unknown_target));
  EXPECT_REFUSED(chunan.Receive(), ErrorCode::UNKNOWN_TARGET, "beijing-high");
  weituo::v1::Update ghost;
  ghost.set_commission_id(NewUlid(NowMs()));
  ghost.mutable_withdraw();
  chunan.Send(UpdateOf("r1", ghost));
  EXPECT_REFUSED(chunan.Receive(), ErrorCode::NOT_FOUND, "no commission");
  ghost.set_commission_id("");
  chunan.Send(UpdateOf("r1b", ghost));
  EXPECT_REFUSED(chunan.Receive(), ErrorCode::INVALID_ARGUMENT, "commission_id");

  // A good submission still works, and is idempotent.
  auto good = Valid("chunan");
  chunan.Send(SubmitOf(good));
  Envelope receipt = chunan.Receive();
  ASSERT_TRUE(receipt.has_submit_receipt()) << receipt.DebugString();
  EXPECT_EQ(receipt.submit_receipt().target_court(), "kaihua");
  EXPECT_FALSE(receipt.submit_receipt().duplicate());
  chunan.Send(SubmitOf(good));
  Envelope again = chunan.Receive();
  ASSERT_TRUE(again.has_submit_receipt());
  EXPECT_TRUE(again.submit_receipt().duplicate());
  EXPECT_EQ(again.submit_receipt().event().at_ms(), receipt.submit_receipt().event().at_ms());
  auto changed = good;
  changed.set_case_number("other");
  chunan.Send(SubmitOf(changed));
  EXPECT_REFUSED(chunan.Receive(), ErrorCode::CONFLICT, "different content");

  // Illegal transitions: the origin may not accept; the target may not
  // complete before accepting. Neither changes the commission.
  weituo::v1::Update accept;
  accept.set_commission_id(good.id());
  accept.mutable_accept()->set_handler("x");
  chunan.Send(UpdateOf("r2", accept));
  EXPECT_REFUSED(chunan.Receive(), ErrorCode::PERMISSION_DENIED, "origin may not accept");
  RawAgent kaihua(ctx, zone, "kaihua");
  ASSERT_TRUE(kaihua.Hello("kaihua").has_welcome());
  Envelope delivered = kaihua.Receive();
  ASSERT_TRUE(delivered.has_deliver());
  EXPECT_EQ(delivered.deliver().commission().id(), good.id());
  weituo::v1::Update complete;
  complete.set_commission_id(good.id());
  complete.mutable_complete()->mutable_result()->mutable_locate()->set_found_at_place("x");
  kaihua.Send(UpdateOf("r3", complete));
  EXPECT_REFUSED(kaihua.Receive(), ErrorCode::ILLEGAL_TRANSITION, "SUBMITTED");
  RawAgent changshan(ctx, zone, "changshan");
  ASSERT_TRUE(changshan.Hello("changshan").has_welcome());
  changshan.Send(UpdateOf("r4", accept));
  EXPECT_REFUSED(changshan.Receive(), ErrorCode::PERMISSION_DENIED, "neither origin nor target");

  // Still serving: the target accepts; the refused attempts left no trace.
  kaihua.Send(UpdateOf("r5", accept));
  Envelope accepted = kaihua.Receive();
  ASSERT_TRUE(accepted.has_update_receipt()) << accepted.DebugString();
  EXPECT_EQ(accepted.update_receipt().event().seq(), 2u);  // no DELIVERED yet: never acked
  EXPECT_EQ(accepted.update_receipt().event().state(), weituo::v1::ACCEPTED);
  // The same request again gets the same receipt; the same request id for a
  // different update is a conflict, not a silent duplicate.
  kaihua.Send(UpdateOf("r5", accept));
  Envelope same = kaihua.Receive();
  ASSERT_TRUE(same.has_update_receipt());
  EXPECT_TRUE(same.update_receipt().duplicate());
  EXPECT_EQ(same.update_receipt().event().at_ms(), accepted.update_receipt().event().at_ms());
  weituo::v1::Update other = accept;
  other.mutable_accept()->set_handler("someone else");
  kaihua.Send(UpdateOf("r5", other));
  EXPECT_REFUSED(kaihua.Receive(), ErrorCode::CONFLICT, "different update");

  // Counted since the restart.
  const std::vector<std::string> expected_counts = {
      "\"PERMISSION_DENIED\":\"4\"", "\"INVALID_ARGUMENT\":\"2\"", "\"UNKNOWN_TARGET\":\"3\"",
      "\"NOT_FOUND\":\"1\"",         "\"CONFLICT\":\"2\"",         "\"ILLEGAL_TRANSITION\":\"1\""};
  std::string status = StatusShowing(zone, expected_counts);
  for (const std::string& e : expected_counts) {
    EXPECT_NE(status.find(e), std::string::npos) << e << " in " << status;
  }
  EXPECT_TRUE(zone.BrokerRunning());
}

}  // namespace
}  // namespace weituo::testing
