#include "replication.h"

#include <spdlog/spdlog.h>

#include <sys/eventfd.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include <zmq.hpp>

#include "weituo/common/clock.h"
#include "weituo/common/logging.h"

namespace weituo::group {

namespace fs = std::filesystem;
using weituo::v1::ReplMessage;

namespace {

constexpr size_t kChunkBytes = 1 << 20;
// The leader tells an idle follower its last commit this often.
constexpr int64_t kLeaderIdleMs = 300;

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

// ---- ReplicationLeader ----

struct ReplicationLeader::Sockets {
  zmq::context_t context{1};
  // Bound before the ROUTER, on the same context: every CURVE handshake of
  // the ROUTER is decided here.
  zmq::socket_t zap{context, zmq::socket_type::rep};
  zmq::socket_t router{context, zmq::socket_type::router};
  // Notify wakes the thread's poll at once.
  int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ~Sockets() {
    if (wake_fd >= 0) close(wake_fd);
  }
};

ReplicationLeader::ReplicationLeader(ReplicationOptions options, BrokerStore* store,
                                     BatchRing* ring, uint64_t term, Coordinator coordinator)
    : options_(std::move(options)),
      store_(store),
      ring_(ring),
      term_(term),
      coordinator_(std::move(coordinator)),
      sockets_(std::make_unique<Sockets>()) {}

ReplicationLeader::~ReplicationLeader() { Stop(); }

Status ReplicationLeader::Start() {
  WEITUO_ASSIGN_OR_RETURN(Coordinator::Isr isr, coordinator_.read_isr());
  if (isr.mod_revision == 0 || !Contains(isr.members, options_.member)) {
    // The first leader of a group, or (never expected: only a member of the
    // set campaigns) one outside it: the set starts with this member.
    std::vector<std::string> members = isr.members;
    if (!Contains(members, options_.member)) members.push_back(options_.member);
    WEITUO_RETURN_IF_ERROR(coordinator_.write_isr(members, isr.mod_revision));
    WEITUO_ASSIGN_OR_RETURN(isr, coordinator_.read_isr());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    isr_ = isr.members;
    isr_revision_ = isr.mod_revision;
  }
  try {
    if (!options_.secret_key.empty()) {
      sockets_->zap.set(zmq::sockopt::linger, 0);
      sockets_->zap.bind("inproc://zeromq.zap.01");
      sockets_->router.set(zmq::sockopt::curve_server, 1);
      sockets_->router.set(zmq::sockopt::curve_secretkey, options_.secret_key);
      sockets_->router.set(zmq::sockopt::zap_domain, std::string("weituo-group"));
    }
    sockets_->router.set(zmq::sockopt::linger, 0);
    sockets_->router.set(zmq::sockopt::router_mandatory, 1);
    sockets_->router.set(zmq::sockopt::sndhwm, 10000);
    sockets_->router.bind(options_.endpoint);
    bound_ = sockets_->router.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot bind the replication endpoint " + options_.endpoint + ": " +
                               e.what());
  }
  std::error_code ec;
  fs::create_directories(options_.snapshot_dir, ec);
  thread_ = std::thread([this] { ThreadMain(); });
  spdlog::info("msg=\"leading the group's replication\" term={} endpoint={} in_sync=\"{}\"", term_,
               bound_, fmt::join(isr.members, ","));
  return Status::Ok();
}

void ReplicationLeader::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  acked_.notify_all();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [member, f] : followers_) {
    if (!f.snapshot_path.empty()) {
      std::error_code ec;
      fs::remove_all(f.snapshot_path, ec);
    }
  }
}

void ReplicationLeader::Notify() {
  notified_.store(true);
  const uint64_t one = 1;
  (void)!write(sockets_->wake_fd, &one, sizeof one);
}

void ReplicationLeader::ThreadMain() {
  int64_t last_idle = 0;
  while (!stop_.load()) {
    zmq::pollitem_t items[] = {{sockets_->router.handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, sockets_->wake_fd, ZMQ_POLLIN, 0},
                               {sockets_->zap.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, options_.secret_key.empty() ? 2 : 3, std::chrono::milliseconds(kLeaderIdleMs));
    if (!options_.secret_key.empty() && (items[2].revents & ZMQ_POLLIN)) AnswerZap();
    if (items[1].revents & ZMQ_POLLIN) {
      uint64_t count = 0;
      (void)!read(sockets_->wake_fd, &count, sizeof count);
    }
    if (items[0].revents & ZMQ_POLLIN) {
      for (int i = 0; i < 1000; ++i) {
        zmq::message_t id, payload;
        if (!sockets_->router.recv(id, zmq::recv_flags::dontwait)) break;
        if (!id.more() || !sockets_->router.recv(payload, zmq::recv_flags::dontwait)) continue;
        while (payload.more()) {
          zmq::message_t extra;
          if (!sockets_->router.recv(extra, zmq::recv_flags::dontwait)) break;
          payload = std::move(extra);
        }
        std::string member;
        if (!options_.secret_key.empty()) {
          const char* user = zmq_msg_gets(payload.handle(), "User-Id");
          member = user ? user : "";
        }
        OnMessage(id.to_string(), member, payload.to_string());
      }
    }
    const int64_t now = MonotonicMs();
    if (notified_.exchange(false) || now - last_idle >= kLeaderIdleMs) {
      Pump();
      if (now - last_idle >= kLeaderIdleMs) {
        last_idle = now;
        // Followers with nothing to apply still hear of the leader.
        std::lock_guard<std::mutex> lock(mu_);
        ReplMessage idle;
        idle.mutable_batches()->set_term(term_);
        idle.mutable_batches()->set_leader_last(store_->kv().LastCommit());
        for (auto& [member, f] : followers_) {
          if (f.tailing && f.next > ring_->last()) Send(f.routing_id, idle);
        }
      }
    }
  }
}

void ReplicationLeader::AnswerZap() {
  // Request: version, request id, domain, address, routing id, mechanism,
  // the client's 32-byte public key (CURVE).
  std::vector<zmq::message_t> request;
  do {
    zmq::message_t frame;
    if (!sockets_->zap.recv(frame, zmq::recv_flags::dontwait)) break;
    const bool more = frame.more();
    request.push_back(std::move(frame));
    if (!more) break;
  } while (true);
  std::string status = "400", user;
  if (request.size() == 7 && request[5].to_string_view() == "CURVE" && request[6].size() == 32) {
    char z85[41];
    zmq_z85_encode(z85, static_cast<const uint8_t*>(request[6].data()), 32);
    for (const auto& [member, key] : options_.member_keys) {
      if (key == z85 && member != options_.member) {
        status = "200";
        user = member;
      }
    }
  }
  if (status != "200") {
    refused_.fetch_add(1);
    spdlog::warn("msg=\"replication handshake refused: a key no other member of the group has\"");
  }
  const std::string request_id = request.size() > 1 ? request[1].to_string() : "";
  sockets_->zap.send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
  sockets_->zap.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
  sockets_->zap.send(zmq::buffer(status), zmq::send_flags::sndmore);
  sockets_->zap.send(zmq::buffer(std::string(status == "200" ? "OK" : "unknown member key")),
                     zmq::send_flags::sndmore);
  sockets_->zap.send(zmq::buffer(user), zmq::send_flags::sndmore);
  sockets_->zap.send(zmq::str_buffer(""), zmq::send_flags::none);
}

void ReplicationLeader::Send(const std::string& routing_id, const ReplMessage& message) {
  const std::string payload = EncodeRepl(message);
  try {
    sockets_->router.send(zmq::buffer(routing_id), zmq::send_flags::sndmore);
    sockets_->router.send(zmq::buffer(payload), zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
    // A follower gone (router_mandatory): it says ReplFollow when it is back.
  }
}

void ReplicationLeader::OnMessage(const std::string& routing_id, const std::string& proved,
                                  const std::string& payload) {
  ReplMessage message;
  if (!message.ParseFromString(payload)) {
    spdlog::warn("msg=\"replication message does not parse; ignored\" bytes={}", payload.size());
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (message.has_follow()) {
    const std::string& member = message.follow().member();
    if (!options_.secret_key.empty() && member != proved) {
      // Identity from the connection: a member's key follows as that member only.
      refused_.fetch_add(1);
      spdlog::warn(
          "msg=\"replication: a ReplFollow for another member than the key's; ignored\" "
          "named={} key_of={}",
          LogValue(member), LogValue(proved));
      return;
    }
    Follower& f = followers_[member];
    if (!f.snapshot_path.empty()) {
      std::error_code ec;
      fs::remove_all(f.snapshot_path, ec);
      f.snapshot_path.clear();
      f.snapshot_id.clear();
    }
    f.routing_id = routing_id;
    f.member = member;
    f.last_heard_ms = NowMs();
    OnFollow(f, message.follow());
    return;
  }
  // Everything else comes from a follower that said ReplFollow first.
  Follower* f = nullptr;
  for (auto& [member, candidate] : followers_) {
    if (candidate.routing_id == routing_id) f = &candidate;
  }
  if (f == nullptr) return;
  f->last_heard_ms = NowMs();
  if (message.has_ack()) {
    if (message.ack().term() == term_ && message.ack().number() > f->acked) {
      f->acked = message.ack().number();
      lock.unlock();
      acked_.notify_all();
      Pump();
    }
  } else if (message.has_chunk_request()) {
    OnChunkRequest(*f, message.chunk_request());
  } else if (message.has_refused()) {
    spdlog::warn("msg=\"a follower refused this leader's batches\" member={} reason=\"{}\"",
                 f->member, LogValue(message.refused().reason()));
    f->tailing = false;
  }
}

void ReplicationLeader::OnFollow(Follower& f, const weituo::v1::ReplFollow& follow) {
  const uint64_t last = store_->kv().LastCommit();
  const uint64_t n = follow.last_number();
  bool continues = false;
  if (f.snapshot_offered && n == f.snapshot_number && follow.last_term() == f.snapshot_term) {
    continues = true;  // back with the checkpoint it was sent
  } else if (n == 0) {
    continues = false;  // an empty store starts from a checkpoint: the same column families
  } else if (n == last) {
    continues = follow.last_term() == store_->kv().LastTerm();
  } else if (n < last) {
    auto held = ring_->TermOf(n);
    continues = held && *held == follow.last_term();
  }
  spdlog::info(
      "msg=\"follower joined\" member={} its_last={} its_term={} leader_last={} continues={}",
      f.member, n, follow.last_term(), last, continues);
  if (continues) {
    f.acked = n;
    f.next = n + 1;
    f.tailing = true;
    return;  // Pump sends the rest
  }
  OfferSnapshot(f);
}

void ReplicationLeader::OfferSnapshot(Follower& f) {
  f.tailing = false;
  f.acked = 0;
  const std::string id = f.member + "-" + std::to_string(NowMs());
  const std::string path = (fs::path(options_.snapshot_dir) / ("snapshot-" + id)).string();
  Status made = store_->Checkpoint(path);
  uint64_t number = 0, last_term = 0;
  if (made.ok()) {
    auto copy = BrokerStore::OpenReadOnly(path);
    if (copy.ok()) {
      number = (*copy)->kv().LastCommit();
      last_term = (*copy)->kv().LastTerm();
    } else {
      made = copy.status();
    }
  }
  if (!made.ok()) {
    spdlog::error("msg=\"cannot make a checkpoint for a follower\" member={} error=\"{}\"",
                  f.member, LogValue(made.ToString()));
    std::error_code ec;
    fs::remove_all(path, ec);
    ReplMessage refused;
    refused.mutable_refused()->set_reason("no checkpoint: " + made.ToString());
    refused.mutable_refused()->set_term(term_);
    Send(f.routing_id, refused);
    return;
  }
  ReplMessage offer;
  auto* s = offer.mutable_snapshot();
  s->set_term(term_);
  s->set_number(number);
  s->set_last_term(last_term);
  s->set_id(id);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (!entry.is_regular_file()) continue;
    auto* file = s->add_files();
    file->set_name(entry.path().filename().string());
    file->set_size(entry.file_size());
  }
  f.snapshot_id = id;
  f.snapshot_path = path;
  f.snapshot_offered = true;
  f.snapshot_number = number;
  f.snapshot_term = last_term;
  // Commits after the checkpoint follow it from the ring.
  f.next = number + 1;
  spdlog::info("msg=\"sending a follower a checkpoint\" member={} number={} files={}", f.member,
               number, s->files_size());
  Send(f.routing_id, offer);
}

void ReplicationLeader::OnChunkRequest(Follower& f, const weituo::v1::ReplChunkRequest& request) {
  ReplMessage reply;
  if (request.snapshot_id() != f.snapshot_id || f.snapshot_path.empty() ||
      request.name().find('/') != std::string::npos || request.name().starts_with(".")) {
    reply.mutable_refused()->set_reason("no such checkpoint or file");
    reply.mutable_refused()->set_term(term_);
    Send(f.routing_id, reply);
    return;
  }
  std::ifstream in(fs::path(f.snapshot_path) / request.name(), std::ios::binary);
  std::string data(kChunkBytes, '\0');
  in.seekg(static_cast<std::streamoff>(request.offset()));
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  auto* chunk = reply.mutable_chunk();
  chunk->set_snapshot_id(f.snapshot_id);
  chunk->set_name(request.name());
  chunk->set_offset(request.offset());
  chunk->set_data(std::move(data));
  Send(f.routing_id, reply);
}

void ReplicationLeader::Pump() {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t ring_last = ring_->last();
  for (auto& [member, f] : followers_) {
    if (!f.tailing) continue;  // installing a checkpoint: it says ReplFollow when done
    while (f.next <= ring_last && f.next - f.acked <= options_.window) {
      std::vector<weituo::v1::ReplBatch> batches = ring_->From(f.next, options_.max_batch_bytes);
      if (batches.empty()) {
        // Fell out of the ring: a checkpoint, then the log.
        OfferSnapshot(f);
        break;
      }
      ReplMessage message;
      auto* out = message.mutable_batches();
      out->set_term(term_);
      out->set_leader_last(ring_last);
      for (auto& b : batches) *out->add_batches() = std::move(b);
      f.next += static_cast<uint64_t>(out->batches_size());
      Send(f.routing_id, message);
    }
  }
}

int64_t ReplicationLeader::LagMs(const Follower& f) const {
  auto first_lacking = ring_->From(f.acked + 1, 1);
  if (first_lacking.empty()) return 0;
  return std::max<int64_t>(0, NowMs() - first_lacking.front().committed_at_ms());
}

Status ReplicationLeader::WriteIsr(std::vector<std::string> members) {
  int64_t expected = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    expected = isr_revision_;
  }
  Status written = coordinator_.write_isr(members, expected);
  auto now = coordinator_.read_isr();
  std::lock_guard<std::mutex> lock(mu_);
  if (now.ok()) {
    isr_ = now->members;
    isr_revision_ = now->mod_revision;
  }
  if (written.ok()) {
    spdlog::warn("msg=\"in-sync set changed\" term={} in_sync=\"{}\"", term_,
                 fmt::join(members, ","));
  }
  return written;
}

Status ReplicationLeader::WaitDurable(uint64_t number) {
  const int64_t started = MonotonicMs();
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (stop_.load()) return Status::Unavailable("replication stopped");
    if (!coordinator_.is_leader()) {
      return Status::Unavailable("this member's lease no longer holds: it is not the leader");
    }
    std::vector<std::string> missing, joining;
    for (const std::string& m : isr_) {
      if (m == options_.member) continue;
      auto it = followers_.find(m);
      if (it == followers_.end() || it->second.acked < number) missing.push_back(m);
    }
    for (const auto& [member, f] : followers_) {
      if (!Contains(isr_, member) && f.tailing && f.acked >= number) joining.push_back(member);
    }
    const bool late = MonotonicMs() - started >= options_.ack_timeout_ms;
    std::vector<std::string> next = isr_;
    if (!joining.empty() && missing.empty()) {
      // Holds everything receipted so far, and this commit: it may lead.
      for (const std::string& m : joining) next.push_back(m);
    } else if (late && !missing.empty() && isr_.size() - missing.size() >= options_.min_in_sync) {
      std::erase_if(next, [&](const std::string& m) { return Contains(missing, m); });
    }
    if (next != isr_) {
      lock.unlock();
      Status written = WriteIsr(next);
      lock.lock();
      if (!written.ok()) {
        spdlog::error("msg=\"cannot change the in-sync set in etcd\" error=\"{}\"",
                      LogValue(written.ToString()));
        lock.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        lock.lock();
      }
      continue;
    }
    if (missing.empty() && isr_.size() >= options_.min_in_sync) return Status::Ok();
    acked_.wait_for(lock, std::chrono::milliseconds(20));
  }
}

std::vector<FollowerView> ReplicationLeader::Followers() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FollowerView> out;
  for (const auto& [member, f] : followers_) {
    FollowerView v;
    v.member = member;
    v.acked = f.acked;
    v.lag_ms = LagMs(f);
    v.in_sync = Contains(isr_, member);
    v.snapshotting = !f.snapshot_path.empty() && !f.tailing;
    v.last_heard_ms = f.last_heard_ms;
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<std::string> ReplicationLeader::InSync() const {
  std::lock_guard<std::mutex> lock(mu_);
  return isr_;
}

}  // namespace weituo::group
