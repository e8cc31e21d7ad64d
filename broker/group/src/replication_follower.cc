// ReplicationFollower (replication.h): applying the leader's commits, and
// installing its checkpoint.
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <zmq.hpp>

#include "replication.h"
#include "weituo/common/clock.h"
#include "weituo/common/logging.h"

namespace weituo::group {

namespace fs = std::filesystem;
using weituo::v1::ReplMessage;

namespace {
// A follower that hears nothing from its leader this long says ReplFollow
// again (a leader restarted at the same endpoint does not know it).
constexpr int64_t kFollowerSilenceMs = 2000;
}  // namespace

struct ReplicationFollower::Sockets {
  zmq::context_t context{1};
  std::unique_ptr<zmq::socket_t> dealer;
  std::string connected_to;
};

ReplicationFollower::ReplicationFollower(std::string member, std::string data_dir,
                                         std::unique_ptr<BrokerStore> store, BatchRing* ring)
    : member_(std::move(member)),
      data_dir_(std::move(data_dir)),
      store_(std::move(store)),
      ring_(ring),
      sockets_(std::make_unique<Sockets>()) {
  Listen();
}

void ReplicationFollower::Listen() {
  if (!store_) return;
  last_applied_.store(store_->kv().LastCommit());
  last_term_.store(store_->kv().LastTerm());
  store_->kv().SetCommitListener(
      [ring = ring_](uint64_t number, uint64_t term, std::string_view data) {
        ring->Append(number, term, data, NowMs());
      });
}

ReplicationFollower::~ReplicationFollower() { (void)Stop(); }

void ReplicationFollower::Start() {
  stop_.store(false);
  thread_ = std::thread([this] { ThreadMain(); });
}

std::unique_ptr<BrokerStore> ReplicationFollower::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  sockets_->dealer.reset();
  sockets_->connected_to.clear();
  std::unique_lock<std::shared_mutex> lock(store_mu_);
  return std::move(store_);
}

Status ReplicationFollower::Read(const std::function<Status(const BrokerStore&)>& read) const {
  std::shared_lock<std::shared_mutex> lock(store_mu_);
  if (!store_) return Status::Unavailable("the replica is being replaced by a checkpoint");
  return read(*store_);
}

void ReplicationFollower::SetLeader(std::string replication_endpoint, uint64_t term,
                                    std::string server_key) {
  std::lock_guard<std::mutex> lock(mu_);
  leader_endpoint_ = std::move(replication_endpoint);
  leader_term_ = term;
  leader_key_ = std::move(server_key);
}

std::string ReplicationFollower::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

void ReplicationFollower::SetError(std::string error) {
  spdlog::warn("msg=\"replication: {}\"", LogValue(error));
  std::lock_guard<std::mutex> lock(mu_);
  error_ = std::move(error);
}

void ReplicationFollower::ThreadMain() {
  int64_t last_heard = 0;
  while (!stop_.load()) {
    std::string endpoint, server_key;
    {
      std::lock_guard<std::mutex> lock(mu_);
      endpoint = leader_endpoint_;
      server_key = leader_key_;
    }
    const int64_t now = MonotonicMs();
    const bool silent = now - last_heard > kFollowerSilenceMs;
    if (endpoint.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (endpoint != sockets_->connected_to || silent) {
      // A new leader, or a silent one: connect afresh and say where we are.
      sockets_->dealer =
          std::make_unique<zmq::socket_t>(sockets_->context, zmq::socket_type::dealer);
      sockets_->dealer->set(zmq::sockopt::linger, 0);
      if (!secret_key_.empty() && !server_key.empty()) {
        sockets_->dealer->set(zmq::sockopt::curve_serverkey, server_key);
        sockets_->dealer->set(zmq::sockopt::curve_publickey, public_key_);
        sockets_->dealer->set(zmq::sockopt::curve_secretkey, secret_key_);
      }
      sockets_->dealer->connect(endpoint);
      sockets_->connected_to = endpoint;
      if (!store_) {
        // Only while a snapshot was being installed and failed to reopen.
        auto reopened = BrokerStore::Open(data_dir_);
        if (!reopened.ok()) {
          SetError("cannot open the store: " + reopened.status().ToString());
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
          continue;
        }
        {
          std::unique_lock<std::shared_mutex> lock(store_mu_);
          store_ = std::move(reopened).value();
        }
        Listen();
      }
      ReplMessage follow;
      follow.mutable_follow()->set_member(member_);
      follow.mutable_follow()->set_last_number(store_->kv().LastCommit());
      follow.mutable_follow()->set_last_term(store_->kv().LastTerm());
      sockets_->dealer->send(zmq::buffer(EncodeRepl(follow)), zmq::send_flags::dontwait);
      last_heard = now;
    }
    zmq::pollitem_t items[] = {{sockets_->dealer->handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(50));
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    zmq::message_t payload;
    if (!sockets_->dealer->recv(payload, zmq::recv_flags::dontwait)) continue;
    last_heard = MonotonicMs();
    ReplMessage message;
    if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      SetError("a message from the leader does not parse");
      continue;
    }
    bool restart = false;
    if (message.has_batches()) {
      restart = !OnBatches(message.batches());
    } else if (message.has_snapshot()) {
      Status installed = InstallSnapshot(message.snapshot());
      if (!installed.ok()) SetError("checkpoint not installed: " + installed.ToString());
      restart = true;
    } else if (message.has_refused()) {
      SetError("the leader refused: " + message.refused().reason());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      restart = true;
    }
    if (restart) sockets_->connected_to.clear();
  }
}

bool ReplicationFollower::OnBatches(const weituo::v1::ReplBatches& batches) {
  uint64_t known_term = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    known_term = leader_term_;
  }
  if (batches.term() < known_term) {
    // Fencing: a leader whose term has passed writes nothing here.
    ReplMessage refused;
    refused.mutable_refused()->set_reason("term " + std::to_string(batches.term()) +
                                          " has passed; the leader's term is " +
                                          std::to_string(known_term));
    refused.mutable_refused()->set_term(known_term);
    sockets_->dealer->send(zmq::buffer(EncodeRepl(refused)), zmq::send_flags::dontwait);
    return true;
  }
  leader_last_.store(batches.leader_last());
  KvStore& kv = store_->kv();
  for (int i = 0; i < batches.batches_size(); ++i) {
    const auto& b = batches.batches(i);
    if (b.number() <= kv.LastCommit()) continue;  // a resend
    // One sync for all the message holds: the last one's.
    const bool last = i + 1 == batches.batches_size();
    Status applied = kv.ApplyReplicated(b.number(), b.term(), b.data(), last);
    if (!applied.ok()) {
      SetError("batch " + std::to_string(b.number()) + " not applied: " + applied.ToString());
      return false;
    }
    lag_ms_.store(std::max<int64_t>(0, NowMs() - b.committed_at_ms()));
  }
  if (batches.batches_size() == 0 && kv.LastCommit() >= batches.leader_last()) lag_ms_.store(0);
  last_applied_.store(kv.LastCommit());
  last_term_.store(kv.LastTerm());
  ReplMessage ack;
  ack.mutable_ack()->set_member(member_);
  ack.mutable_ack()->set_number(kv.LastCommit());
  ack.mutable_ack()->set_term(batches.term());
  sockets_->dealer->send(zmq::buffer(EncodeRepl(ack)), zmq::send_flags::dontwait);
  return true;
}

Status ReplicationFollower::InstallSnapshot(const weituo::v1::ReplSnapshot& snapshot) {
  spdlog::info("msg=\"installing the leader's checkpoint\" number={} files={}", snapshot.number(),
               snapshot.files_size());
  const fs::path incoming = data_dir_ + ".incoming";
  std::error_code ec;
  fs::remove_all(incoming, ec);
  fs::create_directories(incoming, ec);
  if (ec) return Status::Internal("cannot create " + incoming.string() + ": " + ec.message());
  fs::permissions(incoming, fs::perms::owner_all, fs::perm_options::replace, ec);
  for (const auto& file : snapshot.files()) {
    if (file.name().find('/') != std::string::npos || file.name().starts_with(".")) {
      return Status::InvalidArgument("a checkpoint file named " + file.name());
    }
    std::ofstream out(incoming / file.name(), std::ios::binary | std::ios::trunc);
    uint64_t offset = 0;
    while (offset < file.size()) {
      if (stop_.load()) return Status::Unavailable("stopped");
      ReplMessage request;
      auto* r = request.mutable_chunk_request();
      r->set_snapshot_id(snapshot.id());
      r->set_name(file.name());
      r->set_offset(offset);
      sockets_->dealer->send(zmq::buffer(EncodeRepl(request)), zmq::send_flags::dontwait);
      zmq::pollitem_t items[] = {{sockets_->dealer->handle(), 0, ZMQ_POLLIN, 0}};
      bool got = false;
      const int64_t deadline = MonotonicMs() + 5000;
      while (!got && MonotonicMs() < deadline && !stop_.load()) {
        zmq::poll(items, 1, std::chrono::milliseconds(100));
        if (!(items[0].revents & ZMQ_POLLIN)) continue;
        zmq::message_t payload;
        if (!sockets_->dealer->recv(payload, zmq::recv_flags::dontwait)) continue;
        ReplMessage reply;
        if (!reply.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) continue;
        if (reply.has_refused()) return Status::Unavailable(reply.refused().reason());
        if (!reply.has_chunk() || reply.chunk().name() != file.name() ||
            reply.chunk().offset() != offset) {
          continue;  // idle batches meanwhile
        }
        if (reply.chunk().data().empty()) return Status::DataLoss(file.name() + " ended early");
        out.write(reply.chunk().data().data(),
                  static_cast<std::streamsize>(reply.chunk().data().size()));
        offset += reply.chunk().data().size();
        got = true;
      }
      if (!got) return Status::Unavailable("the leader sent no chunk of " + file.name());
    }
    out.flush();
    if (!out) return Status::Internal("cannot write " + (incoming / file.name()).string());
  }
  // The copy is complete: it replaces the store. Synced by opening it (the
  // WAL it holds is replayed and the marker checked).
  {
    auto check = BrokerStore::Open(incoming.string());
    if (!check.ok()) return check.status();
    if ((*check)->kv().LastCommit() != snapshot.number()) {
      return Status::DataLoss("the checkpoint holds commit " +
                              std::to_string((*check)->kv().LastCommit()) + ", not " +
                              std::to_string(snapshot.number()));
    }
  }
  // The member's own files beside its store (its operator tokens) are not
  // the leader's to replace: they go with it into the new folder.
  for (const auto& entry : fs::directory_iterator(data_dir_, ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".token") continue;
    fs::copy_file(entry.path(), incoming / entry.path().filename(),
                  fs::copy_options::overwrite_existing, ec);
    if (ec) return Status::Internal("cannot keep " + entry.path().string() + ": " + ec.message());
  }
  {
    std::unique_lock<std::shared_mutex> lock(store_mu_);
    store_.reset();
  }
  const fs::path replaced = data_dir_ + ".replaced";
  fs::remove_all(replaced, ec);
  if (fs::exists(data_dir_)) fs::rename(data_dir_, replaced, ec);
  if (ec) return Status::Internal("cannot move the old store aside: " + ec.message());
  fs::rename(incoming, data_dir_, ec);
  if (ec) return Status::Internal("cannot move the checkpoint in: " + ec.message());
  fs::remove_all(replaced, ec);
  auto reopened = BrokerStore::Open(data_dir_);
  if (!reopened.ok()) return reopened.status();
  {
    std::unique_lock<std::shared_mutex> lock(store_mu_);
    store_ = std::move(reopened).value();
  }
  Listen();
  snapshots_.fetch_add(1);
  spdlog::info("msg=\"checkpoint installed\" number={}", snapshot.number());
  return Status::Ok();
}

}  // namespace weituo::group
