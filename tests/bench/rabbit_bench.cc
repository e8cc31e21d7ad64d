// rabbit_bench: weituo_bench's workload against RabbitMQ, with its real C
// client (rabbitmq-c, AMQP 0-9-1). The server is started and stopped by
// tests/bench/compare.sh; this program only connects to --url.
//
// Durability as an integrator would set it up: one durable queue per
// consumer court (classic by default, --queue-type quorum for Raft-logged
// queues), every message persistent (delivery_mode 2), and publisher
// confirms: a commission counts as receipted only when the broker's
// basic.ack for it arrives, which RabbitMQ sends after the message is written
// to disk (classic queues fsync in batches, at least every 200 ms or when
// idle; quorum queues after their log's fsync). Each producer keeps at most
// --window unconfirmed publishes outstanding. Consumers use manual acks
// (basic.ack per message, after the handler) with --prefetch unacknowledged.
//
// Workload (compare_workload.h): producer p's k-th commission goes to
// consumer court k % C, through the default exchange to queue "weituo.<c>".
//
// Threading: main thread declares the queues and waits; one thread and
// connection per producer and per consumer (an amqp connection is not
// thread-safe and is used by its own thread only).
// rabbitmq-c 0.12 moved its headers under rabbitmq-c/; Debian 12 has 0.11.
#if __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/tcp_socket.h>
#else
#include <amqp.h>
#include <amqp_tcp_socket.h>
#endif
#include <sys/time.h>

#include <deque>
#include <memory>
#include <stdexcept>

#include "compare_workload.h"

namespace {

using namespace weituo::bench;

constexpr amqp_channel_t kChannel = 1;

std::string QueueName(int consumer) { return "weituo." + std::to_string(consumer); }

// Text of a failed AMQP RPC reply, empty if it succeeded.
std::string ReplyError(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "";
    case AMQP_RESPONSE_NONE:
      return "missing RPC reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD || r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        // Both close methods start with reply_code and reply_text.
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return "server closed: " + std::to_string(m->reply_code) + " " +
               std::string(static_cast<char*>(m->reply_text.bytes), m->reply_text.len);
      }
      return "server exception";
  }
  return "unknown reply";
}

void Check(const amqp_rpc_reply_t& r, const std::string& what) {
  std::string error = ReplyError(r);
  if (!error.empty()) throw std::runtime_error(what + ": " + error);
}

// One AMQP connection with channel 1 open. Owned by one thread; closes on
// destruction. Throws on failure to connect (callers are thread bodies and
// main, which report it).
class Connection {
 public:
  explicit Connection(const std::string& url) : state_(amqp_new_connection()) {
    std::string copy = url;
    amqp_connection_info info;
    amqp_default_connection_info(&info);
    if (amqp_parse_url(copy.data(), &info) != AMQP_STATUS_OK) {
      throw std::runtime_error("bad AMQP url " + url);
    }
    amqp_socket_t* socket = amqp_tcp_socket_new(state_);
    if (!socket || amqp_socket_open(socket, info.host, info.port) != AMQP_STATUS_OK) {
      throw std::runtime_error("cannot connect to " + url);
    }
    // "amqp://host:port/" names the empty vhost; mean the default one.
    const char* vhost = (info.vhost && *info.vhost) ? info.vhost : "/";
    Check(amqp_login(state_, vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, info.user, info.password),
          "login");
    amqp_channel_open(state_, kChannel);
    Check(amqp_get_rpc_reply(state_), "channel.open");
  }
  ~Connection() {
    amqp_channel_close(state_, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(state_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  amqp_connection_state_t get() const { return state_; }

 private:
  amqp_connection_state_t state_;
};

// Declares the durable queue of every consumer court, empty.
void DeclareQueues(const CompareOptions& opt, const std::string& queue_type) {
  Connection conn(opt.url);
  for (int c = 0; c < opt.consumers; ++c) {
    amqp_table_entry_t entry;
    entry.key = amqp_cstring_bytes("x-queue-type");
    entry.value.kind = AMQP_FIELD_KIND_UTF8;
    entry.value.value.bytes = amqp_cstring_bytes(queue_type.c_str());
    amqp_table_t args{1, &entry};
    const std::string name = QueueName(c);
    amqp_queue_declare(conn.get(), kChannel, amqp_cstring_bytes(name.c_str()), /*passive=*/0,
                       /*durable=*/1, /*exclusive=*/0, /*auto_delete=*/0, args);
    Check(amqp_get_rpc_reply(conn.get()), "queue.declare " + name);
    amqp_queue_purge(conn.get(), kChannel, amqp_cstring_bytes(name.c_str()));
    Check(amqp_get_rpc_reply(conn.get()), "queue.purge " + name);
  }
}

// Consumer court `c`: consumes its queue with manual acks until told to
// stop; records each delivery, then acks it.
void Consume(Shared& shared, int c) {
  try {
    Connection conn(shared.opt.url);
    amqp_basic_qos(conn.get(), kChannel, 0, static_cast<uint16_t>(shared.opt.prefetch), 0);
    Check(amqp_get_rpc_reply(conn.get()), "basic.qos");
    const std::string name = QueueName(c);
    amqp_basic_consume(conn.get(), kChannel, amqp_cstring_bytes(name.c_str()), amqp_empty_bytes,
                       /*no_local=*/0, /*no_ack=*/0, /*exclusive=*/0, amqp_empty_table);
    Check(amqp_get_rpc_reply(conn.get()), "basic.consume " + name);
    ++shared.consumers_ready;
    Commission commission;
    while (!shared.stop) {
      amqp_maybe_release_buffers(conn.get());
      amqp_envelope_t envelope;
      timeval timeout{0, 100000};
      amqp_rpc_reply_t r = amqp_consume_message(conn.get(), &envelope, &timeout, 0);
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          r.library_error == AMQP_STATUS_TIMEOUT) {
        continue;
      }
      Check(r, "consume " + name);
      // Handling: decode the commission, note its delivery, then ack.
      const int64_t now = Nanos(Clock::now());
      if (commission.ParseFromArray(envelope.message.body.bytes,
                                    static_cast<int>(envelope.message.body.len))) {
        shared.recorder.Delivered(commission.id(), now);
      }
      int rc = amqp_basic_ack(conn.get(), kChannel, envelope.delivery_tag, /*multiple=*/0);
      amqp_destroy_envelope(&envelope);
      if (rc != AMQP_STATUS_OK)
        throw std::runtime_error(std::string("basic.ack: ") + amqp_error_string2(rc));
    }
  } catch (const std::exception& e) {
    shared.Fail(std::string("consumer ") + std::to_string(c) + ": " + e.what(), 0);
    ++shared.consumers_ready;  // do not hold up the start
  }
}

// Producer court `p`: publishes slots p, p+P, p+2P, ... persistent, keeping
// at most --window unconfirmed, and records each publisher confirm.
void Produce(Shared& shared, int p) {
  const CompareOptions& opt = shared.opt;
  const bool open_loop = opt.rate > 0;
  // The slots still unconfirmed, by delivery tag (1, 2, ... in publish order).
  std::deque<std::pair<uint64_t, size_t>> outstanding;
  const size_t step = shared.courts.producers.size();
  size_t slot = p;  // the next slot to publish
  try {
    Connection conn(opt.url);
    amqp_confirm_select(conn.get(), kChannel);
    Check(amqp_get_rpc_reply(conn.get()), "confirm.select");

    // Reads one frame, waiting at most `wait`; records the confirms in it.
    auto read_confirms = [&](timeval wait) {
      amqp_frame_t frame;
      int rc = amqp_simple_wait_frame_noblock(conn.get(), &frame, &wait);
      if (rc == AMQP_STATUS_TIMEOUT) return;
      if (rc != AMQP_STATUS_OK)
        throw std::runtime_error(std::string("wait frame: ") + amqp_error_string2(rc));
      if (frame.frame_type != AMQP_FRAME_METHOD) return;
      const amqp_method_number_t id = frame.payload.method.id;
      if (id != AMQP_BASIC_ACK_METHOD && id != AMQP_BASIC_NACK_METHOD) {
        if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD) {
          throw std::runtime_error("the server closed the channel");
        }
        return;
      }
      uint64_t tag;
      bool multiple;
      if (id == AMQP_BASIC_ACK_METHOD) {
        auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
        tag = ack->delivery_tag;
        multiple = ack->multiple;
      } else {
        auto* nack = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
        tag = nack->delivery_tag;
        multiple = nack->multiple;
      }
      const int64_t now = Nanos(Clock::now());
      for (auto it = outstanding.begin(); it != outstanding.end();) {
        if (it->first > tag) break;
        if (!multiple && it->first != tag) {
          ++it;
          continue;
        }
        if (id == AMQP_BASIC_ACK_METHOD) {
          shared.recorder.Receipt(it->second, now);
        } else {
          shared.Fail("basic.nack from the server");
        }
        it = outstanding.erase(it);
      }
    };

    amqp_basic_properties_t props;
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
    props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    props.content_type = amqp_cstring_bytes("application/x-protobuf");
    const weituo::CourtEntry& origin = *shared.courts.producers[p];
    uint64_t next_tag = 1;
    size_t k = 0;
    std::string body;
    while (slot < shared.total || !outstanding.empty()) {
      if (Clock::now() > shared.deadline)
        throw std::runtime_error("timed out waiting for confirms");
      const bool can_publish =
          slot < shared.total && outstanding.size() < static_cast<size_t>(opt.window);
      Clock::time_point due = Clock::now();
      if (can_publish && open_loop) due = DueAt(shared.t0, slot, opt.rate);
      if (can_publish && Clock::now() >= due) {
        const int c = static_cast<int>(k % shared.courts.consumers.size());
        Commission commission =
            MakeCommission(origin.id, *shared.courts.consumers[c], slot, opt.payload_bytes);
        commission.SerializeToString(&body);
        shared.encoded_bytes += body.size();
        const Clock::time_point start = open_loop ? due : Clock::now();
        shared.recorder.Begin(slot, commission.id(), Nanos(start));
        const std::string queue = QueueName(c);
        int rc =
            amqp_basic_publish(conn.get(), kChannel, amqp_empty_bytes,
                               amqp_cstring_bytes(queue.c_str()), /*mandatory=*/0,
                               /*immediate=*/0, &props, amqp_bytes_t{body.size(), body.data()});
        if (rc != AMQP_STATUS_OK)
          throw std::runtime_error(std::string("basic.publish: ") + amqp_error_string2(rc));
        shared.recorder.Returned(slot, Nanos(Clock::now()));
        outstanding.emplace_back(next_tag++, slot);
        slot += step;
        ++k;
        read_confirms(timeval{0, 0});  // take any confirm already here
        continue;
      }
      // Window full, all sent, or not yet due: wait for confirms, in the open
      // loop no longer than until the next slot is due.
      timeval wait{0, 100000};
      if (can_publish) {
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(due - Clock::now()).count();
        wait = timeval{0, static_cast<suseconds_t>(std::clamp<int64_t>(us, 0, 100000))};
      }
      read_confirms(wait);
    }
  } catch (const std::exception& e) {
    // Whatever was not confirmed, and not yet published, failed.
    const size_t unsent = slot < shared.total ? (shared.total - slot + step - 1) / step : 0;
    shared.Fail(std::string("producer ") + std::to_string(p) + ": " + e.what(),
                outstanding.size() + unsent);
  }
}

int Run(const CompareOptions& opt, const std::string& queue_type) {
  weituo::CourtDirectory directory;
  const Courts courts = LoadCourts(WEITUO_SOURCE_DIR, opt, directory);
  DeclareQueues(opt, queue_type);

  return RunWorkload("rabbitmq", opt, courts, Consume, Produce);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "rabbit_bench: weituo_bench's workload against RabbitMQ (durable, confirmed, acked)"};
  CompareOptions opt;
  opt.url = "amqp://guest:guest@127.0.0.1:5672/";
  AddCompareOptions(app, opt);
  std::string queue_type = "classic";
  app.add_option("--queue-type", queue_type, "classic (batched fsync) or quorum (Raft log)")
      ->check(CLI::IsMember({"classic", "quorum"}));
  CLI11_PARSE(app, argc, argv);
  try {
    if (opt.label.empty()) opt.label = queue_type + " durable queue, persistent, confirms";
    return Run(opt, queue_type);
  } catch (const std::exception& e) {
    std::cerr << "rabbit_bench: " << e.what() << "\n";
    return 1;
  }
}
