// weituo_wire_bench: compare_workload.h's workload against Weituo, driven as
// rabbit_bench drives RabbitMQ and nats_bench drives NATS JetStream: light
// clients that speak the broker's wire protocol (docs/protocol.md) directly
// over cppzmq DEALER sockets, with no agent SDK and no local store. (Weituo's
// own agents, as weituo_bench runs them, keep a RocksDB outbox and inbox
// each, so they are not comparable with rabbitmq-c or cnats clients.)
//
// The bench starts its own weituo-broker, as weituo_bench does: a fresh
// temporary folder, a free loopback port, --rate-limit 0, --http off, --sync
// as given, and the broker's --window (deliveries in flight per court) set
// to --prefetch. With --security curve (the default) it generates key pairs
// for the broker and every court and connects each court with its own key;
// plaintext runs the broker with --dev-plaintext. Broker CPU and peak RSS
// are read through the child's pid.
//
// Courts and connections. The broker binds a court to the connection that
// said Hello last (a second connection of the same court takes the court
// from the first), so a court has exactly one connection, and a ZeroMQ
// socket belongs to one thread. Producer p is court kCourts[p] and consumer
// c is court kCourts[c] (at most eight of each), so with P = C = 8 every
// court is both: court i has one DEALER and one thread that produces for
// producer i (if i < P) and consumes for consumer i (if i < C) in one poll
// loop, as a single-threaded light client would.
//
// Producer: producer p's k-th commission goes to the k-th of the consumer
// courts other than its own (the broker refuses a commission to oneself),
// round robin. It sends Submit{commission} (a fresh ULID, origin = its court,
// MakeCommission's ~1 KB) and keeps at most --window of them unreceipted; a
// commission counts as receipted when its SubmitReceipt arrives, which the
// broker sends only after the commission is stored (with --sync true, after
// the fsync of its WAL). A retryable Error is answered by resending the same
// bytes; any other refusal fails that commission.
//
// Consumer: a Deliver of a commission is "handled" by noting the time (the
// delivered latency is from the submit to that moment), then acknowledged
// with its own Ack{delivery_id}, as rabbit_bench acks each message. Every
// other Deliver (the EV_DELIVERED receipt each origin receives, any other
// event or notice) is acknowledged too, or the broker would resend it.
// Every connection sends a Heartbeat each heartbeat_ms of the Welcome.
//
// With --group the bench runs a broker group instead (bench_group.h,
// docs/group.md): its own etcd and three members with the same flags, each
// with a cluster address in the group file; it waits until one leads with
// both others caught up, connects the courts to the leader's endpoint, and
// samples the leader's GET /api/cluster every 200 ms while the run lasts.
// The JSON line's "group" object gives the leader's, each follower's and
// etcd's CPU seconds, and the followers' lag (commits not acknowledged and
// ms), max and median over the samples. broker_cpu_s and the peak RSS are
// the leader's.
//
// Threading: the main thread runs the broker process, starts one thread per
// court in use and waits; each court thread owns its DEALER. They share
// compare_workload's Recorder (thread-safe) and atomics.
#include <zmq.hpp>

#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "bench_group.h"
#include "bench_zone.h"
#include "compare_workload.h"
#include "weituo/common/curve.h"
#include "weituo/common/wire.h"
#include "weituo/v1/wire.pb.h"

namespace {

using namespace weituo::bench;
using weituo::v1::Envelope;

constexpr int kMaxCourts = static_cast<int>(kCourts.size());
constexpr size_t kMaxReceiveFrameBytes = 64 << 20;  // as the stock agent accepts

struct WireOptions {
  bool sync = true;
  std::string security = "curve";  // or "plaintext"
  bool keep = false;
  // The broker to run: this build's by default; another build's for an
  // A/B comparison in one session.
  std::string broker_bin = WEITUO_BROKER_BIN;
  // Run a group of three (its own etcd, bench_group.h) instead of one broker.
  bool group = false;
};

// How court connections reach the broker, and what the court threads share
// beyond compare_workload's Shared. Thread-safe as marked.
struct Zone {
  Zone(Shared& s, std::string e, const ZoneKeys* z) : shared(s), endpoint(std::move(e)), keys(z) {}
  Shared& shared;
  const std::string endpoint;
  const ZoneKeys* keys;  // null: plaintext
  zmq::context_t context;
  std::atomic<bool> go{false};  // the producers may start (t0 and deadline are set)
  std::atomic<int> producers_done{0};
  // What the court threads saw, for the note on stderr.
  std::atomic<uint64_t> commission_deliveries{0};
  std::atomic<uint64_t> event_deliveries{0};
  std::atomic<uint64_t> notice_deliveries{0};
  std::atomic<uint64_t> redeliveries{0};     // a delivery id seen again on its connection
  std::atomic<uint64_t> retried_submits{0};  // resent after a retryable Error
  std::atomic<uint64_t> duplicate_receipts{0};
};

std::string RandomHex(int digits) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  uint64_t bits = rng();
  for (int i = 0; i < digits; ++i, bits >>= 4) out.push_back(kHex[bits & 15]);
  return out;
}

// One court's DEALER connection to the broker, with its session said Hello
// to. Owned by the court's thread. Throws on failure (the thread reports it).
class CourtConnection {
 public:
  CourtConnection(Zone& zone, const std::string& court)
      : court_(court), dealer_(zone.context, zmq::socket_type::dealer) {
    dealer_.set(zmq::sockopt::linger, 0);
    if (zone.keys) {
      const std::string& secret = zone.keys->secret_keys.at(court);
      auto public_key = weituo::CurvePublicKeyOf(secret);
      if (!public_key.ok()) throw std::runtime_error(public_key.status().ToString());
      dealer_.set(zmq::sockopt::curve_serverkey, zone.keys->broker.public_key);
      dealer_.set(zmq::sockopt::curve_publickey, *public_key);
      dealer_.set(zmq::sockopt::curve_secretkey, secret);
    }
    // A fresh routing id per socket (docs/protocol.md section 2).
    dealer_.set(zmq::sockopt::routing_id, court + "." + RandomHex(16));
    dealer_.set(zmq::sockopt::sndhwm, 100000);
    dealer_.set(zmq::sockopt::rcvhwm, 100000);
    dealer_.connect(zone.endpoint);
  }

  // Says Hello and waits up to `timeout` for the Welcome; returns its
  // heartbeat_ms. Throws on an Error or the timeout.
  int Hello(std::chrono::milliseconds timeout) {
    Envelope hello;
    hello.mutable_hello()->set_court_id(court_);
    hello.mutable_hello()->set_agent_version("weituo_wire_bench");
    Send(hello);
    const Clock::time_point deadline = Clock::now() + timeout;
    Envelope env;
    while (Clock::now() < deadline) {
      if (!Receive(std::chrono::milliseconds(50), &env)) continue;
      if (env.has_welcome()) return static_cast<int>(env.welcome().heartbeat_ms());
      if (env.has_error()) {
        throw std::runtime_error(
            "Hello refused: " + weituo::v1::ErrorCode_Name(env.error().code()) + " " +
            env.error().message());
      }
    }
    throw std::runtime_error("no Welcome from the broker");
  }

  // Sends one envelope without blocking. Throws if the send queue is full
  // (it holds 100,000 messages; the windows keep far fewer outstanding).
  void Send(Envelope& env) { SendBytes(weituo::SerializeEnvelope(env)); }
  void SendBytes(const std::string& bytes) {
    if (!dealer_.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
      throw std::runtime_error("send queue to the broker is full");
    }
  }

  // Receives one envelope, waiting at most `wait` (zero: only what is
  // there). False if none came; throws on a frame that does not parse.
  bool Receive(std::chrono::milliseconds wait, Envelope* env) {
    if (wait.count() > 0) {
      zmq::pollitem_t item{dealer_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, wait);
      if (!(item.revents & ZMQ_POLLIN)) return false;
    }
    zmq::message_t msg;
    if (!dealer_.recv(msg, zmq::recv_flags::dontwait)) return false;
    weituo::v1::Error error;
    if (!weituo::ParseEnvelope(std::string_view(static_cast<const char*>(msg.data()), msg.size()),
                               kMaxReceiveFrameBytes, env, &error)) {
      throw std::runtime_error("bad frame from the broker: " + error.message());
    }
    return true;
  }

 private:
  const std::string court_;
  zmq::socket_t dealer_;
};

// Court `i`'s thread: connects, says Hello, counts itself ready, waits for
// the start, then produces (if i < P) and consumes until told to stop.
void CourtLoop(Zone& zone, int i) {
  Shared& shared = zone.shared;
  const CompareOptions& opt = shared.opt;
  const bool open_loop = opt.rate > 0;
  const int n_producers = static_cast<int>(shared.courts.producers.size());
  const bool producer = i < n_producers;
  const weituo::CourtEntry& court =
      producer ? *shared.courts.producers[i] : *shared.courts.consumers[i];
  const size_t step = static_cast<size_t>(n_producers);
  size_t slot = static_cast<size_t>(i);  // the next slot to publish
  bool producing = producer;
  bool ready = false;
  // The submitted commissions not yet receipted, by id: their slot and the
  // serialized Submit, for a resend.
  struct Outstanding {
    size_t slot;
    std::string bytes;
  };
  std::unordered_map<std::string, Outstanding> outstanding;

  // Called once when this producer has nothing left to publish or wait for.
  auto finish_producing = [&] {
    if (!producing) return;
    producing = false;
    ++zone.producers_done;
  };
  // Fails what is outstanding and not yet published, and stops producing.
  auto fail_rest = [&](const std::string& error) {
    if (!producing) return;
    const size_t unsent = slot < shared.total ? (shared.total - slot + step - 1) / step : 0;
    shared.Fail("court " + court.id + ": " + error, outstanding.size() + unsent);
    outstanding.clear();
    slot = shared.total;
    finish_producing();
  };

  try {
    CourtConnection conn(zone, court.id);
    const int heartbeat_ms = std::max(conn.Hello(std::chrono::seconds(15)), 100);
    ready = true;
    ++shared.consumers_ready;
    while (!zone.go && !shared.stop) std::this_thread::sleep_for(std::chrono::milliseconds(1));

    // This producer's targets: the consumer courts other than its own.
    std::vector<const weituo::CourtEntry*> targets;
    for (const weituo::CourtEntry* c : shared.courts.consumers) {
      if (c->id != court.id) targets.push_back(c);
    }
    std::unordered_set<uint64_t> seen_deliveries;
    size_t k = 0;
    Clock::time_point next_heartbeat = Clock::now();
    Envelope env;
    std::string bytes;

    auto handle = [&](Envelope& in) {
      const int64_t now = Nanos(Clock::now());
      switch (in.body_case()) {
        case Envelope::kSubmitReceipt: {
          const weituo::v1::SubmitReceipt& receipt = in.submit_receipt();
          if (receipt.duplicate()) ++zone.duplicate_receipts;
          auto it = outstanding.find(receipt.commission_id());
          if (it == outstanding.end()) return;  // receipted already
          shared.recorder.Receipt(it->second.slot, now);
          outstanding.erase(it);
          return;
        }
        case Envelope::kDeliver: {
          const weituo::v1::Deliver& deliver = in.deliver();
          if (!seen_deliveries.insert(deliver.delivery_id()).second) ++zone.redeliveries;
          if (deliver.has_commission()) {
            // Handling: note the delivery, then acknowledge it.
            shared.recorder.Delivered(deliver.commission().id(), now);
            ++zone.commission_deliveries;
          } else if (deliver.has_event()) {
            ++zone.event_deliveries;
          } else {
            ++zone.notice_deliveries;
          }
          Envelope ack;
          ack.mutable_ack()->add_delivery_ids(deliver.delivery_id());
          conn.Send(ack);
          return;
        }
        case Envelope::kError: {
          const weituo::v1::Error& error = in.error();
          const std::string text = weituo::v1::ErrorCode_Name(error.code()) + " " + error.message();
          if (error.code() == weituo::v1::NOT_IDENTIFIED) {
            throw std::runtime_error("the broker forgot this connection: " + text);
          }
          auto it = outstanding.find(error.ref());
          if (it == outstanding.end()) {
            shared.Fail("court " + court.id + ": broker refused: " + text, 0);
          } else if (weituo::IsRetryable(error.code())) {
            ++zone.retried_submits;
            conn.SendBytes(it->second.bytes);
          } else {
            shared.Fail("court " + court.id + ": Submit refused: " + text);
            outstanding.erase(it);
          }
          return;
        }
        default:  // Heartbeat, a repeated Welcome: nothing to do
          return;
      }
    };

    while (!shared.stop) {
      Clock::time_point now = Clock::now();
      if (producing && now > shared.deadline) fail_rest("timed out waiting for receipts");
      const bool can_publish =
          producing && slot < shared.total && outstanding.size() < static_cast<size_t>(opt.window);
      Clock::time_point due = now;
      if (can_publish && open_loop) due = DueAt(shared.t0, slot, opt.rate);
      if (can_publish && now >= due) {
        const weituo::CourtEntry& target = *targets[k % targets.size()];
        Commission commission = MakeCommission(court.id, target, slot, opt.payload_bytes);
        shared.encoded_bytes += commission.ByteSizeLong();
        const std::string id = commission.id();
        const Clock::time_point start = open_loop ? due : Clock::now();
        shared.recorder.Begin(slot, id, Nanos(start));
        Envelope submit;
        *submit.mutable_submit()->mutable_commission() = std::move(commission);
        bytes = weituo::SerializeEnvelope(submit);
        conn.SendBytes(bytes);
        shared.recorder.Returned(slot, Nanos(Clock::now()));
        outstanding.emplace(id, Outstanding{slot, std::move(bytes)});
        slot += step;
        ++k;
        while (conn.Receive(std::chrono::milliseconds(0), &env)) handle(env);  // take what is here
        continue;
      }
      if (producing && slot >= shared.total && outstanding.empty()) finish_producing();

      if (now >= next_heartbeat) {
        Envelope heartbeat;
        heartbeat.mutable_heartbeat()->set_at_ms(weituo::NowMs());
        conn.Send(heartbeat);
        next_heartbeat = now + std::chrono::milliseconds(heartbeat_ms);
      }
      // Window full, all sent, or not yet due: wait for the broker, in the
      // open loop no longer than until the next slot is due.
      Clock::time_point until = std::min(now + std::chrono::milliseconds(100), next_heartbeat);
      if (can_publish) until = std::min(until, due);
      const auto wait = std::chrono::duration_cast<std::chrono::microseconds>(until - now);
      const auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait);
      bool got = conn.Receive(wait_ms, &env);
      if (!got && wait_ms.count() == 0 && wait.count() > 0) {
        // Less than a millisecond to the next slot: poll() cannot wait that
        // finely, so sleep it out.
        std::this_thread::sleep_for(wait);
        got = conn.Receive(std::chrono::milliseconds(0), &env);
      }
      if (!got) continue;
      do {
        handle(env);
      } while (conn.Receive(std::chrono::milliseconds(0), &env));
    }
  } catch (const std::exception& e) {
    if (producing) {
      fail_rest(e.what());
    } else {
      shared.Fail("court " + court.id + ": " + e.what(), 0);
    }
  }
  if (!ready) ++shared.consumers_ready;  // do not hold up the start
  finish_producing();
}

int Run(CompareOptions& opt, const WireOptions& wire) {
  weituo::CourtDirectory directory;
  const Courts courts = LoadCourts(WEITUO_SOURCE_DIR, opt, directory);
  const int n_courts = std::max(opt.producers, opt.consumers);
  for (const weituo::CourtEntry* p : courts.producers) {
    if (std::none_of(courts.consumers.begin(), courts.consumers.end(),
                     [&](const weituo::CourtEntry* c) { return c->id != p->id; })) {
      throw std::runtime_error("producer court " + p->id +
                               " has no consumer court to commission but itself");
    }
  }

  TempDir dir;
  if (wire.keep) dir.Keep();
  const bool curve = wire.security == "curve";
  ZoneKeys keys;
  if (curve) {
    const std::string keys_folder = dir.path() + "/keys";
    std::filesystem::create_directory(keys_folder);
    auto made = MakeZoneKeys(directory, keys_folder);
    if (!made.ok()) throw std::runtime_error(made.status().ToString());
    keys = std::move(made).value();
  }
  // The broker's flags, the same for a single broker and for each member.
  auto broker_flags = [&](const std::string& data_dir, const std::string& endpoint) {
    std::vector<std::string> argv(
        {wire.broker_bin, "--data-dir", data_dir, "--directory",
         curve ? keys.directory_path : std::string(WEITUO_SOURCE_DIR) + "/deploy/zone/courts.toml",
         "--endpoint", endpoint, "--http", "off", "--log-level", "warn", "--sync",
         wire.sync ? "true" : "false", "--rate-limit", "0", "--window",
         std::to_string(opt.prefetch)});
    if (curve) {
      argv.insert(argv.end(), {"--curve-secret-key-file", keys.broker_secret_file});
    } else {
      argv.push_back("--dev-plaintext");
    }
    return argv;
  };
  std::string endpoint;
  std::string broker_log;
  std::unique_ptr<BrokerProcess> single;
  std::unique_ptr<BrokerGroup> group;
  int leader = -1;
  if (!wire.group) {
    endpoint = "tcp://127.0.0.1:" + std::to_string(FreePort());
    broker_log = dir.path() + "/broker.log";
    single =
        std::make_unique<BrokerProcess>(broker_flags(dir.path() + "/broker", endpoint), broker_log);
  } else {
    group = std::make_unique<BrokerGroup>(dir.path(), broker_flags);
    leader = group->WaitReady(std::chrono::seconds(60));
    endpoint = group->courts(leader);
    broker_log = group->log(leader);
  }
  // The broker the courts talk to: the single one, or the group's leader.
  BrokerProcess& broker = group ? group->member(leader) : *single;
  opt.broker_pid = broker.pid();
  auto all_running = [&] { return group ? group->AllRunning() : broker.Running(); };

  // As RunWorkload, with one thread per court in both roles.
  const bool open_loop = opt.rate > 0;
  const size_t total =
      open_loop ? static_cast<size_t>(opt.rate * opt.seconds) : static_cast<size_t>(opt.count);
  Recorder recorder(total);
  Shared shared(opt, courts, recorder, total);
  Zone zone(shared, endpoint, curve ? &keys : nullptr);
  std::vector<std::thread> threads;
  for (int i = 0; i < n_courts; ++i) threads.emplace_back(CourtLoop, std::ref(zone), i);
  while (shared.consumers_ready < n_courts) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  const double broker_cpu_before = broker.CpuSeconds();
  std::vector<double> member_cpu_before;
  double etcd_cpu_before = 0;
  std::unique_ptr<ClusterSampler> sampler;
  if (group) {
    for (int i = 0; i < BrokerGroup::kMembers; ++i) {
      member_cpu_before.push_back(group->member(i).CpuSeconds());
    }
    etcd_cpu_before = group->etcd().process().CpuSeconds();
    sampler = std::make_unique<ClusterSampler>(*group, leader, std::chrono::milliseconds(200));
  }
  const double own_cpu_before = OwnCpuSeconds();
  shared.Start();
  zone.go = true;
  if (sampler) sampler->Start();

  // Every published, receipted commission must reach its consumer.
  bool timed_out = false;
  while (zone.producers_done < opt.producers || recorder.delivered() < recorder.receipts() ||
         recorder.receipts() + shared.failures < total) {
    if (Clock::now() > shared.deadline + std::chrono::seconds(1) || !all_running()) {
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  RunTotals totals;
  totals.run_seconds = std::chrono::duration<double>(Clock::now() - shared.t0).count();
  totals.broker_cpu_s = broker.CpuSeconds() - broker_cpu_before;
  totals.clients_cpu_s = OwnCpuSeconds() - own_cpu_before;
  totals.broker_peak_rss_mib = broker.PeakRssMib();
  // A group's line also says what each member and etcd spent, and how far
  // behind the followers were while the run lasted.
  std::string group_object;
  if (group) {
    const ClusterSampler::Summary lag = sampler->Stop();
    std::string followers_cpu;
    for (int i = 0; i < BrokerGroup::kMembers; ++i) {
      if (i == leader) continue;
      followers_cpu += std::string(followers_cpu.empty() ? "" : ",") +
                       Fixed(group->member(i).CpuSeconds() - member_cpu_before[i], 2);
    }
    group_object = "{\"members\":" + std::to_string(BrokerGroup::kMembers) + ",\"leader\":\"" +
                   group->name(leader) + "\",\"leader_cpu_s\":" + Fixed(totals.broker_cpu_s, 2) +
                   ",\"follower_cpu_s\":[" + followers_cpu + "],\"etcd_cpu_s\":" +
                   Fixed(group->etcd().process().CpuSeconds() - etcd_cpu_before, 2) +
                   ",\"lag_samples\":" + std::to_string(lag.samples) +
                   ",\"lag_unanswered\":" + std::to_string(lag.unanswered) +
                   ",\"lag_batches_max\":" + std::to_string(lag.lag_batches_max) +
                   ",\"lag_batches_median\":" + Fixed(lag.lag_batches_median, 1) +
                   ",\"lag_ms_max\":" + std::to_string(lag.lag_ms_max) +
                   ",\"lag_ms_median\":" + Fixed(lag.lag_ms_median, 1) +
                   ",\"in_sync_min\":" + std::to_string(lag.in_sync_min) + "}";
  }
  shared.stop = true;
  for (std::thread& t : threads) t.join();
  totals.commissions = total;
  totals.submit_failures = shared.failures;
  totals.timed_out = timed_out;
  totals.mean_encoded_bytes =
      total ? static_cast<double>(shared.encoded_bytes) / static_cast<double>(total) : 0;
  const bool broker_died = !all_running();
  int broker_exit = 0;
  if (group) {
    // Every member's exit counts; the leader's log is the one shown.
    for (int code : group->Stop(std::chrono::seconds(10))) {
      if (code != 0 && broker_exit == 0) broker_exit = code;
    }
  } else {
    broker_exit = broker.Stop(std::chrono::seconds(10));
  }

  Report(group ? "weituo-wire-group" : "weituo-wire", opt, recorder.Samples(), totals,
         group ? ",\"group\":" + group_object : "");
  if (group && !opt.json) std::printf("group: %s\n", group_object.c_str());
  std::cerr << "weituo_wire_bench: deliveries acknowledged: " << zone.commission_deliveries
            << " commissions, " << zone.event_deliveries << " events, " << zone.notice_deliveries
            << " notices; redelivered " << zone.redeliveries << "; submits retried "
            << zone.retried_submits << "; duplicate receipts " << zone.duplicate_receipts << "\n";
  if (!shared.first_error.empty()) {
    std::cerr << "weituo_wire_bench: first error: " << shared.first_error << "\n";
  }
  if (broker_died || broker_exit != 0) {
    std::cerr << "weituo_wire_bench: broker exited with " << broker_exit << "; log:\n"
              << Tail(broker_log, 2000) << "\n";
  }
  if (wire.keep) std::cerr << "weituo_wire_bench: kept " << dir.path() << "\n";
  return (timed_out || shared.failures > 0 || !shared.first_error.empty() || broker_died ||
          broker_exit != 0)
             ? 1
             : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "weituo_wire_bench: compare_workload's workload against a real weituo-broker, with light "
      "wire-protocol clients (receipted, acked)"};
  CompareOptions opt;
  AddCompareOptions(app, opt);
  // The bench starts its own broker: there is no server to name.
  app.remove_option(app.get_option("--url"));
  app.remove_option(app.get_option("--broker-pid"));
  // One connection per court, and a court may be both producer and consumer.
  app.get_option("--producers")
      ->description("producer courts, at most 8 (a court's one connection serves both roles)")
      ->check(CLI::Range(1, kMaxCourts));
  app.get_option("--consumers")
      ->description("consumer courts, at most 8 (a court's one connection serves both roles)")
      ->check(CLI::Range(1, kMaxCourts));
  WireOptions wire;
  app.add_option("--sync", wire.sync, "broker fsyncs its WAL per batch (true) or never (false)");
  app.add_option("--security", wire.security,
                 "curve (as deployed: generated keys, encrypted) or plaintext (--dev-plaintext)")
      ->check(CLI::IsMember({"curve", "plaintext"}));
  app.add_flag("--keep", wire.keep, "keep the temporary folder (broker log and store)");
  app.add_option("--broker-bin", wire.broker_bin,
                 "the weituo-broker executable (default: this build's), e.g. an older build's")
      ->check(CLI::ExistingFile)
      ->capture_default_str();
  app.add_flag("--group", wire.group,
               "run a broker group of three members and its own etcd, and connect the courts "
               "to the leader (docs/group.md)");
  CLI11_PARSE(app, argc, argv);
  try {
    if (opt.label.empty()) {
      opt.label = wire.security + ", broker sync=" + (wire.sync ? "true" : "false") +
                  ", receipts, one Ack per delivery" + (wire.group ? ", group of 3" : "");
    }
    return Run(opt, wire);
  } catch (const std::exception& e) {
    std::cerr << "weituo_wire_bench: " << e.what() << "\n";
    return 1;
  }
}
