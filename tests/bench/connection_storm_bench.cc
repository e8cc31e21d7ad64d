// connection_storm_bench: what a storm of connections with one stolen court
// key costs the broker, and whether the memory comes back (issue 16,
// finding 8). Each run starts a real weituo-broker on loopback (a fresh
// temporary folder, the zone's directory of deploy/zone/courts.toml with
// generated CURVE keys, as weituo_wire_bench makes them, HTTP on a free port
// for /metrics) and drives --cycles cycles against it. A cycle opens
// --connections DEALER sockets at once, each with the one court's CURVE key
// pair (as a hostile client holding that key would), each saying Hello as
// soon as libzmq lets it, and waits until every connection is answered
// (Welcome or an Error) or the broker has ended it; then it closes them all
// and waits for the broker to see them gone. The clients do not reconnect
// (ZMQ_RECONNECT_IVL -1), so every socket is one TCP connection and one
// ZMQ_EVENT_ACCEPTED at the broker: a cycle is over when the broker's
// connections_accepted has grown by --connections and its live connections
// are only the answered ones (a positive sign, read from /metrics). A cycle
// still waiting at --cycle-timeout (connections whose SYNs the broker's
// listen queue dropped are retried by TCP at 1, 3, 7, 15, 31 s) counts the
// rest as unanswered and closes them (cycles_timed_out).
//
// Memory is the broker's VmRSS from /proc/<pid>/status: "before" once it is
// ready and idle, "peak" the largest of readings every --sample-ms from a
// thread during the cycles, and 5 s, 30 s and --after-seconds after the
// last cycle's sockets are closed. --caps default runs the broker with its
// default connection limits; --caps off raises them out of the way
// (per address and handshakes 100000, per court 10000, the flags' maxima
// or more than any storm here); --caps both alternates the two, run by run.
// One JSON line per run, then one line of medians per caps setting.
//
// Exit code: 0 if every run's broker stayed up, saw every closed connection
// end, and with --caps default the limits refused something.
//
// Threading: the main thread runs the broker and the cycles (it owns every
// socket); one sampler thread reads /proc while a run lasts.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <zmq.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_measure.h"
#include "bench_zone.h"
#include "weituo/common/curve.h"
#include "weituo/common/directory.h"
#include "weituo/common/logging.h"
#include "weituo/common/wire.h"
#include "weituo/v1/wire.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using weituo::bench::BrokerProcess;
using weituo::bench::Fixed;
using weituo::bench::FreePort;
using weituo::bench::OpenFds;
using weituo::bench::Tail;
using weituo::bench::TempDir;
using weituo::bench::ZoneKeys;
using weituo::v1::Envelope;

struct StormOptions {
  int cycles = 10;
  int connections = 3000;
  std::string caps = "default";  // default, off, or both (alternating runs)
  double after_s = 60;           // the last reading after the storm
  int runs = 1;                  // per caps setting
  uint64_t seed = 1;             // routing ids
  std::string court = "kaihua";  // whose key every connection uses
  double cycle_timeout_s = 30;
  int sample_ms = 50;
  int io_threads = 2;     // the clients' libzmq I/O threads
  int broker_nofile = 0;  // the broker's RLIMIT_NOFILE (0: inherited)
  std::string broker_bin = WEITUO_BROKER_BIN;
  std::string tmp = "/tmp";
  bool keep = false;
};

// The broker's connection limits "off": above anything a storm here opens
// (and the flags' maxima for the per-court one).
const std::vector<std::string> kCapsOff = {"--max-connections-per-address", "100000",
                                           "--max-handshakes-per-address",  "100000",
                                           "--max-connections-per-court",   "10000"};

// The counters of the broker's /metrics this bench reports, by event key of
// weituo_broker_events_total.
const std::vector<std::string> kEvents = {"connections_accepted",
                                          "connections_closed",
                                          "connections_refused_per_address",
                                          "connections_refused_unidentified",
                                          "connections_evicted_per_court",
                                          "connections_silent_dropped",
                                          "connections_dropped",
                                          "handshakes_succeeded",
                                          "handshakes_failed",
                                          "hellos",
                                          "memory_trims"};

// Raises this process's soft RLIMIT_NOFILE to its hard limit; the new soft
// limit (the broker child inherits it unless --broker-nofile).
rlim_t RaiseOpenFiles() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
  ::getrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur;
}

// "Max open files" (soft) of process `pid`, as /proc/<pid>/limits says it.
std::string OpenFilesLimit(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream fields(line.substr(14));
    std::string soft;
    fields >> soft;
    return soft;
  }
  return "?";
}

// What /metrics said, by series: "weituo_connections_live" or the event key
// of a weituo_broker_events_total sample.
using Metrics = std::map<std::string, double>;

// GET /metrics; empty if it did not answer 200 in time.
Metrics ReadMetrics(int http_port) {
  Metrics m;
  auto reply = weituo::bench::HttpGet(http_port, "/metrics", std::chrono::milliseconds(2000));
  if (!reply.ok() || reply->status != 200) return m;
  std::istringstream in(reply->body);
  std::string line;
  const std::string events = "weituo_broker_events_total{event=\"";
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    std::string series = line.substr(0, space);
    if (series.rfind(events, 0) == 0) {
      series = series.substr(events.size(), series.size() - events.size() - 2);  // "}
    } else if (series != "weituo_connections_live") {
      continue;
    }
    m[series] = std::stod(line.substr(space + 1));
  }
  return m;
}

double Get(const Metrics& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? -1 : it->second;
}

// Reads the broker's VmRSS every `period` from its own thread, keeping the
// largest, and its open fds every tenth reading.
class RssSampler {
 public:
  RssSampler(int pid, std::chrono::milliseconds period) : pid_(pid), period_(period) {
    thread_ = std::thread([this] {
      for (int i = 0; !stop_; ++i) {
        const double rss = weituo::bench::ProcessStatusMib(pid_, "VmRSS:");
        if (measuring_) {
          peak_ = std::max(peak_.load(), rss);
          if (i % 10 == 0) peak_fds_ = std::max(peak_fds_.load(), OpenFds(pid_));
        }
        std::this_thread::sleep_for(period_);
      }
    });
  }
  ~RssSampler() {
    stop_ = true;
    thread_.join();
  }
  void Measure(bool on) { measuring_ = on; }
  double peak() const { return peak_; }
  int peak_fds() const { return peak_fds_; }

 private:
  const int pid_;
  const std::chrono::milliseconds period_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> measuring_{false};
  std::atomic<double> peak_{0};
  std::atomic<int> peak_fds_{0};
  std::thread thread_;
};

// What the connections of all cycles of a run were told.
struct Answers {
  uint64_t welcomed = 0;
  uint64_t refused_court_cap = 0;  // RATE_LIMITED for the court's cap before any Welcome
  uint64_t refused_other = 0;      // any other Error (the rate limit, ...)
  uint64_t unanswered = 0;         // the broker ended it first, or never answered
  uint64_t hello_unsent = 0;       // libzmq never took the Hello
  std::string first_other;         // the first other refusal: code and message
  int cycles_timed_out = 0;        // cycles that ended at --cycle-timeout
  uint64_t heartbeats_first = 0;   // Heartbeats that came before the answer
};

// The one court's key pair every connection uses, and the broker's key.
struct StolenKey {
  std::string server_public;
  std::string public_key;
  std::string secret_key;
};

struct Client {
  zmq::socket_t socket;
  bool hello_sent = false;
  bool answered = false;
};

// One cycle: opens opt.connections DEALERs with `court`'s keys, says Hello on
// each, waits for every answer or the broker's end of it, closes them all and
// waits for the broker to count them closed. False if it timed out.
bool Cycle(const StormOptions& opt, zmq::context_t& ctx, const StolenKey& key,
           const std::string& endpoint, int http_port, std::mt19937_64& random, Answers* answers,
           std::string* why) {
  const Metrics start = ReadMetrics(http_port);
  const double accepted0 = Get(start, "connections_accepted");
  const double live0 = Get(start, "weituo_connections_live");
  Envelope hello_env;
  hello_env.mutable_hello()->set_court_id(opt.court);
  hello_env.mutable_hello()->set_agent_version("connection_storm_bench");
  const std::string hello = weituo::SerializeEnvelope(hello_env);

  std::vector<Client> clients;
  clients.reserve(static_cast<size_t>(opt.connections));
  for (int i = 0; i < opt.connections; ++i) {
    Client c{zmq::socket_t(ctx, zmq::socket_type::dealer)};
    char rid[24];
    std::snprintf(rid, sizeof rid, ".%016llx", static_cast<unsigned long long>(random()));
    c.socket.set(zmq::sockopt::routing_id, opt.court + rid);
    c.socket.set(zmq::sockopt::linger, 0);
    c.socket.set(zmq::sockopt::reconnect_ivl, -1);  // one TCP connection per socket
    c.socket.set(zmq::sockopt::curve_serverkey, key.server_public);
    c.socket.set(zmq::sockopt::curve_publickey, key.public_key);
    c.socket.set(zmq::sockopt::curve_secretkey, key.secret_key);
    c.socket.connect(endpoint);
    c.hello_sent = c.socket.send(zmq::buffer(hello), zmq::send_flags::dontwait).has_value();
    clients.push_back(std::move(c));
  }

  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(opt.cycle_timeout_s * 1000));
  Clock::time_point next_metrics = Clock::now() + std::chrono::milliseconds(500);
  size_t open = clients.size();  // not answered yet
  std::vector<zmq::pollitem_t> items;
  std::vector<size_t> index;
  bool done = false;
  while (!done) {
    if (Clock::now() > deadline) {
      // Some connections still wait for the broker's accept (a listen queue
      // overflowed: their SYNs are retried at 1, 3, 7, 15, 31 s) or for its
      // answer: counted unanswered, and closed with the rest.
      ++answers->cycles_timed_out;
      break;
    }
    items.clear();
    index.clear();
    for (size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      if (c.answered) continue;
      if (!c.hello_sent) {
        c.hello_sent = c.socket.send(zmq::buffer(hello), zmq::send_flags::dontwait).has_value();
      }
      items.push_back({c.socket.handle(), 0, ZMQ_POLLIN, 0});
      index.push_back(i);
    }
    if (!items.empty()) zmq::poll(items.data(), items.size(), std::chrono::milliseconds(50));
    for (size_t j = 0; j < items.size(); ++j) {
      if (!(items[j].revents & ZMQ_POLLIN)) continue;
      Client& c = clients[index[j]];
      zmq::message_t msg;
      if (!c.socket.recv(msg, zmq::recv_flags::dontwait)) continue;
      Envelope env;
      if (!env.ParseFromArray(msg.data(), static_cast<int>(msg.size()))) continue;
      // The court's heartbeat can reach its newest connection before that
      // connection's Welcome (sent after the turn's commit): no answer yet.
      if (env.has_heartbeat()) {
        ++answers->heartbeats_first;
        continue;
      }
      c.answered = true;
      --open;
      if (env.has_welcome()) {
        ++answers->welcomed;
      } else if (env.has_error() && env.error().code() == weituo::v1::RATE_LIMITED &&
                 env.error().message().find("connections") != std::string::npos) {
        ++answers->refused_court_cap;
      } else {
        ++answers->refused_other;
        if (answers->first_other.empty()) {
          answers->first_other =
              env.has_error()
                  ? weituo::v1::ErrorCode_Name(env.error().code()) + " " + env.error().message()
                  : "a " +
                        std::string(
                            Envelope::descriptor()->FindFieldByNumber(env.body_case())->name()) +
                        " before any Welcome or Error";
        }
      }
    }
    if (open == 0) break;
    if (Clock::now() < next_metrics) continue;
    next_metrics = Clock::now() + std::chrono::milliseconds(500);
    // Every socket reached the broker, and none the broker still holds is
    // unanswered: the rest were ended by the broker.
    const Metrics now = ReadMetrics(http_port);
    const double accepted = Get(now, "connections_accepted") - accepted0;
    const double live = Get(now, "weituo_connections_live") - live0;
    done = accepted >= opt.connections && live <= static_cast<double>(clients.size() - open);
  }
  for (const Client& c : clients) {
    if (!c.answered) ++answers->unanswered;
    if (!c.hello_sent) ++answers->hello_unsent;
  }
  const bool ok = why->empty();
  clients.clear();  // closes every socket (linger 0)

  // The broker sees them all closed: live connections back where they were.
  const Clock::time_point closed_by = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < closed_by) {
    if (Get(ReadMetrics(http_port), "weituo_connections_live") <= live0) return ok;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (ok) *why = "the broker still counted live connections 30 s after the cycle closed them";
  return false;
}

struct RunResult {
  std::string caps;
  double before = 0, peak = 0, after5 = 0, after30 = 0, after = 0, hwm = 0;
  Answers answers;
  Metrics metrics;
  bool ok = false;
};

// A reading in MiB with one decimal, or null if not taken (0).
std::string OrNull(double mib) { return mib > 0 ? Fixed(mib, 1) : "null"; }

void SleepUntil(Clock::time_point t) { std::this_thread::sleep_until(t); }

RunResult RunOnce(const StormOptions& opt, const std::string& caps, int run) {
  RunResult r;
  r.caps = caps;
  TempDir dir(opt.tmp, "weituo-storm");
  if (opt.keep) dir.Keep();
  auto directory =
      weituo::CourtDirectory::LoadFile(std::string(WEITUO_SOURCE_DIR) + "/deploy/zone/courts.toml");
  if (!directory.ok()) throw std::runtime_error(directory.status().ToString());
  const weituo::CourtEntry* court = directory->Find(opt.court);
  if (!court || court->is_supervisor) {
    throw std::runtime_error("no court '" + opt.court + "' in deploy/zone/courts.toml");
  }
  const std::string keys_folder = dir.path() + "/keys";
  std::filesystem::create_directory(keys_folder);
  auto made = weituo::bench::MakeZoneKeys(*directory, keys_folder);
  if (!made.ok()) throw std::runtime_error(made.status().ToString());
  const ZoneKeys keys = std::move(made).value();
  StolenKey key{keys.broker.public_key, "", keys.secret_keys.at(opt.court)};
  auto public_key = weituo::CurvePublicKeyOf(key.secret_key);
  if (!public_key.ok()) throw std::runtime_error(public_key.status().ToString());
  key.public_key = *public_key;

  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(FreePort());
  const int http_port = FreePort();
  const std::string log_path = dir.path() + "/broker.log";
  std::vector<std::string> argv;
  if (opt.broker_nofile > 0) {
    argv = {"/usr/bin/prlimit", "--nofile=" + std::to_string(opt.broker_nofile), "--"};
  }
  argv.insert(argv.end(), {opt.broker_bin, "--data-dir", dir.path() + "/broker", "--directory",
                           keys.directory_path, "--endpoint", endpoint, "--http",
                           "127.0.0.1:" + std::to_string(http_port), "--log-level", "warn",
                           "--curve-secret-key-file", keys.broker_secret_file});
  if (caps == "off") argv.insert(argv.end(), kCapsOff.begin(), kCapsOff.end());
  BrokerProcess broker(argv, log_path);

  const Clock::time_point started = Clock::now();
  auto ready = [&] {
    auto reply = weituo::bench::HttpGet(http_port, "/readyz", std::chrono::milliseconds(1000));
    return reply.ok() && reply->status == 200;
  };
  while (!ready()) {
    if (!broker.Running() || Clock::now() - started > std::chrono::seconds(60)) {
      std::cerr << "connection_storm_bench: the broker was not ready; log:\n"
                << Tail(log_path, 2000) << "\n";
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // settled after start
  r.before = broker.RssMib();
  const std::string nofile = OpenFilesLimit(broker.pid());

  RssSampler sampler(broker.pid(), std::chrono::milliseconds(opt.sample_ms));
  zmq::context_t ctx(opt.io_threads);
  ctx.set(zmq::ctxopt::max_sockets, opt.connections + 64);
  std::mt19937_64 random(opt.seed + static_cast<uint64_t>(run));
  std::string why;
  bool cycles_ok = true;
  const Clock::time_point storm_start = Clock::now();
  sampler.Measure(true);
  for (int i = 0; i < opt.cycles && cycles_ok; ++i) {
    const Clock::time_point cycle_start = Clock::now();
    Answers before = r.answers;
    cycles_ok =
        Cycle(opt, ctx, key, endpoint, http_port, random, &r.answers, &why) && broker.Running();
    std::cerr << "connection_storm_bench: caps " << caps << " run " << run << " cycle " << i + 1
              << ": " << Fixed(std::chrono::duration<double>(Clock::now() - cycle_start).count(), 1)
              << " s, welcomed " << r.answers.welcomed - before.welcomed << ", refused "
              << (r.answers.refused_court_cap - before.refused_court_cap) +
                     (r.answers.refused_other - before.refused_other)
              << ", unanswered " << r.answers.unanswered - before.unanswered << ", rss "
              << Fixed(broker.RssMib(), 1) << " MiB (peak " << Fixed(sampler.peak(), 1) << ")\n";
  }
  sampler.Measure(false);
  const double storm_s = std::chrono::duration<double>(Clock::now() - storm_start).count();
  const Clock::time_point storm_end = Clock::now();
  auto reading_at = [&](double s) {
    SleepUntil(storm_end + std::chrono::milliseconds(static_cast<int64_t>(s * 1000)));
    return broker.RssMib();
  };
  if (opt.after_s >= 5) r.after5 = reading_at(5);
  if (opt.after_s >= 30) r.after30 = reading_at(30);
  r.after = reading_at(opt.after_s);
  r.peak = sampler.peak();
  r.hwm = broker.PeakRssMib();
  r.metrics = ReadMetrics(http_port);
  const bool alive = broker.Running();
  const int exit_code = broker.Stop(std::chrono::seconds(30));
  const double refused = Get(r.metrics, "connections_refused_per_address") +
                         Get(r.metrics, "connections_refused_unidentified") +
                         Get(r.metrics, "connections_evicted_per_court");
  const bool caps_held = caps != "default" || refused > 0;
  r.ok = cycles_ok && alive && exit_code == 0 && caps_held;

  std::ostringstream line;
  line << "{\"caps\":\"" << caps << "\",\"run\":" << run << ",\"cycles\":" << opt.cycles
       << ",\"connections\":" << opt.connections << ",\"court\":\"" << opt.court << "\""
       << ",\"broker_nofile\":\"" << nofile << "\",\"storm_s\":" << Fixed(storm_s, 1)
       << ",\"rss_before_mib\":" << Fixed(r.before, 1) << ",\"rss_peak_mib\":" << Fixed(r.peak, 1)
       << ",\"rss_5s_mib\":" << OrNull(r.after5) << ",\"rss_30s_mib\":" << OrNull(r.after30)
       << ",\"after_s\":" << Fixed(opt.after_s, 0) << ",\"rss_after_mib\":" << Fixed(r.after, 1)
       << ",\"vmhwm_mib\":" << Fixed(r.hwm, 1) << ",\"peak_fds\":" << sampler.peak_fds()
       << ",\"welcomed\":" << r.answers.welcomed
       << ",\"refused_court_cap\":" << r.answers.refused_court_cap
       << ",\"refused_other\":" << r.answers.refused_other
       << ",\"unanswered\":" << r.answers.unanswered
       << ",\"hello_unsent\":" << r.answers.hello_unsent
       << ",\"cycles_timed_out\":" << r.answers.cycles_timed_out
       << ",\"heartbeats_before_answer\":" << r.answers.heartbeats_first << ",\"metrics\":{";
  for (size_t i = 0; i < kEvents.size(); ++i) {
    line << (i ? "," : "") << "\"" << kEvents[i] << "\":" << Fixed(Get(r.metrics, kEvents[i]), 0);
  }
  line << "},\"exit\":" << exit_code << ",\"ok\":" << (r.ok ? "true" : "false") << "}";
  std::cout << line.str() << std::endl;
  if (!why.empty()) std::cerr << "connection_storm_bench: " << why << "\n";
  if (!r.answers.first_other.empty()) {
    std::cerr << "connection_storm_bench: first other refusal: " << r.answers.first_other << "\n";
  }
  if (!caps_held) std::cerr << "connection_storm_bench: the default caps refused nothing\n";
  if (!alive || exit_code != 0) {
    std::cerr << "connection_storm_bench: broker exited with " << exit_code << "; log:\n"
              << Tail(log_path, 2000) << "\n";
  }
  if (opt.keep) std::cerr << "connection_storm_bench: kept " << dir.path() << "\n";
  return r;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void PrintMedians(const std::string& caps, const std::vector<RunResult>& results) {
  std::vector<double> before, peak, after5, after30, after, welcomed, unanswered, refused;
  for (const RunResult& r : results) {
    if (r.caps != caps) continue;
    before.push_back(r.before);
    peak.push_back(r.peak);
    after5.push_back(r.after5);
    after30.push_back(r.after30);
    after.push_back(r.after);
    welcomed.push_back(static_cast<double>(r.answers.welcomed));
    unanswered.push_back(static_cast<double>(r.answers.unanswered));
    refused.push_back(Get(r.metrics, "connections_refused_per_address") +
                      Get(r.metrics, "connections_refused_unidentified") +
                      Get(r.metrics, "connections_evicted_per_court"));
  }
  if (before.empty()) return;
  std::cout << "{\"median_of_runs\":" << before.size() << ",\"caps\":\"" << caps
            << "\",\"rss_before_mib\":" << Fixed(Median(before), 1)
            << ",\"rss_peak_mib\":" << Fixed(Median(peak), 1)
            << ",\"rss_5s_mib\":" << OrNull(Median(after5))
            << ",\"rss_30s_mib\":" << OrNull(Median(after30))
            << ",\"rss_after_mib\":" << Fixed(Median(after), 1)
            << ",\"welcomed\":" << Fixed(Median(welcomed), 0)
            << ",\"unanswered\":" << Fixed(Median(unanswered), 0)
            << ",\"refused_by_caps\":" << Fixed(Median(refused), 0) << "}" << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "connection_storm_bench: broker memory before, during and after cycles of connection "
      "storms with one court's CURVE key"};
  StormOptions opt;
  app.add_option("--cycles", opt.cycles, "storms per run")->check(CLI::Range(1, 1000));
  app.add_option("--connections", opt.connections, "connections opened at once per cycle")
      ->check(CLI::Range(1, 100000));
  app.add_option("--caps", opt.caps,
                 "the broker's connection limits: default, off (raised out of the way), or both "
                 "(alternating, run by run)")
      ->check(CLI::IsMember({"default", "off", "both"}));
  app.add_option("--after-seconds", opt.after_s, "the last reading, after the last cycle")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--runs", opt.runs, "runs per caps setting")->check(CLI::Range(1, 100));
  app.add_option("--seed", opt.seed, "seed of the connections' routing ids");
  app.add_option("--court", opt.court, "the court of deploy/zone/courts.toml whose key is used");
  app.add_option("--cycle-timeout", opt.cycle_timeout_s, "longest a cycle may take (seconds)")
      ->check(CLI::PositiveNumber);
  app.add_option("--sample-ms", opt.sample_ms, "how often the broker's VmRSS is read")
      ->check(CLI::Range(1, 10000));
  app.add_option("--io-threads", opt.io_threads, "the clients' libzmq I/O threads")
      ->check(CLI::Range(1, 16));
  app.add_option("--broker-nofile", opt.broker_nofile,
                 "the broker's open-files limit (via prlimit; 0: this process's, raised to its "
                 "hard limit)")
      ->check(CLI::Range(0, 10000000));
  app.add_option("--broker-bin", opt.broker_bin,
                 "the weituo-broker executable (default: this build's), e.g. another build's")
      ->check(CLI::ExistingFile)
      ->capture_default_str();
  app.add_option("--tmp", opt.tmp, "where the temporary folders go");
  app.add_flag("--keep", opt.keep, "keep the temporary folders (broker log and store)");
  CLI11_PARSE(app, argc, argv);
  weituo::InitLogging("connection_storm_bench", "warn");
  const rlim_t nofile = RaiseOpenFiles();
  // Each client socket holds a TCP connection and its mailbox.
  if (nofile != RLIM_INFINITY && nofile < static_cast<rlim_t>(2 * opt.connections + 256)) {
    std::cerr << "connection_storm_bench: open-files limit " << nofile << " is below the "
              << 2 * opt.connections + 256 << " the clients need\n";
    return 1;
  }
  try {
    std::vector<std::string> order;
    if (opt.caps == "both") {
      order = {"default", "off"};
    } else {
      order = {opt.caps};
    }
    std::vector<RunResult> results;
    bool ok = true;
    for (int run = 0; run < opt.runs; ++run) {
      for (const std::string& caps : order) {
        results.push_back(RunOnce(opt, caps, run));
        ok = ok && results.back().ok;
      }
    }
    if (opt.runs > 1 || order.size() > 1) {
      for (const std::string& caps : order) PrintMedians(caps, results);
    }
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "connection_storm_bench: " << e.what() << "\n";
    return 1;
  }
}
