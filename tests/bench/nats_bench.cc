// nats_bench: weituo_bench's workload against NATS JetStream, with its real
// C client (cnats). The server is started and stopped by
// tests/bench/compare.sh; this program only connects to --url.
//
// Durability as an integrator would set it up: one stream, WEITUO, with
// file storage and work-queue retention over subjects "weituo.<c>", one per
// consumer court; a commission counts as receipted when the server's pub ack
// for it arrives, which JetStream sends after appending it to the stream's
// file (nats-server 2.9 writes it to the OS without an fsync per message: it
// syncs its files every two minutes and on close; see docs/benchmarks.md).
// Each producer publishes asynchronously with at most --window pub acks
// pending. Each consumer court has a durable push consumer on its subject
// with explicit acks and --prefetch (MaxAckPending) unacknowledged; its
// handler acks each message after handling.
//
// Workload (compare_workload.h): producer p's k-th commission goes to
// consumer court k % C, subject "weituo.<c>".
//
// Threading: main thread creates the stream and waits; one thread and
// connection per producer and per consumer; the pub ack handler and the
// message handler run on cnats' own threads and only touch the Recorder.
#include <nats/nats.h>

#include <memory>
#include <stdexcept>

#include "compare_workload.h"

namespace {

using namespace weituo::bench;

constexpr const char* kStream = "WEITUO";

std::string Subject(int consumer) { return "weituo." + std::to_string(consumer); }

void Check(natsStatus s, const std::string& what, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  if (s == NATS_OK) return;
  std::string text = what + ": " + natsStatus_GetText(s);
  if (jerr) text += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  throw std::runtime_error(text);
}

// One NATS connection and its JetStream context. Owned by one thread (cnats
// connections are thread-safe, but each court has its own, as deployed).
class Connection {
 public:
  // `max_pending`: the most asynchronous publishes awaiting a pub ack;
  // `on_pub_ack` (may be null) runs on cnats' thread for each of them.
  Connection(const std::string& url, int64_t max_pending, jsPubAckHandler on_pub_ack,
             void* closure) {
    Check(natsConnection_ConnectTo(&conn_, url.c_str()), "connect to " + url);
    jsOptions options;
    jsOptions_Init(&options);
    options.Wait = 10000;
    options.PublishAsync.MaxPending = max_pending;
    options.PublishAsync.AckHandler = on_pub_ack;
    options.PublishAsync.AckHandlerClosure = closure;
    options.PublishAsync.StallWait = 60000;  // a full window waits, it does not fail
    Check(natsConnection_JetStream(&js_, conn_, &options), "JetStream context");
  }
  ~Connection() {
    jsCtx_Destroy(js_);
    natsConnection_Destroy(conn_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  jsCtx* js() const { return js_; }

 private:
  natsConnection* conn_ = nullptr;
  jsCtx* js_ = nullptr;
};

// Creates the stream, empty: file storage, work-queue retention (a message
// is removed when its consumer acks it, as a queue does), one replica.
void CreateStream(const CompareOptions& opt) {
  Connection conn(opt.url, 1, nullptr, nullptr);
  std::vector<std::string> subjects;
  for (int c = 0; c < opt.consumers; ++c) subjects.push_back(Subject(c));
  std::vector<const char*> subject_ptrs;
  for (const std::string& s : subjects) subject_ptrs.push_back(s.c_str());
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = kStream;
  config.Subjects = subject_ptrs.data();
  config.SubjectsLen = static_cast<int>(subject_ptrs.size());
  config.Storage = js_FileStorage;
  config.Retention = js_WorkQueuePolicy;
  config.Replicas = 1;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  js_DeleteStream(conn.js(), kStream, nullptr, &jerr);  // a leftover of an earlier run, if any
  jerr = static_cast<jsErrCode>(0);
  jsStreamInfo* info = nullptr;
  Check(js_AddStream(&info, conn.js(), &config, nullptr, &jerr), "add stream", jerr);
  jsStreamInfo_Destroy(info);
}

// Runs on cnats' thread for each message delivered to a consumer: handling
// is decoding the commission and noting its delivery; then the explicit ack.
void OnMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  const int64_t now = Nanos(Clock::now());
  Commission commission;
  if (commission.ParseFromArray(natsMsg_GetData(msg), natsMsg_GetDataLength(msg))) {
    shared->recorder.Delivered(commission.id(), now);
  }
  natsStatus s = natsMsg_Ack(msg, nullptr);
  if (s != NATS_OK) shared->Fail(std::string("ack: ") + natsStatus_GetText(s), 0);
  natsMsg_Destroy(msg);
}

// Consumer court `c`: a durable push consumer on its subject, explicit acks,
// until told to stop.
void Consume(Shared& shared, int c) {
  try {
    Connection conn(shared.opt.url, 1, nullptr, nullptr);
    const std::string subject = Subject(c);
    const std::string durable = "court" + std::to_string(c);
    jsSubOptions sub_options;
    jsSubOptions_Init(&sub_options);
    sub_options.Stream = kStream;
    sub_options.ManualAck = true;
    sub_options.Config.Durable = durable.c_str();
    sub_options.Config.AckPolicy = js_AckExplicit;
    sub_options.Config.MaxAckPending = shared.opt.prefetch;
    sub_options.Config.FilterSubject = subject.c_str();
    natsSubscription* sub = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    Check(js_Subscribe(&sub, conn.js(), subject.c_str(), OnMessage, &shared, nullptr, &sub_options,
                       &jerr),
          "subscribe " + subject, jerr);
    ++shared.consumers_ready;
    while (!shared.stop) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
  } catch (const std::exception& e) {
    shared.Fail(std::string("consumer ") + std::to_string(c) + ": " + e.what(), 0);
    ++shared.consumers_ready;  // do not hold up the start
  }
}

// Runs on cnats' thread for each pub ack (or publish error) of a producer.
void OnPubAck(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  const int64_t now = Nanos(Clock::now());
  if (ack) {
    Commission commission;
    if (commission.ParseFromArray(natsMsg_GetData(msg), natsMsg_GetDataLength(msg))) {
      shared->recorder.Receipt(commission.id(), now);
    }
  } else {
    shared->Fail(std::string("publish: ") +
                 (error && error->ErrText ? error->ErrText : "no pub ack"));
  }
  natsMsg_Destroy(msg);
}

// Producer court `p`: publishes slots p, p+P, p+2P, ... asynchronously with
// at most --window pub acks pending (js_PublishAsync waits while the window
// is full), then waits for the last pub acks.
void Produce(Shared& shared, int p) {
  const CompareOptions& opt = shared.opt;
  const bool open_loop = opt.rate > 0;
  const size_t step = shared.courts.producers.size();
  try {
    Connection conn(opt.url, opt.window, OnPubAck, &shared);
    const weituo::CourtEntry& origin = *shared.courts.producers[p];
    std::string body;
    size_t k = 0;
    for (size_t slot = p; slot < shared.total; slot += step, ++k) {
      Clock::time_point start;
      if (open_loop) {
        start = DueAt(shared.t0, slot, opt.rate);
        std::this_thread::sleep_until(start);
      } else {
        start = Clock::now();
      }
      const int c = static_cast<int>(k % shared.courts.consumers.size());
      Commission commission =
          MakeCommission(origin.id, *shared.courts.consumers[c], slot, opt.payload_bytes);
      commission.SerializeToString(&body);
      shared.encoded_bytes += body.size();
      shared.recorder.Begin(slot, commission.id(), Nanos(start));
      const std::string subject = Subject(c);
      natsStatus s = js_PublishAsync(conn.js(), subject.c_str(), body.data(),
                                     static_cast<int>(body.size()), nullptr);
      if (s != NATS_OK) {
        shared.Fail(std::string("publish: ") + natsStatus_GetText(s));
        continue;
      }
      shared.recorder.Returned(slot, Nanos(Clock::now()));
    }
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = static_cast<int64_t>(opt.timeout_s) * 1000;
    Check(js_PublishAsyncComplete(conn.js(), &wait), "wait for pub acks");
  } catch (const std::exception& e) {
    shared.Fail(std::string("producer ") + std::to_string(p) + ": " + e.what(), 0);
  }
}

int Run(const CompareOptions& opt) {
  weituo::CourtDirectory directory;
  const Courts courts = LoadCourts(WEITUO_SOURCE_DIR, opt, directory);
  CreateStream(opt);
  return RunWorkload("nats", opt, courts, Consume, Produce);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nats_bench: weituo_bench's workload against NATS JetStream (file, acked)"};
  CompareOptions opt;
  opt.url = "nats://127.0.0.1:4222";
  AddCompareOptions(app, opt);
  CLI11_PARSE(app, argc, argv);
  if (opt.label.empty()) opt.label = "file stream, work queue, pub acks, explicit acks";
  int rc;
  try {
    rc = Run(opt);
  } catch (const std::exception& e) {
    std::cerr << "nats_bench: " << e.what() << "\n";
    rc = 1;
  }
  nats_Close();
  return rc;
}
