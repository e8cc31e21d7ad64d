// weituo_bench: throughput and latency of a real zone. Starts a real
// weituo-broker process on a free loopback port in a fresh temporary folder,
// opens up to eight court agents in this process with the SDK, and has each
// agent submit ~1 KB DEBTOR_LOCATE commissions to the other courts.
//
// Two modes. Closed loop (default): every agent submits its share of --count
// as fast as Agent::Submit returns (one synced write to the agent's outbox
// per call), one thread per agent. Open loop (--rate R): the agents together
// offer R commissions a second for --seconds S, each on a fixed schedule;
// latency is measured from the scheduled time, so a submitter that falls
// behind does not hide the delay (no coordinated omission).
//
// Security (--security): curve (default) runs the zone as deployed: the
// bench generates a key pair for the broker and for every court of the
// directory into its temporary folder, writes a copy of the directory with
// each court's curve_keys, and connects every agent with CURVE. plaintext
// runs the broker with --dev-plaintext. Either way the broker's per-court
// rate limit is off: the bench measures throughput, not the limiter.
//
// Status polling (--poll-status HZ): the broker serves its operator HTTP
// API on a free loopback port, and a poller thread GETs /api/status HZ times
// a second over a fresh connection each time, as a dashboard or monitoring
// poller does, from the start of the measured phase until every receipt is
// in (or the timeout). Without it the broker runs with --http off.
//
// Measured, per commission, from the start of the Submit call:
//   receipt    the origin's OnEvent sees EV_SUBMITTED (durable at the broker)
//   delivered  the target's OnCommission handler runs (durable at the target)
//   dlv-rcpt   the origin's OnEvent sees EV_DELIVERED (the delivery receipt)
//   completed  with --answer: the origin's OnEvent sees EV_COMPLETED; the
//              target answers each commission with accept, then complete,
//              from one answering thread per agent
//
// Threading: main thread runs the broker process and waits; one submitter
// thread per agent; the agents' I/O threads run the handlers, which record
// times under one mutex; with --poll-status, one poller thread; with
// --answer, one answering thread per agent.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench_commission.h"
#include "bench_measure.h"
#include "bench_zone.h"
#include "weituo/agent/agent.h"
#include "weituo/common/clock.h"
#include "weituo/common/curve.h"
#include "weituo/common/directory.h"
#include "weituo/common/ids.h"
#include "weituo/common/logging.h"
#include "weituo/v1/commission.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using weituo::agent::Agent;
using weituo::agent::AgentOptions;
using weituo::bench::BrokerProcess;
using weituo::bench::Fixed;
using weituo::bench::FreePort;
using weituo::bench::HttpGet;
using weituo::bench::JsonPercentiles;
using weituo::bench::kCourts;
using weituo::bench::MakeCommission;
using weituo::bench::MakeZoneKeys;
using weituo::bench::Nanos;
using weituo::bench::OwnCpuSeconds;
using weituo::bench::Percentiles;
using weituo::bench::PercentilesOf;
using weituo::bench::Recorder;
using weituo::bench::Sample;
using weituo::bench::Tail;
using weituo::bench::TempDir;
using weituo::bench::ZoneKeys;
using weituo::v1::Commission;
using weituo::v1::Event;

struct BenchOptions {
  int agents = 8;
  int count = 20000;
  bool sync = true;
  double rate = 0;  // > 0: open loop at this many commissions a second
  double seconds = 10;
  int payload_bytes = 1024;
  int timeout_s = 120;
  bool json = false;
  bool keep = false;
  std::string security = "curve";  // or "plaintext"
  double poll_status_hz = 0;       // > 0: GET /api/status this many times a second
  bool answer = false;             // the target accepts and completes each commission
};

// GETs /api/status from the broker's HTTP port `hz` times a second, on a
// fixed schedule from Start(), one fresh connection per request. Like a
// ticker with room for one tick: if ticks come while a request runs, the
// next request starts at once and the older ticks are dropped. A request
// fails if it errs, times out (1 s) or is not 200 OK.
//
// Threading: Start() runs the poller on its own thread and Stop() joins it;
// the results may be read only after Stop().
class StatusPoller {
 public:
  // `token` is the broker's read token, which /api/status needs.
  StatusPoller(int port, std::string token, double hz)
      : port_(port), token_(std::move(token)), hz_(hz) {}
  ~StatusPoller() { Stop(); }
  StatusPoller(const StatusPoller&) = delete;
  StatusPoller& operator=(const StatusPoller&) = delete;

  void Start() {
    started_ = Clock::now();
    thread_ = std::thread([this] { Poll(); });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
      stopped_ = Clock::now();
    }
  }

  uint64_t polls() const { return polls_; }
  uint64_t failures() const { return failures_; }
  const std::string& first_error() const { return first_error_; }
  // Requests done per second between Start() and Stop().
  double per_second() const {
    double s = std::chrono::duration<double>(stopped_ - started_).count();
    return s > 0 ? static_cast<double>(polls_) / s : 0;
  }
  // Time of each request, connect to last byte, in ms (failed ones too).
  Percentiles request_ms() const { return PercentilesOf(request_ms_); }
  // Mean body size of the successful responses.
  double mean_body_bytes() const {
    uint64_t ok = polls_ - failures_;
    return ok ? static_cast<double>(body_bytes_) / static_cast<double>(ok) : 0;
  }

 private:
  void Poll() {
    const Clock::duration period =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / hz_));
    for (int64_t tick = 0; !stop_; ++tick) {
      std::this_thread::sleep_until(started_ + tick * period);
      if (stop_) break;
      const Clock::time_point begin = Clock::now();
      auto reply = HttpGet(port_, "/api/status", std::chrono::milliseconds(1000), token_);
      const Clock::time_point end = Clock::now();
      request_ms_.push_back(std::chrono::duration<double, std::milli>(end - begin).count());
      ++polls_;
      if (!reply.ok() || reply->status != 200) {
        ++failures_;
        if (first_error_.empty()) {
          first_error_ = reply.ok() ? "GET /api/status: HTTP " + std::to_string(reply->status)
                                    : reply.status().ToString();
        }
      } else {
        body_bytes_ += reply->body_bytes;
      }
      // Serve the latest tick that has come, drop any before it.
      const int64_t latest_due = (Clock::now() - started_) / period;
      tick = std::max(tick, latest_due - 1);
    }
  }

  const int port_;
  const std::string token_;
  const double hz_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  Clock::time_point started_{};
  Clock::time_point stopped_{};
  uint64_t polls_ = 0;
  uint64_t failures_ = 0;
  uint64_t body_bytes_ = 0;
  std::string first_error_;
  std::vector<double> request_ms_;
};

// With --answer: one thread per target agent that sends, for each delivered
// commission, an accept and then a complete (two synced SendUpdate calls),
// as a court's clerk would, off the agent's I/O thread.
class Answerer {
 public:
  explicit Answerer(Agent& agent) : agent_(agent), thread_([this] { Run(); }) {}
  ~Answerer() { Stop(); }
  void Push(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(id);
    cv_.notify_one();
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }
  std::atomic<uint64_t> failures{0};

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      std::string id = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      weituo::v1::Update accept, complete;
      accept.set_commission_id(id);
      accept.mutable_accept()->set_handler("执行员 bench");
      complete.set_commission_id(id);
      complete.mutable_complete()->mutable_result()->mutable_locate()->set_found_at_place("户籍地");
      if (!agent_.SendUpdate(accept).ok() || !agent_.SendUpdate(complete).ok()) ++failures;
      lock.lock();
    }
  }
  Agent& agent_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stop_ = false;
  std::thread thread_;
};

// Nearest-rank percentiles, in ms, of the samples that have both times.
Percentiles Measure(const std::vector<Sample>& samples, int64_t Sample::*to) {
  std::vector<double> ms;
  ms.reserve(samples.size());
  for (const Sample& s : samples) {
    if (s.*to) ms.push_back(static_cast<double>(s.*to - s.start) / 1e6);
  }
  return PercentilesOf(std::move(ms));
}

struct Rate {
  uint64_t n = 0;
  double seconds = 0;
  double per_second = 0;
};

// How many samples reached `to`, over the time from the first start to the
// last `to`.
Rate Throughput(const std::vector<Sample>& samples, int64_t Sample::*to) {
  int64_t first = 0, last = 0;
  Rate r;
  for (const Sample& s : samples) {
    if (!first || s.start < first) first = s.start;
    if (s.*to) {
      ++r.n;
      last = std::max(last, s.*to);
    }
  }
  if (r.n == 0 || last <= first) return r;
  r.seconds = static_cast<double>(last - first) / 1e9;
  r.per_second = static_cast<double>(r.n) / r.seconds;
  return r;
}

int Run(const BenchOptions& opt) {
  weituo::InitLogging("weituo_bench", "warn");
  const std::string source_dir = WEITUO_SOURCE_DIR;
  const std::string directory_path = source_dir + "/deploy/zone/courts.toml";
  auto directory = weituo::CourtDirectory::LoadFile(directory_path);
  if (!directory.ok()) {
    std::cerr << "weituo_bench: " << directory.status().ToString() << "\n";
    return 2;
  }
  const int n_agents = std::min<int>(opt.agents, kCourts.size());
  std::vector<const weituo::CourtEntry*> courts;
  for (int i = 0; i < n_agents; ++i) {
    const weituo::CourtEntry* entry = directory->Find(kCourts[i]);
    if (!entry) {
      std::cerr << "weituo_bench: court " << kCourts[i] << " not in " << directory_path << "\n";
      return 2;
    }
    courts.push_back(entry);
  }

  const bool open_loop = opt.rate > 0;
  const size_t total =
      open_loop ? static_cast<size_t>(opt.rate * opt.seconds) : static_cast<size_t>(opt.count);

  TempDir dir;
  if (opt.keep) dir.Keep();
  const bool curve = opt.security == "curve";
  ZoneKeys zone;
  if (curve) {
    const std::string keys_folder = dir.path() + "/keys";
    std::filesystem::create_directory(keys_folder);
    auto made = MakeZoneKeys(*directory, keys_folder);
    if (!made.ok()) {
      std::cerr << "weituo_bench: " << made.status().ToString() << "\n";
      return 2;
    }
    zone = std::move(made).value();
  }
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(FreePort());
  const std::string broker_log = dir.path() + "/broker.log";
  const bool poll_status = opt.poll_status_hz > 0;
  const int http_port = poll_status ? FreePort() : 0;
  std::vector<std::string> broker_argv(
      {WEITUO_BROKER_BIN, "--data-dir", dir.path() + "/broker", "--directory",
       curve ? zone.directory_path : directory_path, "--endpoint", endpoint, "--http",
       poll_status ? "127.0.0.1:" + std::to_string(http_port) : "off", "--log-level", "warn",
       "--sync", opt.sync ? "true" : "false", "--rate-limit", "0"});
  if (curve) {
    broker_argv.insert(broker_argv.end(), {"--curve-secret-key-file", zone.broker_secret_file});
  } else {
    broker_argv.push_back("--dev-plaintext");
  }
  BrokerProcess broker(broker_argv, broker_log);

  Recorder recorder(total);
  std::vector<std::unique_ptr<Answerer>> answerers;  // outlive the agents' I/O threads
  std::vector<std::unique_ptr<Agent>> agents;
  for (const weituo::CourtEntry* court : courts) {
    AgentOptions options;
    options.court_id = court->id;
    options.broker_endpoint = endpoint;
    options.data_dir = dir.path() + "/agent-" + court->id;
    options.control_endpoint = "";
    if (curve) {
      options.curve_secret_key = zone.secret_keys.at(court->id);
      options.broker_public_key = zone.broker.public_key;
    } else {
      options.plaintext = true;
    }
    auto agent = Agent::Open(options);
    if (!agent.ok()) {
      std::cerr << "weituo_bench: open agent " << court->id << ": " << agent.status().ToString()
                << "\n";
      return 1;
    }
    Answerer* answerer = nullptr;
    if (opt.answer) answerer = answerers.emplace_back(std::make_unique<Answerer>(**agent)).get();
    (*agent)->OnCommission(weituo::v1::DEBTOR_LOCATE,
                           [&recorder, answerer](Agent&, const Commission& c) {
                             recorder.Delivered(c.id(), Nanos(Clock::now()));
                             if (answerer) answerer->Push(c.id());
                           });
    (*agent)->OnEvent([&recorder](Agent&, const Event& e) {
      if (e.type() == weituo::v1::EV_SUBMITTED) {
        recorder.Receipt(e.commission_id(), Nanos(Clock::now()));
      } else if (e.type() == weituo::v1::EV_DELIVERED) {
        recorder.DeliveryReceipt(e.commission_id(), Nanos(Clock::now()));
      } else if (e.type() == weituo::v1::EV_COMPLETED) {
        recorder.Completed(e.commission_id(), Nanos(Clock::now()));
      }
    });
    agents.push_back(std::move(agent).value());
  }
  for (auto& agent : agents) {
    if (weituo::Status s = agent->Start(); !s.ok()) {
      std::cerr << "weituo_bench: start agent " << agent->court_id() << ": " << s.ToString()
                << "\n";
      return 1;
    }
  }

  // Ready when every agent has its Welcome.
  auto ready_deadline = Clock::now() + std::chrono::seconds(15);
  for (;;) {
    bool all = std::all_of(agents.begin(), agents.end(),
                           [](const auto& a) { return a->GetStatus().connected(); });
    if (all) break;
    if (!broker.Running() || Clock::now() > ready_deadline) {
      std::cerr << "weituo_bench: agents did not connect to the broker at " << endpoint
                << "; broker log:\n"
                << Tail(broker_log, 2000) << "\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // And, when polling, when the broker answers /api/status with the read
  // token it made in its data folder.
  std::string read_token;
  while (poll_status) {
    std::ifstream(dir.path() + "/broker/read.token") >> read_token;
    auto reply = HttpGet(http_port, "/api/status", std::chrono::milliseconds(1000), read_token);
    if (reply.ok() && reply->status == 200) break;
    if (!broker.Running() || Clock::now() > ready_deadline) {
      std::cerr << "weituo_bench: the broker does not answer /api/status on port " << http_port
                << " ("
                << (reply.ok() ? "HTTP " + std::to_string(reply->status)
                               : reply.status().ToString())
                << "); broker log:\n"
                << Tail(broker_log, 2000) << "\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  // Submitters: agent i owns slots i, i+N, i+2N, ...; its k-th commission
  // goes to the k-th of the other courts, round robin.
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> encoded_bytes{0};
  std::mutex error_mu;
  std::string first_error;
  const double broker_cpu_before = broker.CpuSeconds();
  const double own_cpu_before = OwnCpuSeconds();
  const Clock::time_point t0 = Clock::now() + std::chrono::milliseconds(10);
  StatusPoller poller(http_port, read_token, opt.poll_status_hz);
  if (poll_status) poller.Start();
  std::vector<std::thread> submitters;
  for (int a = 0; a < n_agents; ++a) {
    submitters.emplace_back([&, a] {
      Agent& agent = *agents[a];
      size_t k = 0;
      for (size_t slot = a; slot < total; slot += n_agents, ++k) {
        const weituo::CourtEntry& target = *courts[(a + 1 + k % (n_agents - 1)) % n_agents];
        Clock::time_point start;
        if (open_loop) {
          // Slot s is due at t0 + s/R, whatever happened before it.
          start = t0 + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(static_cast<double>(slot) / opt.rate));
          std::this_thread::sleep_until(start);
        } else {
          start = Clock::now();
        }
        Commission c = MakeCommission(agent.court_id(), target, slot, opt.payload_bytes);
        encoded_bytes += c.ByteSizeLong();
        recorder.Begin(slot, c.id(), Nanos(start));
        auto id = agent.Submit(std::move(c));
        if (!id.ok()) {
          ++failures;
          std::lock_guard<std::mutex> lock(error_mu);
          if (first_error.empty()) first_error = id.status().ToString();
          continue;
        }
        recorder.Returned(slot, Nanos(Clock::now()));
      }
    });
  }
  for (std::thread& t : submitters) t.join();
  const Clock::time_point submitted_at = Clock::now();
  const uint64_t submitted = total - failures.load();

  // Wait for every receipt, delivery and delivery receipt, or the timeout.
  const auto deadline = submitted_at + std::chrono::seconds(opt.timeout_s);
  bool timed_out = false;
  while (recorder.receipts() < submitted || recorder.delivered() < submitted ||
         recorder.delivery_receipts() < submitted ||
         (opt.answer && recorder.completed() < submitted)) {
    if (Clock::now() > deadline || !broker.Running()) {
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  poller.Stop();
  const bool broker_died = !broker.Running();
  const double broker_cpu = broker.CpuSeconds() - broker_cpu_before;
  const double broker_peak_rss_mib = broker.PeakRssMib();
  const double own_cpu = OwnCpuSeconds() - own_cpu_before;
  const double run_seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  uint64_t answer_failures = 0;
  for (auto& answerer : answerers) {
    answerer->Stop();
    answer_failures += answerer->failures;
  }
  for (auto& agent : agents) agent->Stop();
  agents.clear();
  const int broker_exit = broker.Stop(std::chrono::seconds(10));
  if (broker_died || broker_exit != 0) {
    std::cerr << "weituo_bench: broker exited with " << broker_exit << "; log:\n"
              << Tail(broker_log, 2000) << "\n";
  }

  // Report.
  const std::vector<Sample> samples = recorder.Samples();
  const Percentiles submit_call = Measure(samples, &Sample::returned);
  const Percentiles receipt = Measure(samples, &Sample::receipt);
  const Percentiles delivered = Measure(samples, &Sample::delivered);
  const Percentiles delivery_receipt = Measure(samples, &Sample::delivery_receipt);
  const Rate receipt_rate = Throughput(samples, &Sample::receipt);
  const Rate delivery_rate = Throughput(samples, &Sample::delivered);
  const Rate submit_rate = Throughput(samples, &Sample::returned);
  const Percentiles completed = Measure(samples, &Sample::completed);
  const Rate completed_rate = Throughput(samples, &Sample::completed);
  const uint64_t not_receipted = submitted - receipt.n;
  const uint64_t not_delivered = submitted - delivered.n;
  const uint64_t no_delivery_receipt = submitted - delivery_receipt.n;
  const unsigned cores = std::thread::hardware_concurrency();
  const double mean_bytes =
      total ? static_cast<double>(encoded_bytes.load()) / static_cast<double>(total) : 0;

  if (opt.json) {
    std::cout << "{\"mode\":\"" << (open_loop ? "open" : "closed") << "\",\"security\":\""
              << opt.security << "\",\"agents\":" << n_agents
              << ",\"sync\":" << (opt.sync ? "true" : "false")
              << ",\"mean_encoded_bytes\":" << Fixed(mean_bytes, 0) << ",\"cores\":" << cores;
    if (open_loop) {
      std::cout << ",\"offered_per_s\":" << Fixed(opt.rate, 1)
                << ",\"seconds\":" << Fixed(opt.seconds, 1);
    }
    std::cout << ",\"commissions\":" << total << ",\"submit_failures\":" << failures.load()
              << ",\"submitted_per_s\":" << Fixed(submit_rate.per_second, 1)
              << ",\"receipted_per_s\":" << Fixed(receipt_rate.per_second, 1)
              << ",\"delivered_per_s\":" << Fixed(delivery_rate.per_second, 1)
              << ",\"not_receipted\":" << not_receipted << ",\"not_delivered\":" << not_delivered
              << ",\"no_delivery_receipt\":" << no_delivery_receipt
              << ",\"timed_out\":" << (timed_out ? "true" : "false")
              << ",\"run_s\":" << Fixed(run_seconds, 2)
              << ",\"broker_cpu_s\":" << Fixed(broker_cpu, 2) << ",\"broker_cpu_s_per_100k\":"
              << Fixed(total ? broker_cpu * 100000.0 / static_cast<double>(total) : 0, 2)
              << ",\"broker_peak_rss_mib\":" << Fixed(broker_peak_rss_mib, 1)
              << ",\"agents_cpu_s\":" << Fixed(own_cpu, 2)
              << ",\"submit_call_ms\":" << JsonPercentiles(submit_call)
              << ",\"receipt_ms\":" << JsonPercentiles(receipt)
              << ",\"delivered_ms\":" << JsonPercentiles(delivered)
              << ",\"delivery_receipt_ms\":" << JsonPercentiles(delivery_receipt)
              << ",\"poll_status_hz\":" << Fixed(opt.poll_status_hz, 1)
              << ",\"status_polls\":" << poller.polls()
              << ",\"status_poll_failures\":" << poller.failures()
              << ",\"status_polls_per_s\":" << Fixed(poller.per_second(), 1)
              << ",\"status_poll_ms\":" << JsonPercentiles(poller.request_ms())
              << ",\"status_body_bytes\":" << Fixed(poller.mean_body_bytes(), 0);
    if (opt.answer) {
      std::cout << ",\"answer\":true,\"answer_failures\":" << answer_failures
                << ",\"completed_per_s\":" << Fixed(completed_rate.per_second, 1)
                << ",\"completed_ms\":" << JsonPercentiles(completed);
    }
    std::cout << "}\n";
  } else {
    std::printf(
        "weituo_bench: %s loop, %s, %d agents, %zu commissions of %.0f B (mean encoded), "
        "broker sync=%s, %u cores\n",
        open_loop ? "open" : "closed", opt.security.c_str(), n_agents, total, mean_bytes,
        opt.sync ? "true" : "false", cores);
    if (open_loop) {
      std::printf("offered %.0f/s for %.1f s; submitted at %.0f/s\n", opt.rate, opt.seconds,
                  submit_rate.per_second);
    }
    std::printf("\n%-34s %7s %9s %9s %9s %9s\n", "latency from submit call (ms)", "n", "p50", "p99",
                "p99.9", "max");
    auto row = [](const char* name, const Percentiles& p) {
      std::printf("%-34s %7zu %9.2f %9.2f %9.2f %9.2f\n", name, p.n, p.p50, p.p99, p.p999, p.max);
    };
    row("Submit returned (agent outbox)", submit_call);
    row("submission receipt (broker)", receipt);
    row("delivered (target handler)", delivered);
    row("delivery receipt (at origin)", delivery_receipt);
    if (opt.answer) row("completed (EV_COMPLETED at origin)", completed);
    std::printf("\n%-34s %10s %9s\n", "throughput", "per s", "over s");
    std::printf("%-34s %10.0f %9.2f\n", "submitted (Submit returned)", submit_rate.per_second,
                submit_rate.seconds);
    std::printf("%-34s %10.0f %9.2f\n", "receipted (durable at broker)", receipt_rate.per_second,
                receipt_rate.seconds);
    std::printf("%-34s %10.0f %9.2f\n", "delivered (durable at target)", delivery_rate.per_second,
                delivery_rate.seconds);
    if (opt.answer) {
      std::printf("%-34s %10.0f %9.2f\n", "completed (seen at origin)", completed_rate.per_second,
                  completed_rate.seconds);
      std::printf("answer failures %llu\n", static_cast<unsigned long long>(answer_failures));
    }
    std::printf(
        "\nsubmit failures %llu, not receipted %llu, not delivered %llu, no delivery "
        "receipt %llu%s\n",
        static_cast<unsigned long long>(failures.load()),
        static_cast<unsigned long long>(not_receipted),
        static_cast<unsigned long long>(not_delivered),
        static_cast<unsigned long long>(no_delivery_receipt), timed_out ? " (timed out)" : "");
    std::printf("cpu over %.2f s: broker %.2f s, agents and submitters %.2f s\n", run_seconds,
                broker_cpu, own_cpu);
    if (poll_status) {
      const Percentiles poll_ms = poller.request_ms();
      std::printf(
          "GET /api/status: %llu requests (%.1f/s, asked %.1f/s), %llu failed; %.0f B each; "
          "request p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
          static_cast<unsigned long long>(poller.polls()), poller.per_second(), opt.poll_status_hz,
          static_cast<unsigned long long>(poller.failures()), poller.mean_body_bytes(), poll_ms.p50,
          poll_ms.p99, poll_ms.max);
    }
  }
  if (!poller.first_error().empty()) {
    std::cerr << "weituo_bench: first /api/status error: " << poller.first_error() << "\n";
  }
  if (!first_error.empty())
    std::cerr << "weituo_bench: first submit error: " << first_error << "\n";
  if (opt.keep) std::cerr << "weituo_bench: kept " << dir.path() << "\n";
  return (timed_out || failures.load() > 0 || answer_failures > 0 || broker_exit != 0) ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weituo_bench: throughput and latency of a real broker with in-process agents"};
  BenchOptions opt;
  app.add_option("--agents", opt.agents, "court agents, 2..8 (more are capped at 8)")
      ->check(CLI::Range(2, 1000));
  app.add_option("--count", opt.count, "commissions in total (closed loop; ignored with --rate)")
      ->check(CLI::PositiveNumber);
  app.add_option("--sync", opt.sync, "broker fsyncs its WAL per batch (true) or never (false)");
  app.add_option("--rate", opt.rate, "open loop: commissions offered per second in total")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seconds", opt.seconds, "open loop: how long to offer --rate")
      ->check(CLI::PositiveNumber);
  app.add_option("--payload-bytes", opt.payload_bytes, "encoded size of each commission")
      ->check(CLI::Range(256, 4096));
  app.add_option("--timeout", opt.timeout_s, "seconds to wait for receipts after submitting")
      ->check(CLI::PositiveNumber);
  app.add_option("--security", opt.security,
                 "curve (as deployed: generated keys, encrypted) or plaintext (--dev-plaintext)")
      ->check(CLI::IsMember({"curve", "plaintext"}));
  app.add_option("--poll-status", opt.poll_status_hz,
                 "GET the broker's /api/status this many times a second while measuring (0: "
                 "no HTTP server)")
      ->check(CLI::Range(0.0, 1000.0));
  app.add_flag("--answer", opt.answer,
               "the target answers each commission with accept, then complete (drives the "
               "broker's update path); waits for every EV_COMPLETED");
  app.add_flag("--json", opt.json, "print one JSON line instead of the table");
  app.add_flag("--keep", opt.keep, "keep the temporary folder (logs, stores)");
  CLI11_PARSE(app, argc, argv);
  try {
    return Run(opt);
  } catch (const std::exception& e) {
    std::cerr << "weituo_bench: " << e.what() << "\n";
    return 1;
  }
}
