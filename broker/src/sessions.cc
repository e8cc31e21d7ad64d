#include "sessions.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "weituo/common/logging.h"
#include "weituo/common/validation.h"
#include "weituo/common/wire.h"

namespace weituo::broker {

using weituo::v1::Envelope;
using weituo::v1::ErrorCode;

const std::string* Sessions::CourtOf(const std::string& routing_id) const {
  auto it = court_by_routing_id_.find(routing_id);
  return it == court_by_routing_id_.end() ? nullptr : &it->second;
}

const std::string* Sessions::Bound(const std::string& routing_id, const std::string& user) {
  const std::string* bound = CourtOf(routing_id);
  if (bound && !options_.plaintext && *bound != user) {
    Unbind(routing_id, "route taken by another connection");
    return nullptr;
  }
  return bound;
}

void Sessions::Unbind(const std::string& routing_id, const char* why) {
  auto bound = court_by_routing_id_.find(routing_id);
  if (bound == court_by_routing_id_.end()) return;
  std::string court = std::move(bound->second);
  court_by_routing_id_.erase(bound);
  CourtSession& session = courts_[court];
  if (session.routing_id != routing_id) return;
  session.routing_id.clear();
  if (session.online) MarkOffline(court, why);
}

bool Sessions::TakeToken(const std::string& court, int64_t now_mono) {
  if (options_.rate_limit <= 0) return true;
  CourtSession& session = courts_[court];
  if (session.tokens < 0) {
    session.tokens = options_.rate_burst;
    session.tokens_at_mono = now_mono;
  }
  session.tokens =
      std::min(options_.rate_burst,
               session.tokens + (now_mono - session.tokens_at_mono) * options_.rate_limit / 1000.0);
  session.tokens_at_mono = now_mono;
  if (session.tokens < 1) return false;
  session.tokens -= 1;
  return true;
}

void Sessions::Hello(const std::string& routing_id, const std::string& user,
                     const weituo::v1::Hello& hello, const CourtDirectory& directory,
                     int64_t now_mono, int64_t now_wall) {
  const std::string& court = hello.court_id();
  if (!options_.plaintext && court != user) {
    replies_.Refuse(
        routing_id, user, ErrorCode::PERMISSION_DENIED,
        "Hello names court '" + court + "' but this connection's key is court '" + user + "'", "");
    return;
  }
  const CourtEntry* entry = IsValidCourtId(court) ? directory.Find(court) : nullptr;
  if (!entry) {
    replies_.Refuse(routing_id, "", ErrorCode::UNKNOWN_COURT,
                    "court '" + court + "' is not in the broker's directory", "");
    return;
  }
  // A connection that said Hello before speaks for its first court only.
  if (const std::string* bound = CourtOf(routing_id); bound && *bound != court) {
    replies_.Refuse(routing_id, *bound, ErrorCode::PERMISSION_DENIED,
                    "this connection already speaks for court '" + *bound + "'", "");
    return;
  }
  CourtSession& session = courts_[court];
  if (!session.routing_id.empty() && session.routing_id != routing_id) {
    court_by_routing_id_.erase(session.routing_id);
  }
  session.routing_id = routing_id;
  court_by_routing_id_[routing_id] = court;
  hooks_.bound(routing_id, court);
  session.online = true;
  session.last_seen_mono = now_mono;
  session.last_seen_wall = now_wall;
  hooks_.connected(court, routing_id);
  counters_.Add("hellos");
  hooks_.online(court, session.last_seen_wall);
  spdlog::info("msg=\"court online\" court={} agent=\"{}\"", court,
               LogValue(hello.agent_version()));

  Envelope env;
  auto* welcome = env.mutable_welcome();
  welcome->set_court_id(court);
  welcome->set_broker_version(version_);
  welcome->set_heartbeat_ms(static_cast<uint32_t>(options_.heartbeat_ms));
  welcome->set_server_time_ms(now_wall);
  welcome->set_max_frame_bytes(options_.max_frame_bytes);
  replies_.Reply(routing_id, env);
}

void Sessions::HeardFrom(const std::string& court, int64_t now_mono, int64_t now_wall) {
  CourtSession& session = courts_[court];
  session.last_seen_mono = now_mono;
  session.last_seen_wall = now_wall;
  if (session.online) return;
  // Heard from again after we gave up on it: resend everything pending.
  session.online = true;
  hooks_.connected(court, session.routing_id);
  spdlog::info("msg=\"court online\" court={} reason=heard-again", court);
  hooks_.online(court, session.last_seen_wall);
}

void Sessions::MarkOffline(const std::string& court, const char* why) {
  courts_[court].online = false;
  hooks_.disconnected(court);
  spdlog::info("msg=\"court offline\" court={} reason=\"{}\"", court, why);
}

void Sessions::Tick(int64_t now_mono, int64_t now_wall) {
  Envelope heartbeat;
  heartbeat.mutable_heartbeat()->set_at_ms(now_wall);
  const std::string heartbeat_bytes = SerializeEnvelope(heartbeat);
  for (auto& [court, session] : courts_) {
    if (!session.online) continue;
    if (now_mono - session.last_seen_mono > options_.offline_after_ms) {
      MarkOffline(court, "no heartbeat");
      continue;
    }
    if (now_mono - session.last_heartbeat_sent >= options_.heartbeat_ms) {
      session.last_heartbeat_sent = now_mono;
      if (hooks_.send(session.routing_id, heartbeat_bytes) == SendResult::kUnreachable) {
        MarkOffline(court, "connection gone");
        continue;
      }
    }
  }
}

const CourtSession* Sessions::Find(const std::string& court) const {
  auto it = courts_.find(court);
  return it == courts_.end() ? nullptr : &it->second;
}

}  // namespace weituo::broker
