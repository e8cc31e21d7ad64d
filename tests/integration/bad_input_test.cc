// Bad input gets a clear error frame, is counted, changes nothing, and the
// broker keeps serving. The test speaks the wire protocol itself through a
// raw DEALER socket, as a hostile or buggy agent would, and through a raw
// ROUTER as a broker gone wrong would, to an agent.
#include <gtest/gtest.h>

#include <rocksdb/db.h>
#include <signal.h>

#include <filesystem>
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
  Envelope welcome = chunan.Hello("chunan");
  ASSERT_TRUE(welcome.has_welcome());
  // The broker announces its frame limit (protocol section 5.1).
  EXPECT_EQ(welcome.welcome().max_frame_bytes(), 262144u);
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
  // The role comes before a forward's to_court (section 6.4): the origin
  // learns nothing about courts, whichever it names.
  weituo::v1::Update forward;
  forward.set_commission_id(good.id());
  forward.mutable_forward()->set_to_court("atlantis");
  chunan.Send(UpdateOf("r2f", forward));
  EXPECT_REFUSED(chunan.Receive(), ErrorCode::PERMISSION_DENIED, "origin may not forward");
  forward.mutable_forward()->set_to_court("chunan");
  chunan.Send(UpdateOf("r2g", forward));
  EXPECT_REFUSED(chunan.Receive(), ErrorCode::PERMISSION_DENIED, "origin may not forward");
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

  // A named target wins over the debtor's region code (section 6.2): Kaihua's
  // code, Shexian named, Shexian it is.
  auto named = Valid("chunan");
  named.set_target_court("shexian");
  ASSERT_EQ(named.debtor().region_code(), "330824");
  chunan.skip_deliveries();  // Kaihua's accept, delivered to the origin
  chunan.Send(SubmitOf(named));
  Envelope routed = chunan.Receive();
  ASSERT_TRUE(routed.has_submit_receipt()) << routed.DebugString();
  EXPECT_EQ(routed.submit_receipt().target_court(), "shexian");
  RawAgent shexian(ctx, zone, "shexian");
  ASSERT_TRUE(shexian.Hello("shexian").has_welcome());
  Envelope to_shexian = shexian.Receive();
  ASSERT_TRUE(to_shexian.has_deliver()) << to_shexian.DebugString();
  EXPECT_EQ(to_shexian.deliver().commission().id(), named.id());
  EXPECT_EQ(to_shexian.deliver().commission().debtor().region_code(), "330824");

  // Counted since the restart.
  const std::vector<std::string> expected_counts = {
      "\"PERMISSION_DENIED\":\"6\"", "\"INVALID_ARGUMENT\":\"2\"", "\"UNKNOWN_TARGET\":\"3\"",
      "\"NOT_FOUND\":\"1\"",         "\"CONFLICT\":\"2\"",         "\"ILLEGAL_TRANSITION\":\"1\""};
  std::string status = StatusShowing(zone, expected_counts);
  for (const std::string& e : expected_counts) {
    EXPECT_NE(status.find(e), std::string::npos) << e << " in " << status;
  }
  EXPECT_TRUE(zone.BrokerRunning());
}

// Overwrites `key` of column family `cf` in the stopped broker's store, as
// damage on the disk would.
void Overwrite(const std::string& path, const std::string& cf, const std::string& key,
               const std::string& value) {
  std::vector<std::string> families;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &families).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& f : families) descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &db).ok());
  for (size_t i = 0; i < families.size(); ++i) {
    if (families[i] == cf)
      EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[i], key, value).ok());
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

// A stored record found damaged while a Submit or SendUpdate is handled is
// the broker's own fault: INTERNAL (retryable, protocol section 12), not
// UNAVAILABLE, and nothing changes. The other commissions are served.
TEST(BadInputTest, ADamagedRecordIsRefusedAsInternal) {
  Zone zone;
  zone.StartBroker();
  zmq::context_t ctx;
  auto damaged = Valid("chunan");
  {
    RawAgent chunan(ctx, zone, "chunan");
    ASSERT_TRUE(chunan.Hello("chunan").has_welcome());
    chunan.Send(SubmitOf(damaged));
    ASSERT_TRUE(chunan.Receive().has_submit_receipt());
  }
  zone.KillBroker(SIGTERM);
  Overwrite(zone.dir() + "/broker", "commissions", damaged.id(), "\xff\xff\xff not a record");
  zone.StartBroker();

  RawAgent chunan(ctx, zone, "chunan");
  chunan.skip_deliveries();
  ASSERT_TRUE(chunan.Hello("chunan").has_welcome());
  chunan.Send(SubmitOf(damaged));
  EXPECT_REFUSED(chunan.Receive(), ErrorCode::INTERNAL, "corrupt");
  weituo::v1::Update withdraw;
  withdraw.set_commission_id(damaged.id());
  withdraw.mutable_withdraw()->set_reason("settled");
  chunan.Send(UpdateOf("w1", withdraw));
  Envelope refused = chunan.Receive();
  EXPECT_REFUSED(refused, ErrorCode::INTERNAL, "corrupt");
  EXPECT_EQ(refused.error().ref(), "w1");
  EXPECT_TRUE(IsRetryable(ErrorCode::INTERNAL));

  auto other = Valid("chunan");
  chunan.Send(SubmitOf(other));
  Envelope receipt = chunan.Receive();
  ASSERT_TRUE(receipt.has_submit_receipt()) << receipt.DebugString();
  const std::vector<std::string> counted = {"\"INTERNAL\":\"2\""};
  std::string status = StatusShowing(zone, counted);
  EXPECT_NE(status.find(counted[0]), std::string::npos) << status;
  EXPECT_TRUE(zone.BrokerRunning());
}

// Whatever answers on the broker's port stands in for it here.
class RawBroker {
 public:
  RawBroker(zmq::context_t& ctx, const std::string& endpoint)
      : socket_(ctx, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvtimeo, 10000);
    socket_.bind(endpoint);
  }
  // The next message that is not a heartbeat; an empty envelope on timeout.
  Envelope Receive() {
    for (;;) {
      zmq::message_t route, body;
      if (!socket_.recv(route) || !socket_.recv(body)) return Envelope();
      route_ = route.to_string();
      Envelope env;
      if (env.ParseFromArray(body.data(), static_cast<int>(body.size())) && !env.has_heartbeat()) {
        return env;
      }
    }
  }
  void Send(Envelope env) {
    std::string bytes = SerializeEnvelope(env);
    (void)socket_.send(zmq::buffer(route_), zmq::send_flags::sndmore);
    (void)socket_.send(zmq::buffer(bytes), zmq::send_flags::none);
  }

 private:
  zmq::socket_t socket_;
  std::string route_;
};

TEST(BadInputTest, AnAgentTakesNoDeliveryWhoseCommissionIdIsNotAUlid) {
  Zone zone(/*plaintext=*/true);
  zmq::context_t ctx;
  RawBroker broker(ctx, zone.endpoint());
  zone.SetAgentConfigExtra("wuyuan", "[spool]\ndir = \"spool\"\n");
  zone.StartAgent("wuyuan", false);
  ASSERT_TRUE(broker.Receive().has_hello());
  Envelope welcome;
  welcome.mutable_welcome()->set_court_id("wuyuan");
  broker.Send(welcome);

  // An id that would climb out of the spool and forge a log line, then a
  // good commission after it.
  auto deliver = [&](uint64_t delivery_id, const std::string& id) {
    Envelope env;
    weituo::v1::Commission* c = env.mutable_deliver()->mutable_commission();
    env.mutable_deliver()->set_delivery_id(delivery_id);
    c->set_id(id);
    c->set_origin_court("dexing");
    c->set_target_court("wuyuan");
    c->set_case_number("（2026）赣1181执0001号");
    c->mutable_debtor()->set_name("汪某");
    c->mutable_asset_query()->add_classes(weituo::v1::DEPOSITS);
    broker.Send(env);
  };
  deliver(1, "../escaped\nts=2026-11-28T08:00:00.000Z level=critical msg=\"FORGED LINE\"");
  const std::string good = NewUlid(NowMs());
  deliver(2, good);
  // The good one is acknowledged, the bad one never.
  bool good_acked = false;
  while (!good_acked) {
    Envelope env = broker.Receive();
    ASSERT_NE(env.body_case(), Envelope::BODY_NOT_SET) << "delivery 2 was never acknowledged";
    for (uint64_t id : env.ack().delivery_ids()) {
      EXPECT_NE(id, 1u) << "the malformed delivery was taken";
      good_acked |= id == 2;
    }
  }

  // The good one lands in the spool (after its acknowledgement); alone.
  const std::string landed = zone.dir() + "/spool/incoming/" + good + ".json";
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(landed); }, std::chrono::seconds(10)));
  std::vector<std::string> spooled;
  for (const auto& f : std::filesystem::recursive_directory_iterator(zone.dir() + "/spool")) {
    if (f.is_regular_file()) spooled.push_back(f.path().string());
  }
  EXPECT_EQ(spooled, std::vector<std::string>{landed});
  std::string log = ReadFile(zone.dir() + "/wuyuan.log");
  EXPECT_NE(log.find("msg=\"delivery with a malformed commission id left unacknowledged\" "
                     "delivery=1"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("FORGED LINE"), std::string::npos) << log;
}

}  // namespace
}  // namespace weituo::testing
