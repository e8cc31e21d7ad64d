// compare_workload.h: the workload that rabbit_bench and nats_bench share, so
// that RabbitMQ and NATS JetStream are driven exactly as weituo_bench drives
// Weituo: P producer courts and C consumer courts, the same ~1 KB encoded
// weituo.v1.Commission (built by the same code as weituo_bench's), closed
// loop (--count) or open loop on a fixed schedule (--rate, --seconds; latency
// from the scheduled time, no coordinated omission), and one JSON line with
// weituo_bench's key names where they mean the same thing.
//
// Header-only: each driver is one .cc file that includes it. Threading: the
// Recorder is thread-safe; everything else is plain values or free functions.
#ifndef WEITUO_TESTS_BENCH_COMPARE_WORKLOAD_H_
#define WEITUO_TESTS_BENCH_COMPARE_WORKLOAD_H_

#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench_commission.h"
#include "bench_measure.h"
#include "weituo/common/clock.h"
#include "weituo/common/directory.h"
#include "weituo/common/ids.h"
#include "weituo/v1/commission.pb.h"

namespace weituo::bench {

using Clock = std::chrono::steady_clock;
using weituo::v1::Commission;

struct CompareOptions {
  std::string url;  // the server, e.g. amqp://127.0.0.1:5672 or nats://127.0.0.1:4222
  int producers = 8;
  int consumers = 8;
  int count = 20000;
  double rate = 0;  // > 0: open loop at this many commissions a second
  double seconds = 10;
  int payload_bytes = 1024;
  int window = 128;    // outstanding unconfirmed publishes per producer
  int prefetch = 256;  // unacknowledged deliveries per consumer
  int timeout_s = 120;
  int broker_pid = 0;  // the server process, for CPU and peak memory; 0: not measured
  std::string label;   // free text copied into the JSON ("settings")
  bool json = false;
};

// Adds the shared options to `app`.
inline void AddCompareOptions(CLI::App& app, CompareOptions& opt) {
  app.add_option("--url", opt.url, "the server to connect to")->capture_default_str();
  app.add_option("--producers", opt.producers, "producer courts (one thread and connection each)")
      ->check(CLI::Range(1, 256));
  app.add_option("--consumers", opt.consumers, "consumer courts (one thread and connection each)")
      ->check(CLI::Range(1, 256));
  app.add_option("--count", opt.count, "commissions in total (closed loop; ignored with --rate)")
      ->check(CLI::PositiveNumber);
  app.add_option("--rate", opt.rate, "open loop: commissions offered per second in total")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seconds", opt.seconds, "open loop: how long to offer --rate")
      ->check(CLI::PositiveNumber);
  app.add_option("--payload-bytes", opt.payload_bytes, "encoded size of each commission")
      ->check(CLI::Range(256, 4096));
  app.add_option("--window", opt.window, "unconfirmed publishes outstanding per producer")
      ->check(CLI::Range(1, 100000));
  app.add_option("--prefetch", opt.prefetch, "unacknowledged deliveries per consumer")
      ->check(CLI::Range(1, 65535));
  app.add_option("--timeout", opt.timeout_s, "seconds to wait for confirms and deliveries")
      ->check(CLI::PositiveNumber);
  app.add_option("--broker-pid", opt.broker_pid, "server pid: CPU seconds and peak RSS");
  app.add_option("--label", opt.label, "settings note copied into the JSON line");
  app.add_flag("--json", opt.json, "print one JSON line instead of the table");
}

// The courts of one run: producer p is origin court kCourts[p % 8], consumer
// c is target court kCourts[c % 8] (names repeat past eight; queues and
// subjects are per consumer index, so they do not).
struct Courts {
  std::vector<const weituo::CourtEntry*> producers;
  std::vector<const weituo::CourtEntry*> consumers;
};

// Loads deploy/zone/courts.toml from `source_dir`; throws if it or a court
// is missing (a start-up failure).
inline Courts LoadCourts(const std::string& source_dir, const CompareOptions& opt,
                         weituo::CourtDirectory& directory_out) {
  const std::string path = source_dir + "/deploy/zone/courts.toml";
  auto directory = weituo::CourtDirectory::LoadFile(path);
  if (!directory.ok()) throw std::runtime_error(directory.status().ToString());
  directory_out = std::move(directory).value();
  auto find = [&](int i) {
    const weituo::CourtEntry* entry = directory_out.Find(kCourts[i % kCourts.size()]);
    if (!entry) throw std::runtime_error(std::string("court not in ") + path);
    return entry;
  };
  Courts courts;
  for (int p = 0; p < opt.producers; ++p) courts.producers.push_back(find(p));
  for (int c = 0; c < opt.consumers; ++c) courts.consumers.push_back(find(c));
  return courts;
}

// Nearest-rank percentiles, in ms, from each sample's start to `to`, of the
// samples that have both times.
inline Percentiles Measure(const std::vector<Sample>& samples, int64_t Sample::*to) {
  std::vector<double> values;
  for (const Sample& s : samples) {
    if (s.*to) values.push_back(static_cast<double>(s.*to - s.start) / 1e6);
  }
  return PercentilesOf(std::move(values));
}

// How many samples reached `to` per second, over the time from the first
// start to the last `to` (as weituo_bench counts).
inline double PerSecond(const std::vector<Sample>& samples, int64_t Sample::*to) {
  int64_t first = 0, last = 0;
  uint64_t n = 0;
  for (const Sample& s : samples) {
    if (!first || s.start < first) first = s.start;
    if (s.*to) {
      ++n;
      last = std::max(last, s.*to);
    }
  }
  if (n == 0 || last <= first) return 0;
  return static_cast<double>(n) / (static_cast<double>(last - first) / 1e9);
}

// What a run measured besides the samples.
struct RunTotals {
  size_t commissions = 0;
  uint64_t submit_failures = 0;
  double mean_encoded_bytes = 0;
  bool timed_out = false;
  double run_seconds = 0;
  double broker_cpu_s = 0;
  double clients_cpu_s = 0;
  double broker_peak_rss_mib = 0;
};

// Prints the run's report: one JSON line (--json) or a short table. Keys
// mean what weituo_bench's mean: receipt = stored durably by the server
// (here its publisher confirm / pub ack), delivered = a consumer's handler.
// `extra_json` (",\"key\":value..." or empty) goes at the end of the JSON line.
inline void Report(const std::string& system, const CompareOptions& opt,
                   const std::vector<Sample>& samples, const RunTotals& t,
                   const std::string& extra_json = "") {
  const bool open_loop = opt.rate > 0;
  const Percentiles submit_call = Measure(samples, &Sample::returned);
  const Percentiles receipt = Measure(samples, &Sample::receipt);
  const Percentiles delivered = Measure(samples, &Sample::delivered);
  const uint64_t published = samples.size();
  const double cpu_per_100k =
      published ? t.broker_cpu_s * 100000.0 / static_cast<double>(published) : 0;
  if (opt.json) {
    std::cout << "{\"system\":\"" << system << "\",\"label\":\"" << opt.label << "\",\"mode\":\""
              << (open_loop ? "open" : "closed") << "\",\"producers\":" << opt.producers
              << ",\"consumers\":" << opt.consumers << ",\"window\":" << opt.window
              << ",\"prefetch\":" << opt.prefetch
              << ",\"mean_encoded_bytes\":" << Fixed(t.mean_encoded_bytes, 0)
              << ",\"cores\":" << std::thread::hardware_concurrency();
    if (open_loop) {
      std::cout << ",\"offered_per_s\":" << Fixed(opt.rate, 1)
                << ",\"seconds\":" << Fixed(opt.seconds, 1);
    }
    std::cout << ",\"commissions\":" << t.commissions
              << ",\"submit_failures\":" << t.submit_failures
              << ",\"submitted_per_s\":" << Fixed(PerSecond(samples, &Sample::returned), 1)
              << ",\"receipted_per_s\":" << Fixed(PerSecond(samples, &Sample::receipt), 1)
              << ",\"delivered_per_s\":" << Fixed(PerSecond(samples, &Sample::delivered), 1)
              << ",\"not_receipted\":" << published - receipt.n
              << ",\"not_delivered\":" << published - delivered.n
              << ",\"timed_out\":" << (t.timed_out ? "true" : "false")
              << ",\"run_s\":" << Fixed(t.run_seconds, 2)
              << ",\"broker_cpu_s\":" << Fixed(t.broker_cpu_s, 2)
              << ",\"broker_cpu_s_per_100k\":" << Fixed(cpu_per_100k, 2)
              << ",\"broker_peak_rss_mib\":" << Fixed(t.broker_peak_rss_mib, 1)
              << ",\"agents_cpu_s\":" << Fixed(t.clients_cpu_s, 2)
              << ",\"submit_call_ms\":" << JsonPercentiles(submit_call)
              << ",\"receipt_ms\":" << JsonPercentiles(receipt)
              << ",\"delivered_ms\":" << JsonPercentiles(delivered) << extra_json << "}\n";
    return;
  }
  std::printf("%s: %s loop, %d producers, %d consumers, %zu commissions of %.0f B%s\n",
              system.c_str(), open_loop ? "open" : "closed", opt.producers, opt.consumers,
              t.commissions, t.mean_encoded_bytes,
              opt.label.empty() ? "" : (" (" + opt.label + ")").c_str());
  std::printf("%-30s %7s %9s %9s %9s %9s\n", "latency from publish (ms)", "n", "p50", "p99",
              "p99.9", "max");
  auto row = [](const char* name, const Percentiles& p) {
    std::printf("%-30s %7zu %9.2f %9.2f %9.2f %9.2f\n", name, p.n, p.p50, p.p99, p.p999, p.max);
  };
  row("publish call returned", submit_call);
  row("confirmed (stored by server)", receipt);
  row("delivered (consumer handler)", delivered);
  std::printf("confirmed %.0f/s, delivered %.0f/s; failures %llu%s\n",
              PerSecond(samples, &Sample::receipt), PerSecond(samples, &Sample::delivered),
              static_cast<unsigned long long>(t.submit_failures),
              t.timed_out ? " (timed out)" : "");
  std::printf(
      "cpu over %.2f s: server %.2f s (%.2f s per 100k), clients %.2f s; server peak RSS "
      "%.1f MiB\n",
      t.run_seconds, t.broker_cpu_s, cpu_per_100k, t.clients_cpu_s, t.broker_peak_rss_mib);
}

// When slot `slot` is due in the open loop that starts at `t0`.
inline Clock::time_point DueAt(Clock::time_point t0, size_t slot, double rate) {
  return t0 + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(static_cast<double>(slot) / rate));
}

// What the producer and consumer threads share. Thread-safe as marked.
struct Shared {
  Shared(const CompareOptions& o, const Courts& c, Recorder& r, size_t n)
      : opt(o), courts(c), recorder(r), total(n) {}
  const CompareOptions& opt;
  const Courts& courts;
  Recorder& recorder;
  const size_t total;
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> encoded_bytes{0};
  std::atomic<int> consumers_ready{0};
  std::atomic<bool> stop{false};
  Clock::time_point t0;        // set before the producers start
  Clock::time_point deadline;  // likewise
  std::mutex error_mu;
  std::string first_error;

  // Sets t0 (10 ms from now) and the deadline: the offered seconds of an
  // open loop, then the timeout. Before the producers start.
  void Start() {
    t0 = Clock::now() + std::chrono::milliseconds(10);
    const Clock::duration planned = opt.rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                                                       std::chrono::duration<double>(opt.seconds))
                                                 : Clock::duration::zero();
    deadline = t0 + planned + std::chrono::seconds(opt.timeout_s);
  }

  void Fail(const std::string& error, uint64_t n = 1) {
    failures += n;
    std::lock_guard<std::mutex> lock(error_mu);
    if (first_error.empty()) first_error = error;
  }
};

// Runs the workload and reports it: starts one thread per consumer court
// running `consume(shared, c)` and waits until each has counted itself in
// consumers_ready, then one thread per producer court running
// `produce(shared, p)`; waits until every confirmed commission is delivered
// (or the timeout), sets `stop` and joins the consumers. Returns the exit
// code: 1 if anything failed or timed out.
inline int RunWorkload(const std::string& system, const CompareOptions& opt, const Courts& courts,
                       void (*consume)(Shared&, int), void (*produce)(Shared&, int)) {
  const bool open_loop = opt.rate > 0;
  const size_t total =
      open_loop ? static_cast<size_t>(opt.rate * opt.seconds) : static_cast<size_t>(opt.count);
  Recorder recorder(total);
  Shared shared(opt, courts, recorder, total);
  std::vector<std::thread> consumers;
  for (int c = 0; c < opt.consumers; ++c) consumers.emplace_back(consume, std::ref(shared), c);
  while (shared.consumers_ready < opt.consumers) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  const double broker_cpu_before = ProcessCpuSeconds(opt.broker_pid);
  const double own_cpu_before = OwnCpuSeconds();
  shared.Start();
  std::vector<std::thread> producers;
  for (int p = 0; p < opt.producers; ++p) producers.emplace_back(produce, std::ref(shared), p);
  for (std::thread& t : producers) t.join();

  // Every published, confirmed commission must reach a consumer.
  bool timed_out = false;
  while (recorder.delivered() < recorder.receipts() ||
         recorder.receipts() + shared.failures < total) {
    if (Clock::now() > shared.deadline) {
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  RunTotals totals;
  totals.run_seconds = std::chrono::duration<double>(Clock::now() - shared.t0).count();
  totals.broker_cpu_s = ProcessCpuSeconds(opt.broker_pid) - broker_cpu_before;
  totals.clients_cpu_s = OwnCpuSeconds() - own_cpu_before;
  shared.stop = true;
  for (std::thread& t : consumers) t.join();
  totals.broker_peak_rss_mib = ProcessPeakRssMib(opt.broker_pid);
  totals.commissions = total;
  totals.submit_failures = shared.failures;
  totals.timed_out = timed_out;
  totals.mean_encoded_bytes =
      total ? static_cast<double>(shared.encoded_bytes) / static_cast<double>(total) : 0;
  Report(system, opt, recorder.Samples(), totals);
  if (!shared.first_error.empty())
    std::cerr << system << ": first error: " << shared.first_error << "\n";
  return (timed_out || shared.failures > 0 || !shared.first_error.empty()) ? 1 : 0;
}

}  // namespace weituo::bench

#endif  // WEITUO_TESTS_BENCH_COMPARE_WORKLOAD_H_
