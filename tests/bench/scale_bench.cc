// scale_bench: the broker at China's scale (about 3,500 courts). Two modes,
// each printing one JSON line per size:
//
// --mode stored --counts 0,100000,...: fills a broker store with N
// commissions as the broker writes them at submission (body and record, the
// EV_SUBMITTED event, index entries, deadline timer, global chain link, state
// counts; a fraction completed, with an EV_COMPLETED event and no timer),
// through BrokerStore's Batch API in large unsynced batches. The store grows
// from one count to the next. After each count the real weituo-broker is
// started on it twice: "first" right after the fill (its start includes
// RocksDB's recovery of the unflushed write-ahead log, as after a crash) and
// "restart" after an orderly stop. For each start: time from fork/exec to
// /readyz answering 200 (polled every 10 ms), resident memory (VmRSS) when
// ready and after an idle wait, peak (VmHWM), the time of one real submission
// over a plaintext DEALER, and the time the SIGTERM stop takes.
//
// --mode agents --agents 100,1000,3500: starts the broker with CURVE on a
// generated directory of N courts (a key pair and a region code each) and
// connects N light DEALER clients speaking the raw wire protocol (Hello, then
// Heartbeat at the Welcome's heartbeat_ms, Ack for every Deliver), spread
// over a few threads, each polling its share of sockets with zmq_poll. After
// an idle phase (heartbeats only) the courts submit ~1 KB commissions round
// robin to each other at an offered total rate (open loop: latency counts
// from the scheduled time), so that every court receives at least one.
//
// Threading: the main thread runs the broker process and measures; in agents
// mode, each client thread owns its sockets and its counters, and publishes
// them through atomics and a mutex-guarded merge at the end.
#include <sys/statvfs.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <zmq.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_commission.h"
#include "bench_measure.h"
#include "bench_zone.h"
#include "weituo/broker/broker_store.h"
#include "weituo/common/clock.h"
#include "weituo/common/curve.h"
#include "weituo/common/deadlines.h"
#include "weituo/common/directory.h"
#include "weituo/common/ids.h"
#include "weituo/common/logging.h"
#include "weituo/common/trail_hash.h"
#include "weituo/common/wire.h"
#include "weituo/v1/commission.pb.h"
#include "weituo/v1/store.pb.h"
#include "weituo/v1/wire.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using weituo::SerializeEnvelope;
using weituo::bench::BrokerProcess;
using weituo::bench::Fixed;
using weituo::bench::FreePort;
using weituo::bench::JsonPercentiles;
using weituo::bench::MakeCommission;
using weituo::bench::Nanos;
using weituo::bench::OpenFds;
using weituo::bench::Percentiles;
using weituo::bench::PercentilesOf;
using weituo::bench::RenderDirectory;
using weituo::bench::Tail;
using weituo::bench::TempDir;
using weituo::broker::BrokerStore;
using weituo::v1::Commission;
using weituo::v1::CommissionRecord;
using weituo::v1::Envelope;
using weituo::v1::Event;

struct ScaleOptions {
  std::string mode = "stored";
  std::vector<uint64_t> counts = {0, 100000, 1000000};
  std::vector<int> agents = {100, 1000};
  std::string tmp = "/tmp";
  int courts = 3500;                // stored mode: courts of the directory
  double completed_fraction = 0.5;  // stored mode: share of commissions completed
  size_t batch = 5000;              // stored mode: commissions per write batch
  double idle_s = 5;                // seconds idle before the second memory reading
  int ready_timeout_s = 300;        // stored mode: longest wait for /readyz
  double max_fill_s = 900;          // stored mode: skip a count projected to take longer
  double min_free_gib = 8;          // stored mode: keep this much of the disk free
  int threads = 4;                  // agents mode: client threads
  double rate = 500;                // agents mode: commissions offered a second, in total
  int per_court = 3;                // agents mode: commissions each court submits
  int connect_timeout_s = 120;      // agents mode: longest wait for every Welcome
  double connect_rate = 0;          // agents mode: new connections a second (0: all at once)
  int client_tick_ms = 5;           // agents mode: shortest turn of a client thread
  int deliver_timeout_s = 120;      // agents mode: longest wait for deliveries after sending
  bool sync = true;                 // agents mode: the broker fsyncs per batch
  bool keep = false;
};

// ---- Processes and folders (the rest is in bench_zone.h) ----

// The HTTP status of GET `target` from 127.0.0.1:`port` over a fresh
// connection; 0 if the connection or the exchange failed within `timeout`.
unsigned HttpStatus(int port, const std::string& target, std::chrono::milliseconds timeout) {
  auto reply = weituo::bench::HttpGet(port, target, timeout);
  return reply.ok() ? reply->status : 0;
}

// Polls /readyz every 10 ms until it answers 200. Returns the time it took
// from `since`, or a negative number if the broker exited or `timeout` passed.
double WaitReady(BrokerProcess& broker, int http_port, Clock::time_point since,
                 std::chrono::seconds timeout) {
  const auto deadline = since + timeout;
  for (;;) {
    if (HttpStatus(http_port, "/readyz", std::chrono::milliseconds(1000)) == 200) {
      return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
    }
    if (!broker.Running() || Clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Bytes of the store's files under `path`: not the broker's BALLAST, which
// holds free space for the store rather than any of its data.
uint64_t DiskBytes(const std::string& path) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->path().filename() == "BALLAST") continue;
    if (it->is_regular_file(size_ec)) total += it->file_size(size_ec);
  }
  return total;
}

double FreeGib(const std::string& path) {
  struct statvfs vfs {};
  if (::statvfs(path.c_str(), &vfs) != 0) return 0;
  return static_cast<double>(vfs.f_bavail) * static_cast<double>(vfs.f_frsize) / (1 << 30);
}

// ---- The zone: N generated courts ----

// The comment line atop the directory file.
constexpr char kDirectoryHeading[] = "Written by scale_bench: a generated zone.";

// Court i: id "c0001"-style, a six-digit region code of its own.
std::vector<weituo::CourtEntry> MakeCourts(int n) {
  std::vector<weituo::CourtEntry> courts;
  courts.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "c%04d", i);
    weituo::CourtEntry e;
    e.id = id;
    e.name = std::string("第") + std::to_string(i) + "人民法院";
    e.province = "p" + std::to_string(i / 110);
    e.region_codes = {std::to_string(110000 + i)};
    courts.push_back(std::move(e));
  }
  return courts;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

// ---- Stored mode ----

// Grows a broker store with commissions as the broker's StoreNew writes
// them. Not thread-safe; owns the store while it lives.
class StoreFiller {
 public:
  StoreFiller(std::unique_ptr<BrokerStore> store, const std::vector<weituo::CourtEntry>& courts,
              double completed_fraction, size_t batch)
      : store_(std::move(store)),
        courts_(courts),
        completed_fraction_(completed_fraction),
        per_batch_(batch),
        policy_(weituo::DeadlinePolicy::Defaults()) {}

  // Reads what the store holds (chain head, state counts, next delivery id),
  // so that growing continues what an earlier fill or a broker left.
  weituo::Status Resume() {
    WEITUO_ASSIGN_OR_RETURN(counts_, store_->StateCounts());
    WEITUO_ASSIGN_OR_RETURN(auto head, store_->LastChainLink());
    chain_position_ = head.first;
    chain_head_ = head.second.hash();
    WEITUO_ASSIGN_OR_RETURN(next_delivery_id_, store_->NextDeliveryId());
    return weituo::Status::Ok();
  }

  // Adds commissions number [from, to). Unsynced batches of `batch` each;
  // the last batch writes the state counts and the next delivery id.
  weituo::Status Fill(uint64_t from, uint64_t to) {
    BrokerStore::Batch batch = store_->NewBatch();
    const int n_courts = static_cast<int>(courts_.size());
    const uint64_t completed_every =
        completed_fraction_ > 0 ? static_cast<uint64_t>(1.0 / completed_fraction_ + 0.5) : 0;
    for (uint64_t k = from; k < to; ++k) {
      const weituo::CourtEntry& origin = courts_[k % static_cast<uint64_t>(n_courts)];
      const weituo::CourtEntry& target =
          courts_[(k + 1 + (k / n_courts) % (n_courts - 1)) % static_cast<uint64_t>(n_courts)];
      const bool completed = completed_every && k % completed_every == 0;
      AddOne(batch, MakeCommission(origin.id, target, k, 1024), completed);
      if (batch.count() >= per_batch_ * 10) {
        if (weituo::Status s = store_->Commit(batch, false); !s.ok()) return s;
      }
    }
    batch.PutStateCounts(counts_);
    batch.PutNextDeliveryId(next_delivery_id_);
    // As the broker does: the head it checks at start.
    batch.PutChainHead(chain_position_, chain_head_);
    return store_->Commit(batch, false);
  }

 private:
  // As Broker::Loop::StoreNew (and a delivery acknowledged: nothing left in
  // the outbox); completed ones also as the complete update would leave them.
  void AddOne(BrokerStore::Batch& batch, Commission commission, bool completed) {
    const int64_t now = weituo::NowMs();
    CommissionRecord record;
    *record.mutable_commission() = std::move(commission);
    const Commission& c = record.commission();
    record.set_state(weituo::v1::SUBMITTED);
    record.set_last_seq(1);
    record.set_submitted_at_ms(now);
    record.set_updated_at_ms(now);
    Event submitted;
    submitted.set_commission_id(c.id());
    submitted.set_seq(1);
    submitted.set_type(weituo::v1::EV_SUBMITTED);
    submitted.set_at_ms(now);
    submitted.set_actor_court(c.origin_court());
    submitted.set_state(weituo::v1::SUBMITTED);
    submitted.set_origin_court(c.origin_court());
    submitted.set_target_court(c.target_court());
    submitted.set_hash(weituo::EventHash(submitted));
    record.set_last_hash(submitted.hash());
    batch.PutEvent(submitted);
    AppendToChain(batch, submitted);
    ++next_delivery_id_;  // its delivery, acknowledged
    if (completed) {
      Event done;
      done.set_commission_id(c.id());
      done.set_seq(2);
      done.set_type(weituo::v1::EV_COMPLETED);
      done.set_at_ms(now);
      done.set_actor_court(c.target_court());
      done.set_state(weituo::v1::COMPLETED);
      done.set_origin_court(c.origin_court());
      done.set_target_court(c.target_court());
      done.mutable_update()->set_commission_id(c.id());
      done.mutable_update()
          ->mutable_complete()
          ->mutable_result()
          ->mutable_locate()
          ->set_found_at_place("户籍地");
      done.set_prev_hash(submitted.hash());
      done.set_hash(weituo::EventHash(done));
      batch.PutEvent(done);
      AppendToChain(batch, done);
      record.set_state(weituo::v1::COMPLETED);
      record.set_last_seq(2);
      record.set_last_hash(done.hash());
      record.set_closed_at_ms(now);
      *record.mutable_result() = done.update().complete().result();
    } else {
      weituo::DeadlineReview review = weituo::ReviewDeadlines(policy_, c, {submitted}, now);
      if (review.next_check_ms != 0) batch.PutTimer(review.next_check_ms, c.id());
      record.set_next_check_ms(review.next_check_ms);
    }
    batch.IndexNew(record);
    (*counts_.mutable_by_state())[record.state()]++;
    batch.PutNewCommission(record);
  }

  void AppendToChain(BrokerStore::Batch& batch, const Event& event) {
    weituo::v1::ChainLink link;
    link.set_commission_id(event.commission_id());
    link.set_seq(event.seq());
    link.set_event_hash(event.hash());
    link.set_prev(chain_head_);
    link.set_hash(weituo::LinkHash(chain_head_, event.hash()));
    batch.PutChainLink(++chain_position_, link);
    chain_head_ = link.hash();
  }

  std::unique_ptr<BrokerStore> store_;
  const std::vector<weituo::CourtEntry>& courts_;
  const double completed_fraction_;
  const size_t per_batch_;
  const weituo::DeadlinePolicy policy_;
  weituo::v1::StateCounts counts_;
  uint64_t chain_position_ = 0;
  std::string chain_head_;
  uint64_t next_delivery_id_ = 1;
};

// A plaintext DEALER that says Hello as `court` and submits one commission
// to `target`; the milliseconds from Hello to the SubmitReceipt, or a
// negative number if no receipt came within 10 s.
double OneSubmission(const std::string& endpoint, const weituo::CourtEntry& court,
                     const weituo::CourtEntry& target, std::string* error) {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::routing_id, court.id + "." + std::to_string(::getpid()));
  s.connect(endpoint);
  const auto t0 = Clock::now();
  Envelope hello;
  hello.mutable_hello()->set_court_id(court.id);
  s.send(zmq::buffer(SerializeEnvelope(hello)), zmq::send_flags::none);
  Envelope submit;
  *submit.mutable_submit()->mutable_commission() = MakeCommission(court.id, target, 0, 1024);
  s.send(zmq::buffer(SerializeEnvelope(submit)), zmq::send_flags::none);
  s.set(zmq::sockopt::rcvtimeo, 1000);
  while (Clock::now() - t0 < std::chrono::seconds(10)) {
    zmq::message_t msg;
    if (!s.recv(msg)) continue;
    Envelope env;
    if (!env.ParseFromArray(msg.data(), static_cast<int>(msg.size()))) continue;
    if (env.has_submit_receipt()) {
      return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    }
    if (env.has_error()) {
      *error = env.error().message();
      return -1;
    }
  }
  *error = "no SubmitReceipt within 10 s";
  return -1;
}

// Starts the broker on `data_dir`, measures one start (see the file
// comment) and stops it. Appends `"name":{...}` to `json`; false if the
// broker was not ready, the submission failed or the stop was not clean.
bool MeasureStart(const ScaleOptions& opt, const std::string& name, const std::string& data_dir,
                  const std::string& directory_path, const std::string& log_path,
                  const std::vector<weituo::CourtEntry>& courts, std::string* json) {
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(FreePort());
  const int http_port = FreePort();
  const std::vector<std::string> argv = {WEITUO_BROKER_BIN,
                                         "--data-dir",
                                         data_dir,
                                         "--directory",
                                         directory_path,
                                         "--endpoint",
                                         endpoint,
                                         "--http",
                                         "127.0.0.1:" + std::to_string(http_port),
                                         "--log-level",
                                         "warn",
                                         "--rate-limit",
                                         "0",
                                         "--dev-plaintext"};
  const Clock::time_point t0 = Clock::now();
  BrokerProcess broker(argv, log_path);
  const double ready_ms =
      WaitReady(broker, http_port, t0, std::chrono::seconds(opt.ready_timeout_s));
  if (ready_ms < 0) {
    std::cerr << "scale_bench: the broker was not ready (" << name << "); log:\n"
              << Tail(log_path, 2000) << "\n";
    *json += "\"" + name + "\":{\"ready\":false}";
    return false;
  }
  const double rss_ready = broker.RssMib();
  const double cpu_ready = broker.CpuSeconds();
  std::this_thread::sleep_for(std::chrono::duration<double>(opt.idle_s));
  const double rss_idle = broker.RssMib();
  const double cpu_idle = broker.CpuSeconds() - cpu_ready;
  std::string error;
  const double submit_ms = OneSubmission(endpoint, courts[0], courts[1], &error);
  if (submit_ms < 0) std::cerr << "scale_bench: submission (" << name << "): " << error << "\n";
  const double hwm = broker.PeakRssMib();
  const int fds = OpenFds(broker.pid());
  const Clock::time_point stop_at = Clock::now();
  const int exit_code = broker.Stop(std::chrono::seconds(60), std::chrono::milliseconds(5));
  const double stop_ms = std::chrono::duration<double, std::milli>(Clock::now() - stop_at).count();
  *json += "\"" + name + "\":{\"ready\":true,\"ready_ms\":" + Fixed(ready_ms, 1) +
           ",\"cpu_to_ready_s\":" + Fixed(cpu_ready, 2) +
           ",\"rss_ready_mib\":" + Fixed(rss_ready, 1) + ",\"rss_idle_mib\":" + Fixed(rss_idle, 1) +
           ",\"idle_s\":" + Fixed(opt.idle_s, 1) + ",\"idle_cpu_s\":" + Fixed(cpu_idle, 2) +
           ",\"peak_rss_mib\":" + Fixed(hwm, 1) + ",\"open_fds\":" + std::to_string(fds) +
           ",\"submit_ms\":" + Fixed(submit_ms, 1) + ",\"stop_ms\":" + Fixed(stop_ms, 1) +
           ",\"exit\":" + std::to_string(exit_code) + "}";
  if (exit_code != 0) {
    std::cerr << "scale_bench: broker exited with " << exit_code << " (" << name << "); log:\n"
              << Tail(log_path, 2000) << "\n";
  }
  return submit_ms >= 0 && exit_code == 0;
}

int RunStored(const ScaleOptions& opt) {
  TempDir dir(opt.tmp, "weituo-scale");
  if (opt.keep) dir.Keep();
  const std::vector<weituo::CourtEntry> courts = MakeCourts(std::max(opt.courts, 2));
  const std::string directory_path = dir.path() + "/courts.toml";
  WriteFile(directory_path, RenderDirectory(courts, kDirectoryHeading));
  const std::string data_dir = dir.path() + "/broker";
  const std::string log_path = dir.path() + "/broker.log";

  std::vector<uint64_t> counts = opt.counts;
  std::sort(counts.begin(), counts.end());
  uint64_t stored = 0;
  double seconds_per_commission = 0;  // of the last fill
  double bytes_per_commission = 2048;
  bool all_ok = true;
  for (uint64_t n : counts) {
    // Grow the store to n, unless the disk or the time would not allow it.
    const uint64_t add = n - stored;
    const double need_gib = static_cast<double>(add) * bytes_per_commission / (1 << 30);
    const double free_gib = FreeGib(opt.tmp);
    if (free_gib - need_gib < opt.min_free_gib) {
      std::cerr << "scale_bench: skipping " << n << " and above: needs ~" << Fixed(need_gib, 1)
                << " GiB more, " << Fixed(free_gib, 1) << " GiB free under " << opt.tmp << "\n";
      break;
    }
    if (seconds_per_commission * static_cast<double>(add) > opt.max_fill_s) {
      std::cerr << "scale_bench: skipping " << n << " and above: filling would take ~"
                << Fixed(seconds_per_commission * static_cast<double>(add), 0) << " s (over "
                << opt.max_fill_s << " s)\n";
      break;
    }
    const Clock::time_point fill_start = Clock::now();
    {
      auto store = BrokerStore::Open(data_dir);
      if (!store.ok()) {
        std::cerr << "scale_bench: open " << data_dir << ": " << store.status().ToString() << "\n";
        return 1;
      }
      // On a new store this only marks the index as current, as a broker
      // starting on an empty folder does; afterwards it is a no-op.
      if (weituo::Status s = (*store)->MigrateIndex(); !s.ok()) {
        std::cerr << "scale_bench: " << s.ToString() << "\n";
        return 1;
      }
      StoreFiller filler(std::move(store).value(), courts, opt.completed_fraction, opt.batch);
      weituo::Status s = filler.Resume();
      if (s.ok()) s = filler.Fill(stored, n);
      if (!s.ok()) {
        std::cerr << "scale_bench: filling to " << n << ": " << s.ToString() << "\n";
        return 1;
      }
    }  // closed: the broker needs the lock
    const double fill_s = std::chrono::duration<double>(Clock::now() - fill_start).count();
    if (add > 0) seconds_per_commission = fill_s / static_cast<double>(add);
    stored = n;
    const uint64_t disk_after_fill = DiskBytes(data_dir);
    if (n > 0) bytes_per_commission = static_cast<double>(disk_after_fill) / static_cast<double>(n);

    std::string json =
        "{\"mode\":\"stored\",\"stored\":" + std::to_string(n) +
        ",\"courts\":" + std::to_string(courts.size()) +
        ",\"completed_fraction\":" + Fixed(opt.completed_fraction, 2) +
        ",\"fill_s\":" + Fixed(fill_s, 1) +
        ",\"fill_per_s\":" + Fixed(fill_s > 0 ? static_cast<double>(add) / fill_s : 0, 0) +
        ",\"disk_mib_after_fill\":" + Fixed(static_cast<double>(disk_after_fill) / (1 << 20), 1) +
        ",";
    bool ok = MeasureStart(opt, "first", data_dir, directory_path, log_path, courts, &json);
    json += ",";
    ok = MeasureStart(opt, "restart", data_dir, directory_path, log_path, courts, &json) && ok;
    json += ",\"disk_mib\":" + Fixed(static_cast<double>(DiskBytes(data_dir)) / (1 << 20), 1) +
            ",\"ok\":" + (ok ? "true" : "false") + "}";
    std::cout << json << std::endl;
    all_ok = all_ok && ok;
    // Each start added one commission.
    stored += 2;
  }
  if (opt.keep) std::cerr << "scale_bench: kept " << dir.path() << "\n";
  return all_ok ? 0 : 1;
}

// ---- Agents mode ----

struct CourtKeys {
  std::string public_key;
  std::string secret_key;
};

// What every client thread shares: read-only after construction, except the
// atomics.
struct Shared {
  std::vector<weituo::CourtEntry> courts;
  std::vector<CourtKeys> keys;
  std::string broker_public_key;
  std::string endpoint;
  uint64_t total = 0;  // commissions to submit
  double rate = 0;
  double connect_rate = 0;  // 0: connect all at once
  int tick_ms = 5;
  int64_t connect_t0 = 0;              // steady ns
  std::atomic<int64_t> traffic_t0{0};  // steady ns; 0 until traffic starts
  std::atomic<bool> stop{false};
  std::atomic<int> welcomed{0};
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> send_failures{0};
  std::atomic<uint64_t> receipts{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> acked{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> heartbeats_sent{0};
  std::atomic<uint64_t> heartbeats_received{0};
  std::atomic<uint64_t> hellos_resent{0};
  std::atomic<int64_t> last_delivered_ns{0};
  std::unique_ptr<std::atomic<uint32_t>[]> received;  // per court: commissions delivered to it
  std::mutex mu;
  std::vector<double> latency_ms;  // submit (scheduled) to delivered, merged at the end
  std::string first_error;
  int heartbeat_ms = 0;  // as the first Welcome said
};

// One client thread: the DEALERs of courts i with i % threads == index,
// polled together. Owns its sockets.
class ClientThread {
 public:
  ClientThread(Shared& shared, zmq::context_t& ctx, int index, int threads)
      : shared_(shared), ctx_(ctx), index_(index), threads_(threads) {}

  void Start() {
    thread_ = std::thread([this] {
      try {
        Run();
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(shared_.mu);
        if (shared_.first_error.empty())
          shared_.first_error = std::string("client thread: ") + e.what();
        ++shared_.errors;
      }
    });
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Conn {
    int court = 0;
    std::unique_ptr<zmq::socket_t> socket;
    bool welcomed = false;
    int64_t hello_ns = 0;
    int64_t next_heartbeat_ns = 0;
  };

  void Hello(Conn& c, int64_t now) {
    Envelope env;
    env.mutable_hello()->set_court_id(shared_.courts[static_cast<size_t>(c.court)].id);
    env.mutable_hello()->set_agent_version("scale_bench");
    Send(c, SerializeEnvelope(env));
    c.hello_ns = now;
  }

  bool Send(Conn& c, const std::string& bytes) {
    auto sent = c.socket->send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    return sent.has_value();
  }

  void Run() {
    std::mt19937_64 random(std::random_device{}() ^ static_cast<uint64_t>(index_));
    const int n = static_cast<int>(shared_.courts.size());
    for (int i = index_; i < n; i += threads_) {
      Conn c;
      c.court = i;
      conns_.push_back(std::move(c));
    }
    // This thread's submissions: slot k goes from court k % n.
    std::vector<uint64_t> slots;
    std::map<int, size_t> conn_of_court;
    for (size_t j = 0; j < conns_.size(); ++j) conn_of_court[conns_[j].court] = j;
    for (uint64_t k = 0; k < shared_.total; ++k) {
      if (static_cast<int>(k % static_cast<uint64_t>(n)) % threads_ == index_) slots.push_back(k);
    }
    size_t next_slot = 0;
    size_t connected = 0;
    std::vector<zmq::pollitem_t> items;
    const auto tick = std::chrono::milliseconds(shared_.tick_ms);
    const int64_t hb_ns = static_cast<int64_t>(std::max(shared_.heartbeat_ms, 100)) * 1000000;

    while (!shared_.stop) {
      const Clock::time_point turn_start = Clock::now();
      // Connect the sockets now due (all at once without a connect rate).
      while (connected < conns_.size()) {
        Conn& c = conns_[connected];
        const int64_t due =
            shared_.connect_t0 + (shared_.connect_rate > 0
                                      ? static_cast<int64_t>(c.court * 1e9 / shared_.connect_rate)
                                      : 0);
        if (due > Nanos(turn_start)) break;
        Connect(c, random);
        items.push_back({c.socket->handle(), 0, ZMQ_POLLIN, 0});
        ++connected;
      }
      if (!items.empty()) zmq::poll(items.data(), items.size(), tick);
      int64_t now = Nanos(Clock::now());
      for (size_t j = 0; j < items.size(); ++j) {
        if (items[j].revents & ZMQ_POLLIN) Drain(conns_[j], now);
      }
      now = Nanos(Clock::now());
      for (size_t j = 0; j < connected; ++j) {
        Conn& c = conns_[j];
        if (c.welcomed) {
          if (now >= c.next_heartbeat_ns) {
            Envelope hb;
            hb.mutable_heartbeat()->set_at_ms(weituo::NowMs());
            if (Send(c, SerializeEnvelope(hb))) ++shared_.heartbeats_sent;
            c.next_heartbeat_ns = now + hb_ns;
          }
        } else if (now - c.hello_ns > 10'000'000'000LL) {
          Hello(c, now);  // no Welcome in 10 s: say Hello again
          ++shared_.hellos_resent;
        }
      }
      SubmitDue(slots, next_slot, conn_of_court, now);
      // At most one turn a tick: a turn per arriving message would pass over
      // every socket each time, and the bench would crowd out the broker.
      std::this_thread::sleep_until(turn_start + tick);
    }
    std::lock_guard<std::mutex> lock(shared_.mu);
    shared_.latency_ms.insert(shared_.latency_ms.end(), latency_ms_.begin(), latency_ms_.end());
  }

  // Opens court c's DEALER (CURVE unless the broker key is empty), connects
  // it and says Hello.
  void Connect(Conn& c, std::mt19937_64& random) {
    const size_t i = static_cast<size_t>(c.court);
    c.socket = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
    char rid[32];
    std::snprintf(rid, sizeof rid, ".%016llx", static_cast<unsigned long long>(random()));
    c.socket->set(zmq::sockopt::routing_id, shared_.courts[i].id + rid);
    c.socket->set(zmq::sockopt::linger, 0);
    if (!shared_.broker_public_key.empty()) {
      c.socket->set(zmq::sockopt::curve_serverkey, shared_.broker_public_key);
      c.socket->set(zmq::sockopt::curve_publickey, shared_.keys[i].public_key);
      c.socket->set(zmq::sockopt::curve_secretkey, shared_.keys[i].secret_key);
    }
    c.socket->connect(shared_.endpoint);
    Hello(c, Nanos(Clock::now()));
  }

  // Sends this thread's submissions due by `now`: slot k from court k % n
  // to the court after it, then the one after that, and so on.
  void SubmitDue(const std::vector<uint64_t>& slots, size_t& next_slot,
                 std::map<int, size_t>& conn_of_court, int64_t now) {
    const int64_t t0 = shared_.traffic_t0;
    if (t0 == 0) return;
    const uint64_t n = shared_.courts.size();
    while (next_slot < slots.size()) {
      const uint64_t k = slots[next_slot];
      const int64_t due = t0 + static_cast<int64_t>(static_cast<double>(k) * 1e9 / shared_.rate);
      if (due > now) break;
      const int origin = static_cast<int>(k % n);
      const size_t target = (k + 1 + (k / n) % (n - 1)) % n;
      Commission commission = MakeCommission(shared_.courts[static_cast<size_t>(origin)].id,
                                             shared_.courts[target], k, 1024);
      commission.set_campaign("t" + std::to_string(due));  // scheduled time, for latency
      Envelope env;
      *env.mutable_submit()->mutable_commission() = std::move(commission);
      if (Send(conns_[conn_of_court[origin]], SerializeEnvelope(env))) {
        ++shared_.sent;
      } else {
        ++shared_.send_failures;
      }
      ++next_slot;
    }
  }

  void Drain(Conn& c, int64_t now) {
    for (;;) {
      zmq::message_t msg;
      if (!c.socket->recv(msg, zmq::recv_flags::dontwait)) return;
      Envelope env;
      if (!env.ParseFromArray(msg.data(), static_cast<int>(msg.size()))) {
        ++shared_.errors;
        continue;
      }
      if (env.has_welcome()) {
        if (!c.welcomed) {
          c.welcomed = true;
          ++shared_.welcomed;
        }
        c.next_heartbeat_ns = now + static_cast<int64_t>(env.welcome().heartbeat_ms()) * 1000000;
      } else if (env.has_heartbeat()) {
        ++shared_.heartbeats_received;
      } else if (env.has_deliver()) {
        const auto& d = env.deliver();
        Envelope ack;
        ack.mutable_ack()->add_delivery_ids(d.delivery_id());
        if (Send(c, SerializeEnvelope(ack))) ++shared_.acked;
        if (d.has_commission()) {
          const std::string& campaign = d.commission().campaign();
          if (campaign.size() > 1 && campaign[0] == 't') {
            const int64_t due = std::stoll(campaign.substr(1));
            latency_ms_.push_back(static_cast<double>(Nanos(Clock::now()) - due) / 1e6);
          }
          shared_.received[static_cast<size_t>(c.court)]++;
          ++shared_.delivered;
          shared_.last_delivered_ns = Nanos(Clock::now());
        }
      } else if (env.has_submit_receipt()) {
        ++shared_.receipts;
      } else if (env.has_error()) {
        ++shared_.errors;
        if (env.error().code() == weituo::v1::NOT_IDENTIFIED) {
          c.welcomed = false;
          Hello(c, now);
          ++shared_.hellos_resent;
        }
        std::lock_guard<std::mutex> lock(shared_.mu);
        if (shared_.first_error.empty()) {
          shared_.first_error = shared_.courts[static_cast<size_t>(c.court)].id + ": " +
                                weituo::v1::ErrorCode_Name(env.error().code()) + " " +
                                env.error().message();
        }
      }
    }
  }

  Shared& shared_;
  zmq::context_t& ctx_;
  const int index_;
  const int threads_;
  std::vector<Conn> conns_;
  std::vector<double> latency_ms_;
  std::thread thread_;
};

// One run with `n` agents; prints its JSON line. False if any court did not
// connect or receive, or the broker failed.
bool RunAgentsOnce(const ScaleOptions& opt, int n) {
  TempDir dir(opt.tmp, "weituo-scale");
  if (opt.keep) dir.Keep();
  Shared shared;
  shared.courts = MakeCourts(n);
  for (weituo::CourtEntry& e : shared.courts) {
    auto keys = weituo::GenerateCurveKeyPair();
    if (!keys.ok()) throw std::runtime_error(keys.status().ToString());
    e.curve_keys = {keys->public_key};
    shared.keys.push_back({keys->public_key, keys->secret_key});
  }
  auto broker_keys = weituo::GenerateCurveKeyPair();
  if (!broker_keys.ok()) throw std::runtime_error(broker_keys.status().ToString());
  if (weituo::Status s = weituo::WriteCertificate(dir.path() + "/broker", *broker_keys,
                                                  {{"role", "broker"}}, false);
      !s.ok()) {
    throw std::runtime_error(s.ToString());
  }
  shared.broker_public_key = broker_keys->public_key;
  const std::string directory_path = dir.path() + "/courts.toml";
  WriteFile(directory_path, RenderDirectory(shared.courts, kDirectoryHeading));
  shared.endpoint = "tcp://127.0.0.1:" + std::to_string(FreePort());
  shared.total = static_cast<uint64_t>(n) * static_cast<uint64_t>(opt.per_court);
  shared.rate = opt.rate;
  shared.connect_rate = opt.connect_rate;
  shared.tick_ms = opt.client_tick_ms;
  shared.received = std::make_unique<std::atomic<uint32_t>[]>(static_cast<size_t>(n));

  const int http_port = FreePort();
  const std::string log_path = dir.path() + "/broker.log";
  BrokerProcess broker(
      {WEITUO_BROKER_BIN, "--data-dir", dir.path() + "/broker", "--directory", directory_path,
       "--endpoint", shared.endpoint, "--http", "127.0.0.1:" + std::to_string(http_port),
       "--log-level", "warn", "--rate-limit", "0", "--sync", opt.sync ? "true" : "false",
       "--curve-secret-key-file", dir.path() + "/broker.key_secret",
       // Every court connects from this one address, all at once.
       "--max-connections-per-address", std::to_string(n + 16), "--max-handshakes-per-address",
       std::to_string(n + 16)},
      log_path);
  const Clock::time_point started = Clock::now();
  const double ready_ms = WaitReady(broker, http_port, started, std::chrono::seconds(60));
  if (ready_ms < 0) {
    std::cerr << "scale_bench: the broker was not ready; log:\n" << Tail(log_path, 2000) << "\n";
    return false;
  }
  const double rss_empty = broker.RssMib();
  const int fds_empty = OpenFds(broker.pid());

  // Connect everyone.
  shared.heartbeat_ms = 1000;
  zmq::context_t ctx(2);
  ctx.set(zmq::ctxopt::max_sockets, n + 64);
  const int threads = std::max(1, std::min(opt.threads, n));
  std::vector<std::unique_ptr<ClientThread>> clients;
  const double cpu_before_connect = broker.CpuSeconds();
  const Clock::time_point connect_start = Clock::now();
  shared.connect_t0 = Nanos(connect_start);
  for (int t = 0; t < threads; ++t) {
    clients.push_back(std::make_unique<ClientThread>(shared, ctx, t, threads));
    clients.back()->Start();
  }
  bool all_connected = false;
  while (Clock::now() - connect_start < std::chrono::seconds(opt.connect_timeout_s)) {
    if (shared.welcomed >= n) {
      all_connected = true;
      break;
    }
    if (!broker.Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const double connect_s = std::chrono::duration<double>(Clock::now() - connect_start).count();
  const double connect_cpu = broker.CpuSeconds() - cpu_before_connect;
  const int welcomed_at_connect = shared.welcomed;

  // Idle: heartbeats only.
  const double cpu_idle_start = broker.CpuSeconds();
  const uint64_t hb_before = shared.heartbeats_received;
  const Clock::time_point idle_start = Clock::now();
  if (all_connected) std::this_thread::sleep_for(std::chrono::duration<double>(opt.idle_s));
  const double idle_s = std::chrono::duration<double>(Clock::now() - idle_start).count();
  const double idle_cpu = broker.CpuSeconds() - cpu_idle_start;
  const double hb_per_s = static_cast<double>(shared.heartbeats_received - hb_before) / idle_s;
  const double rss_connected = broker.RssMib();
  const int fds_connected = OpenFds(broker.pid());

  // Traffic.
  const double cpu_traffic_start = broker.CpuSeconds();
  const int64_t t0 = Nanos(Clock::now()) + 20'000'000;
  bool timed_out = false;
  if (all_connected) {
    shared.traffic_t0 = t0;
    const double send_s = static_cast<double>(shared.total) / opt.rate;
    const Clock::time_point deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(send_s + opt.deliver_timeout_s));
    while (shared.delivered < shared.total) {
      if (Clock::now() > deadline || !broker.Running()) {
        timed_out = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  const double traffic_cpu = broker.CpuSeconds() - cpu_traffic_start;
  const double traffic_s =
      shared.last_delivered_ns > t0 ? static_cast<double>(shared.last_delivered_ns - t0) / 1e9 : 0;
  const double rss_end = broker.RssMib();
  const double hwm = broker.PeakRssMib();
  const bool broker_alive = broker.Running();

  shared.stop = true;
  for (auto& c : clients) c->Join();
  clients.clear();
  const int exit_code = broker.Stop(std::chrono::seconds(30), std::chrono::milliseconds(5));

  uint32_t min_received = UINT32_MAX;
  int courts_without = 0;
  for (int i = 0; i < n; ++i) {
    const uint32_t r = shared.received[static_cast<size_t>(i)];
    min_received = std::min(min_received, r);
    if (r == 0) ++courts_without;
  }
  const Percentiles latency = PercentilesOf(shared.latency_ms);
  const bool ok = all_connected && !timed_out && courts_without == 0 && broker_alive &&
                  exit_code == 0 && shared.send_failures == 0;
  std::cout << "{\"mode\":\"agents\",\"agents\":" << n << ",\"threads\":" << threads
            << ",\"client_tick_ms\":" << opt.client_tick_ms
            << ",\"connect_rate\":" << Fixed(opt.connect_rate, 0)
            << ",\"sync\":" << (opt.sync ? "true" : "false")
            << ",\"ready_ms\":" << Fixed(ready_ms, 1)
            << ",\"rss_empty_mib\":" << Fixed(rss_empty, 1) << ",\"fds_empty\":" << fds_empty
            << ",\"connected\":" << welcomed_at_connect
            << ",\"connect_all_s\":" << Fixed(connect_s, 2)
            << ",\"connect_cpu_s\":" << Fixed(connect_cpu, 2)
            << ",\"hellos_resent\":" << shared.hellos_resent.load()
            << ",\"rss_connected_mib\":" << Fixed(rss_connected, 1) << ",\"rss_per_agent_kib\":"
            << Fixed(n ? (rss_connected - rss_empty) * 1024.0 / n : 0, 1)
            << ",\"fds_connected\":" << fds_connected << ",\"idle_s\":" << Fixed(idle_s, 1)
            << ",\"idle_cpu_pct\":" << Fixed(100.0 * idle_cpu / idle_s, 1)
            << ",\"heartbeats_from_broker_per_s\":" << Fixed(hb_per_s, 0)
            << ",\"offered_per_s\":" << Fixed(opt.rate, 0) << ",\"commissions\":" << shared.total
            << ",\"sent\":" << shared.sent.load()
            << ",\"send_failures\":" << shared.send_failures.load()
            << ",\"receipts\":" << shared.receipts.load()
            << ",\"delivered\":" << shared.delivered.load() << ",\"delivered_per_s\":"
            << Fixed(traffic_s > 0 ? static_cast<double>(shared.delivered) / traffic_s : 0, 1)
            << ",\"traffic_s\":" << Fixed(traffic_s, 2) << ",\"traffic_cpu_pct\":"
            << Fixed(traffic_s > 0 ? 100.0 * traffic_cpu / traffic_s : 0, 1)
            << ",\"submit_to_deliver_ms\":" << JsonPercentiles(latency)
            << ",\"min_received_per_court\":" << (n ? min_received : 0)
            << ",\"courts_without_delivery\":" << courts_without
            << ",\"errors\":" << shared.errors.load() << ",\"rss_end_mib\":" << Fixed(rss_end, 1)
            << ",\"peak_rss_mib\":" << Fixed(hwm, 1)
            << ",\"timed_out\":" << (timed_out ? "true" : "false") << ",\"exit\":" << exit_code
            << ",\"ok\":" << (ok ? "true" : "false") << "}" << std::endl;
  if (!shared.first_error.empty())
    std::cerr << "scale_bench: first error: " << shared.first_error << "\n";
  if (!ok) std::cerr << "scale_bench: broker log tail:\n" << Tail(log_path, 3000) << "\n";
  if (opt.keep) std::cerr << "scale_bench: kept " << dir.path() << "\n";
  return ok;
}

int RunAgents(const ScaleOptions& opt) {
  bool ok = true;
  for (int n : opt.agents) ok = RunAgentsOnce(opt, n) && ok;
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "scale_bench: broker memory and start-up against stored commissions, and "
      "throughput against connected agents"};
  ScaleOptions opt;
  app.add_option("--mode", opt.mode, "stored or agents")
      ->check(CLI::IsMember({"stored", "agents"}));
  app.add_option("--counts", opt.counts, "stored mode: commission counts, grown in order")
      ->delimiter(',');
  app.add_option("--agents", opt.agents, "agents mode: numbers of connected courts")
      ->delimiter(',')
      ->check(CLI::Range(2, 100000));
  app.add_option("--tmp", opt.tmp, "where the temporary folders go");
  app.add_option("--courts", opt.courts, "stored mode: courts in the directory")
      ->check(CLI::Range(2, 100000));
  app.add_option("--completed-fraction", opt.completed_fraction,
                 "stored mode: share of commissions stored completed")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--batch", opt.batch, "stored mode: commissions per write batch")
      ->check(CLI::PositiveNumber);
  app.add_option("--idle", opt.idle_s, "seconds idle before the second memory reading")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--ready-timeout", opt.ready_timeout_s,
                 "stored mode: seconds to wait for /readyz");
  app.add_option("--max-fill-seconds", opt.max_fill_s,
                 "stored mode: skip a count whose fill is projected to take longer");
  app.add_option("--min-free-gib", opt.min_free_gib, "stored mode: disk to leave free");
  app.add_option("--threads", opt.threads, "agents mode: client threads")->check(CLI::Range(1, 64));
  app.add_option("--rate", opt.rate, "agents mode: commissions offered a second, in total")
      ->check(CLI::PositiveNumber);
  app.add_option("--per-court", opt.per_court, "agents mode: commissions each court submits")
      ->check(CLI::Range(1, 1000));
  app.add_option("--connect-timeout", opt.connect_timeout_s,
                 "agents mode: seconds to wait for every Welcome");
  app.add_option("--connect-rate", opt.connect_rate,
                 "agents mode: new connections a second (0: all at once, as after a broker "
                 "restart)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--client-tick", opt.client_tick_ms,
                 "agents mode: ms of a client thread's turn (poll, acks, heartbeats, sends)")
      ->check(CLI::Range(1, 100));
  app.add_option("--deliver-timeout", opt.deliver_timeout_s,
                 "agents mode: seconds to wait for deliveries after the last send is due");
  app.add_option("--sync", opt.sync, "agents mode: the broker fsyncs its WAL per batch");
  app.add_flag("--keep", opt.keep, "keep the temporary folders");
  CLI11_PARSE(app, argc, argv);
  weituo::InitLogging("scale_bench", "warn");
  try {
    return opt.mode == "stored" ? RunStored(opt) : RunAgents(opt);
  } catch (const std::exception& e) {
    std::cerr << "scale_bench: " << e.what() << "\n";
    return 1;
  }
}
