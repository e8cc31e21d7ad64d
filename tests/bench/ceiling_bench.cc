// ceiling_bench: what this machine can do at most for the broker's two
// halves, to read weituo_bench's figures against (issue 6's "fraction of the
// machine's own ceiling"):
//
//   --mode rocksdb  synced write batches of the records the broker writes per
//                   submission (record, event, chain link, three index
//                   entries, a timer, the outbox item), --batch submissions
//                   per sync, in a fresh temporary store;
//   --mode zmq      DEALER to ROUTER over loopback TCP: --window frames of the
//                   size of a Submit envelope in flight, each answered by a
//                   frame the size of a receipt, with CURVE unless
//                   --security plaintext (no ZAP handler: any key is taken).
//
// Threading: rocksdb runs on the calling thread; zmq runs the ROUTER on its
// own thread and the DEALER on the calling thread.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <thread>
#include <zmq.hpp>

#include "bench_commission.h"
#include "weituo/common/curve.h"
#include "weituo/common/ids.h"
#include "weituo/common/kv_store.h"
#include "weituo/common/trail_hash.h"
#include "weituo/common/wire.h"
#include "weituo/v1/store.pb.h"
#include "weituo/v1/wire.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

// The commission weituo_bench sends, 1 KB encoded, from Chun'an to Kaihua.
weituo::v1::Commission Commission(int n) {
  weituo::CourtEntry kaihua;
  kaihua.id = "kaihua";
  kaihua.name = "开化县人民法院";
  kaihua.region_codes = {"330824"};
  return weituo::bench::MakeCommission("chunan", kaihua, static_cast<size_t>(n), 1024);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

int RunRocksdb(int records, int batch_size, bool sync) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("ceiling-" + std::to_string(::getpid()));
  auto kv = weituo::KvStore::Open(dir, {"commissions", "events", "outbox", "parked", "requests",
                                        "index", "chain", "timers", "bodies"});
  if (!kv.ok()) {
    std::cerr << "ceiling_bench: " << kv.status().ToString() << "\n";
    return 1;
  }
  const int64_t now = 1795795200000;
  std::string prev_link;
  size_t bytes = 0;
  const auto start = Clock::now();
  for (int done = 0; done < records;) {
    weituo::WriteBatch batch = (*kv)->NewBatch();
    for (int i = 0; i < batch_size && done < records; ++i, ++done) {
      // As the broker stores a submission (broker_store.h): the body once,
      // the record and the target's outbox item naming it.
      const weituo::v1::Commission body = Commission(done);
      const std::string& id = body.id();
      weituo::v1::CommissionRecord record;
      record.set_state(weituo::v1::SUBMITTED);
      record.set_last_seq(1);
      weituo::v1::Event event;
      event.set_commission_id(id);
      event.set_seq(1);
      event.set_type(weituo::v1::EV_SUBMITTED);
      event.set_hash(weituo::EventHash(event));
      weituo::v1::ChainLink link;
      link.set_event_hash(event.hash());
      link.set_prev(prev_link);
      link.set_hash(weituo::LinkHash(prev_link, event.hash()));
      prev_link = link.hash();
      weituo::v1::OutboxItem item;
      item.set_court("kaihua");
      item.mutable_deliver()->mutable_commission()->set_id(id);
      item.set_body_elided(true);
      const std::string b = body.SerializeAsString(), r = record.SerializeAsString(),
                        e = event.SerializeAsString(), l = link.SerializeAsString(),
                        o = item.SerializeAsString();
      bytes += b.size() + r.size() + e.size() + l.size() + o.size();
      batch.Put(9, id, b);
      batch.Put(1, id, r);
      batch.Put(2, id + '\0' + std::string(8, '\1'), e);
      batch.Put(6, "cchunan" + std::string(1, '\0') + id, "");
      batch.Put(6, "ckaihua" + std::string(1, '\0') + id, "");
      batch.Put(6, "s\1" + id, "");
      batch.Put(7, std::to_string(done), l);
      batch.Put(8, std::to_string(now + done) + id, "");
      batch.Put(3, "kaihua" + std::string(1, '\0') + std::to_string(done), o);
    }
    if (auto s = (*kv)->Commit(batch, sync); !s.ok()) {
      std::cerr << "ceiling_bench: " << s.ToString() << "\n";
      return 1;
    }
  }
  const double secs = Seconds(Clock::now() - start);
  kv->reset();
  std::filesystem::remove_all(dir);
  std::cout << "{\"mode\":\"rocksdb\",\"records\":" << records << ",\"batch\":" << batch_size
            << ",\"sync\":" << (sync ? "true" : "false")
            << ",\"bytes_per_record\":" << bytes / std::max(records, 1)
            << ",\"records_per_s\":" << std::fixed << std::setprecision(1) << records / secs
            << "}\n";
  return 0;
}

int RunZmq(int messages, int window, bool curve) {
  zmq::context_t ctx;
  zmq::socket_t router(ctx, zmq::socket_type::router);
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  router.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::linger, 0);
  if (curve) {
    auto server = weituo::GenerateCurveKeyPair();
    auto client = weituo::GenerateCurveKeyPair();
    if (!server.ok() || !client.ok()) return 1;
    router.set(zmq::sockopt::curve_server, 1);
    router.set(zmq::sockopt::curve_secretkey, server->secret_key);
    dealer.set(zmq::sockopt::curve_serverkey, server->public_key);
    dealer.set(zmq::sockopt::curve_publickey, client->public_key);
    dealer.set(zmq::sockopt::curve_secretkey, client->secret_key);
  }
  router.bind("tcp://127.0.0.1:*");
  dealer.connect(router.get(zmq::sockopt::last_endpoint));

  weituo::v1::Envelope submit;
  *submit.mutable_submit()->mutable_commission() = Commission(1);
  const std::string frame = weituo::SerializeEnvelope(submit);
  weituo::v1::Envelope receipt;
  receipt.mutable_submit_receipt()->set_commission_id(submit.submit().commission().id());
  receipt.mutable_submit_receipt()->set_target_court("kaihua");
  receipt.mutable_submit_receipt()->mutable_event()->set_hash(std::string(32, 'h'));
  const std::string answer = weituo::SerializeEnvelope(receipt);

  // The ROUTER answers every frame, as the broker receipts every Submit.
  std::thread echo([&] {
    for (int i = 0; i < messages; ++i) {
      zmq::message_t route, body;
      if (!router.recv(route) || !router.recv(body)) return;
      router.send(route, zmq::send_flags::sndmore);
      router.send(zmq::buffer(answer), zmq::send_flags::none);
    }
  });
  const auto start = Clock::now();
  int sent = 0, answered = 0;
  while (answered < messages) {
    while (sent < messages && sent - answered < window) {
      dealer.send(zmq::buffer(frame), zmq::send_flags::none);
      ++sent;
    }
    zmq::message_t reply;
    if (!dealer.recv(reply)) break;
    ++answered;
  }
  const double secs = Seconds(Clock::now() - start);
  echo.join();
  std::cout << "{\"mode\":\"zmq\",\"security\":\"" << (curve ? "curve" : "plaintext")
            << "\",\"messages\":" << messages << ",\"window\":" << window
            << ",\"frame_bytes\":" << frame.size() << ",\"round_trips_per_s\":" << std::fixed
            << std::setprecision(1) << answered / secs << "}\n";
  return answered == messages ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ceiling_bench: the machine's own ceiling for the broker's store and transport"};
  std::string mode = "rocksdb", security = "curve";
  int count = 100000, batch = 8, window = 256;
  bool sync = true;
  app.add_option("--mode", mode, "rocksdb or zmq")->check(CLI::IsMember({"rocksdb", "zmq"}));
  app.add_option("--count", count, "submissions written, or frames sent")->capture_default_str();
  app.add_option("--batch", batch, "rocksdb: submissions per synced batch")->capture_default_str();
  app.add_option("--sync", sync, "rocksdb: fsync the WAL per batch")->capture_default_str();
  app.add_option("--window", window, "zmq: frames in flight")->capture_default_str();
  app.add_option("--security", security, "zmq: curve or plaintext")
      ->check(CLI::IsMember({"curve", "plaintext"}));
  CLI11_PARSE(app, argc, argv);
  if (count < 1 || batch < 1 || window < 1) {
    std::cerr << "ceiling_bench: --count, --batch and --window must be positive\n";
    return 2;
  }
  return mode == "rocksdb" ? RunRocksdb(count, batch, sync)
                           : RunZmq(count, window, security == "curve");
}
