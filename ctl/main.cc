// weituoctl: the operator's command line for a Weituo zone.
//   keygen            makes a CURVE key pair for a court or the broker
//   status, courts    the broker's state
//   list, show ID     commissions, and one commission's trail
//   parked, redrive   messages no court acknowledged, and sending them again
//   pause, resume     holding a court's deliveries for maintenance
//   backup            a consistent copy of the running broker's store
//   verify            recomputes the tamper-evident trail over a store, or
//                     one commission's trail as the HTTP API serves it
//   stats             supervision statistics per court and for the zone
//   cluster           a broker group's members, as each of them sees it
// It talks to the broker's operator HTTP API on loopback (--url) with a
// token (--token-file): the operator's read token for reads, the admin
// token for actions and reads, or a witness's. Exit codes: 0 done,
// 1 refused or not found, 2 usage, 3 broker not reachable.
#include <google/protobuf/util/json_util.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "weituo/broker/broker_store.h"
#include "weituo/common/curve.h"
#include "weituo/common/deadlines.h"
#include "weituo/common/http_client.h"
#include "weituo/common/json.h"
#include "weituo/common/trail_hash.h"
#include "weituo/common/validation.h"
#include "weituo/common/wire.h"
#include "weituo/v1/status.pb.h"

namespace {

using weituo::HttpMethod;

constexpr int kOk = 0, kRefused = 1, kUsage = 2, kUnreachable = 3;

struct Api {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string token;
};

struct Reply {
  int status = 0;  // HTTP status; 0 if the broker could not be reached
  std::string body;
  std::string error;
};

Reply Call(const Api& api, HttpMethod method, const std::string& target) {
  weituo::HttpCall call;
  call.method = method;
  call.host = api.host;
  call.port = api.port;
  call.target = target;
  call.bearer_token = api.token;
  call.timeout = std::chrono::seconds(15);
  call.max_body_bytes = 64 * 1024 * 1024;  // far over a page of 500 commissions
  Reply reply;
  auto answer = weituo::CallHttp(call);
  if (!answer.ok()) {
    reply.error = answer.status().message();
    return reply;
  }
  reply.status = answer->status;
  reply.body = std::move(answer->body);
  return reply;
}

// Parses the body into `message`; prints the broker's error and returns
// the exit code otherwise.
int Decode(const Reply& reply, google::protobuf::Message* message) {
  if (reply.status == 0) {
    std::cerr << "weituoctl: cannot reach the broker: " << reply.error
              << " (is it running? --url, or WEITUO_BROKER_URL)\n";
    return kUnreachable;
  }
  if (reply.status != 200) {
    weituo::v1::ApiReply error;
    std::string text = reply.body;
    if (google::protobuf::util::JsonStringToMessage(reply.body, &error).ok()) {
      text = error.message();
    }
    std::cerr << "weituoctl: " << reply.status << ": " << text << "\n";
    if (reply.status == 401) {
      std::cerr << "weituoctl: give a token: --token-file <broker data dir>/read.token (or "
                   "admin.token for actions), or WEITUO_TOKEN_FILE\n";
    }
    return reply.status >= 500 ? kUnreachable : kRefused;
  }
  if (!google::protobuf::util::JsonStringToMessage(reply.body, message).ok()) {
    std::cerr << "weituoctl: the broker's answer is not what this weituoctl expects\n";
    return kRefused;
  }
  return kOk;
}

// --json prints as the broker's API does: every field, those at their
// default value too.
std::string ApiJson(const google::protobuf::Message& m) {
  return weituo::ToJson(m, {.always_print_primitive_fields = true});
}

std::string Time(int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t t = ms / 1000;
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return text;
}

std::string Age(int64_t ms) {
  if (ms <= 0) return "-";
  if (ms < 120000) return std::to_string(ms / 1000) + "s";
  if (ms < 7200000) return std::to_string(ms / 60000) + "m";
  return std::to_string(ms / 3600000) + "h";
}

std::string KindName(const weituo::v1::Commission& c) {
  return weituo::v1::Kind_Name(weituo::KindOf(c));
}

std::string EventText(const weituo::v1::Event& e) {
  std::string text;
  const weituo::v1::Update& u = e.update();
  if (u.has_accept()) text = "handler " + u.accept().handler();
  if (u.has_progress()) text = u.progress().text();
  if (u.has_complete()) text = "result " + ApiJson(u.complete().result());
  if (u.has_return_()) {
    text = weituo::v1::ReturnReason_Name(u.return_().reason()) + " " + u.return_().text();
  }
  if (u.has_withdraw()) text = u.withdraw().reason();
  if (u.has_request_info()) text = u.request_info().text();
  if (u.has_supply_info()) text = u.supply_info().text();
  if (u.has_forward()) text = "to " + u.forward().to_court() + " as " + e.child_commission_id();
  if (e.has_deadline()) {
    const auto& d = e.deadline();
    text = std::string(weituo::StageName(d.stage()));
    if (d.round() > 1) text += " #" + std::to_string(d.round());
    if (d.due_at_ms() > 0) text += ", due " + Time(d.due_at_ms());
    if (!d.supervisor().empty()) text += ", escalated to " + d.supervisor();
  }
  return text;
}

// One line per member asked (its own view), and a leader's followers.
int Cluster(const std::vector<Api>& members, bool json) {
  int rc = kOk;
  if (!json) {
    std::cout << std::left << std::setw(10) << "MEMBER" << std::setw(10) << "ROLE" << std::setw(8)
              << "TERM" << std::setw(10) << "LEADER" << std::setw(12) << "APPLIED" << std::setw(10)
              << "LAG" << std::setw(10) << "ETCD"
              << "LAST CHANGE\n";
  }
  for (const Api& api : members) {
    weituo::v1::ClusterStatus c;
    if (int got = Decode(Call(api, HttpMethod::kGet, "/api/cluster"), &c); got != kOk) {
      rc = got;
      continue;
    }
    if (json) {
      std::cout << ApiJson(c) << "\n";
      continue;
    }
    const std::string change =
        c.last_change_ago_ms() < 0
            ? "-"
            : c.last_change_reason() + ", " + Age(c.last_change_ago_ms()) + " ago";
    std::cout << std::left << std::setw(10) << c.member() << std::setw(10) << c.role()
              << std::setw(8) << c.term() << std::setw(10)
              << (c.leader().empty() ? "-" : c.leader()) << std::setw(12) << c.last_applied()
              << std::setw(10) << (std::to_string(c.lag_ms()) + " ms") << std::setw(10)
              << (c.etcd_reachable() ? "ok" : "UNREACHED") << change << "\n";
    if (c.role() == "leader") {
      std::cout << "  in sync: ";
      for (int i = 0; i < c.in_sync_size(); ++i) std::cout << (i ? ", " : "") << c.in_sync(i);
      std::cout << "\n";
      for (const auto& f : c.followers()) {
        std::cout << "  follower " << f.member() << ": acked " << f.acked() << ", behind "
                  << f.lag_batches() << " commits / " << f.lag_ms() << " ms"
                  << (f.in_sync() ? ", in sync" : ", NOT in sync")
                  << (f.snapshotting() ? ", fetching a checkpoint" : "") << "\n";
      }
    }
  }
  return rc;
}

int Status(const Api& api, bool json) {
  weituo::v1::BrokerStatus s;
  if (int rc = Decode(Call(api, HttpMethod::kGet, "/api/status"), &s); rc != kOk) return rc;
  if (json) {
    std::cout << ApiJson(s) << "\n";
    return kOk;
  }
  int online = 0;
  for (const auto& c : s.courts()) online += c.online();
  std::cout << s.version() << " at " << s.endpoint() << " (" << s.security() << "), up "
            << Age(s.uptime_ms()) << ", store " << s.store_bytes() / 1024 << " KiB\n"
            << "courts online " << online << " of " << s.courts_size() << "\n"
            << "commissions by state:";
  // Sorted: protobuf maps iterate in no particular order.
  using Sorted = std::map<std::string, uint64_t>;
  for (const auto& [state, n] :
       Sorted(s.commissions_by_state().begin(), s.commissions_by_state().end())) {
    std::cout << " " << state << " " << n;
  }
  std::cout << "\ncounters:";
  for (const auto& [name, n] : Sorted(s.counters().begin(), s.counters().end())) {
    std::cout << " " << name << "=" << n;
  }
  std::cout << "\nrefused:";
  for (const auto& [code, n] : Sorted(s.refused().begin(), s.refused().end())) {
    std::cout << " " << code << "=" << n;
  }
  std::cout << "\n";
  return kOk;
}

int Courts(const Api& api, bool json) {
  weituo::v1::BrokerStatus s;
  if (int rc = Decode(Call(api, HttpMethod::kGet, "/api/status"), &s); rc != kOk) return rc;
  if (json) {
    std::cout << "[";
    for (int i = 0; i < s.courts_size(); ++i) std::cout << (i ? "," : "") << ApiJson(s.courts(i));
    std::cout << "]\n";
    return kOk;
  }
  std::cout << std::left << std::setw(24) << "COURT" << std::setw(9) << "ONLINE" << std::setw(9)
            << "PENDING" << std::setw(10) << "INFLIGHT" << std::setw(9) << "OVERDUE" << std::setw(8)
            << "PARKED" << std::setw(8) << "PAUSED" << std::setw(9) << "OLDEST"
            << "LAST SEEN\n";
  for (const auto& c : s.courts()) {
    std::cout << std::setw(24) << c.court_id() << std::setw(9) << (c.online() ? "yes" : "no")
              << std::setw(9) << c.pending() << std::setw(10) << c.in_flight() << std::setw(9)
              << c.overdue() << std::setw(8) << c.parked() << std::setw(8)
              << (c.paused() ? "PAUSED" : "-") << std::setw(9) << Age(c.oldest_pending_ms())
              << Time(c.last_seen_ms())
              << (c.offline_flagged_since_ms() > 0
                      ? "  flagged to " + c.superior() + ": offline since " +
                            Time(c.offline_flagged_since_ms()) + ", liaison " + c.liaison().phone()
                      : std::string())
              << "\n";
  }
  return kOk;
}

int List(const Api& api, bool json, const std::string& query) {
  weituo::v1::CommissionPage page;
  if (int rc = Decode(Call(api, HttpMethod::kGet, "/api/commissions" + query), &page); rc != kOk) {
    return rc;
  }
  if (json) {
    std::cout << ApiJson(page) << "\n";
    return kOk;
  }
  std::cout << std::left << std::setw(28) << "ID" << std::setw(26) << "ORIGIN -> TARGET"
            << std::setw(17) << "KIND" << std::setw(13) << "STATE" << std::setw(21) << "SUBMITTED"
            << "CASE\n";
  for (const auto& r : page.commissions()) {
    const auto& c = r.commission();
    std::cout << std::setw(28) << c.id() << std::setw(26)
              << (c.origin_court() + " -> " + c.target_court()) << std::setw(17) << KindName(c)
              << std::setw(13) << weituo::v1::State_Name(r.state()) << std::setw(21)
              << Time(r.submitted_at_ms()) << c.case_number() << "\n";
  }
  if (!page.next_after().empty()) std::cout << "more: --after " << page.next_after() << "\n";
  return kOk;
}

int Show(const Api& api, bool json, const std::string& id) {
  weituo::v1::CommissionTrail trail;
  if (int rc = Decode(Call(api, HttpMethod::kGet, "/api/commissions/" + id), &trail); rc != kOk) {
    return rc;
  }
  if (json) {
    std::cout << ApiJson(trail) << "\n";
    return kOk;
  }
  const auto& r = trail.record();
  const auto& c = r.commission();
  std::cout << "commission " << c.id() << "  " << c.case_number() << "\n  " << c.origin_court()
            << " -> " << c.target_court() << "  " << KindName(c) << "  state "
            << weituo::v1::State_Name(r.state()) << "\n  debtor " << c.debtor().name()
            << "  region " << c.debtor().region_code() << "\n";
  for (const auto& e : trail.events()) {
    std::cout << "  #" << e.seq() << "  " << Time(e.at_ms()) << "  " << std::left << std::setw(17)
              << weituo::v1::EventType_Name(e.type()).substr(3) << std::setw(10)
              << (e.actor_court().empty() ? "broker" : e.actor_court()) << EventText(e) << "\n";
  }
  return kOk;
}

int Parked(const Api& api, bool json, int limit) {
  weituo::v1::ParkedPage page;
  if (int rc =
          Decode(Call(api, HttpMethod::kGet, "/api/parked?limit=" + std::to_string(limit)), &page);
      rc != kOk) {
    return rc;
  }
  if (json) {
    std::cout << ApiJson(page) << "\n";
    return kOk;
  }
  std::cout << std::left << std::setw(10) << "DELIVERY" << std::setw(24) << "COURT" << std::setw(40)
            << "ITEM" << std::setw(9) << "ATTEMPTS" << std::setw(21) << "PARKED"
            << "REASON\n";
  for (const auto& item : page.items()) {
    const auto& d = item.deliver();
    std::string what = d.has_commission() ? "commission " + d.commission().id()
                                          : "event " + d.event().commission_id() + "#" +
                                                std::to_string(d.event().seq());
    std::cout << std::setw(10) << d.delivery_id() << std::setw(24) << item.court() << std::setw(40)
              << what << std::setw(9) << item.attempts() << std::setw(21)
              << Time(item.parked_at_ms()) << item.park_reason() << "\n";
  }
  return kOk;
}

// Reads the store directly (read-only, safe beside the running broker).
// Exit 0 intact, 1 a break (damage RocksDB finds counts as one), 2 the
// store could not be read.
int Verify(const std::string& data_dir, bool json) {
  auto print_damage = [&](const weituo::Status& s) {
    if (json) {
      std::cout << "{\"ok\":false,\"broken\":" << weituo::JsonQuoted(s.message()) << "}\n";
    } else {
      std::cout << "BROKEN: " << s.message() << "\n";
    }
    return kRefused;
  };
  auto store = weituo::broker::BrokerStore::OpenReadOnly(data_dir);
  if (!store.ok()) {
    if (store.status().code() == weituo::StatusCode::kDataLoss) return print_damage(store.status());
    std::cerr << "weituoctl: " << store.status().ToString() << "\n";
    return kUsage;
  }
  auto audit = (*store)->VerifyTrail();
  if (!audit.ok()) {
    if (audit.status().code() == weituo::StatusCode::kDataLoss) return print_damage(audit.status());
    std::cerr << "weituoctl: " << audit.status().ToString() << "\n";
    return kUsage;
  }
  if (json) {
    std::cout << "{\"ok\":" << (audit->broken.empty() ? "true" : "false")
              << ",\"events\":" << audit->events << ",\"commissions\":" << audit->records
              << ",\"links\":" << audit->links << ",\"unchained\":" << audit->unchained
              << ",\"broken\":" << weituo::JsonQuoted(audit->broken) << "}\n";
  } else if (audit->broken.empty()) {
    std::cout << "verified: " << audit->events << " events of " << audit->records
              << " commissions, " << audit->links << " links of the global chain"
              << (audit->unchained ? ", " + std::to_string(audit->unchained) +
                                         " events from before the trail was chained"
                                   : std::string())
              << "\n";
  } else {
    std::cout << "BROKEN at " << audit->broken << "\n";
  }
  return audit->broken.empty() ? kOk : kRefused;
}

// A witness's check of one trail as served (weituo::CheckTrail): each
// event's hash recomputed and chained to the one before, the last being
// the record's.
int VerifyOne(const Api& api, bool json, const std::string& id) {
  weituo::v1::CommissionTrail trail;
  if (int rc = Decode(Call(api, HttpMethod::kGet, "/api/commissions/" + id), &trail); rc != kOk) {
    return rc;
  }
  std::vector<weituo::v1::Event> events(trail.events().begin(), trail.events().end());
  weituo::TrailCheck check =
      weituo::CheckTrail(events, trail.record().last_seq(), trail.record().last_hash());
  const std::string head = events.empty() ? "" : weituo::Hex(events.back().hash());
  const std::string broken =
      check.broken.empty() ? "" : check.Where(trail.record().commission().id());
  if (json) {
    std::cout << "{\"ok\":" << (broken.empty() ? "true" : "false")
              << ",\"events\":" << trail.events_size() << ",\"head\":\"" << head
              << "\",\"broken\":" << weituo::JsonQuoted(broken) << "}\n";
  } else if (broken.empty()) {
    std::cout << "verified: " << trail.events_size() << " events of " << id << ", head " << head
              << "\n";
  } else {
    std::cout << "BROKEN at " << broken << "\n";
  }
  return broken.empty() ? kOk : kRefused;
}

std::string Days(double d) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << d;
  return out.str();
}

int Stats(const Api& api, bool json, const std::string& query) {
  weituo::v1::SupervisionStats st;
  if (int rc = Decode(Call(api, HttpMethod::kGet, "/api/stats" + query), &st); rc != kOk) return rc;
  if (json) {
    std::cout << ApiJson(st) << "\n";
    return kOk;
  }
  std::cout << "commissions submitted " << Time(st.from_ms()) << " to " << Time(st.to_ms()) << ": "
            << st.commissions() << (st.truncated() ? " (truncated)" : "") << "\n";
  std::cout << std::left << std::setw(24) << "COURT" << std::setw(6) << "SENT" << std::setw(6)
            << "RECV" << std::setw(6) << "ACK" << std::setw(8) << "ONTIME" << std::setw(6) << "DONE"
            << std::setw(6) << "RET" << std::setw(6) << "WDRN" << std::setw(6) << "FWD"
            << std::setw(6) << "EXP" << std::setw(6) << "OPEN" << std::setw(9) << "OVERDUE"
            << std::setw(8) << "MEDIAN"
            << "P90 (days)\n";
  auto row = [](const weituo::v1::CourtStats& c) {
    std::cout << std::setw(24) << c.court_id() << std::setw(6) << c.sent() << std::setw(6)
              << c.received() << std::setw(6) << c.acknowledged() << std::setw(8)
              << c.acknowledged_on_time() << std::setw(6) << c.completed() << std::setw(6)
              << c.returned() << std::setw(6) << c.withdrawn() << std::setw(6) << c.forwarded()
              << std::setw(6) << c.expired() << std::setw(6) << c.open() << std::setw(9)
              << c.overdue_now() << std::setw(8) << Days(c.median_days_to_complete())
              << Days(c.p90_days_to_complete()) << "\n";
  };
  for (const auto& c : st.courts()) {
    if (c.supervisor() && c.sent() == 0 && c.received() == 0) continue;
    row(c);
  }
  row(st.zone());
  using Sorted = std::map<std::string, uint64_t>;
  if (st.zone().returned() > 0) {
    std::cout << "returned by reason:";
    for (const auto& [reason, n] :
         Sorted(st.zone().returned_by_reason().begin(), st.zone().returned_by_reason().end())) {
      std::cout << " " << reason << "=" << n;
    }
    std::cout << "\n";
  }
  if (st.zone().overdue_now() > 0) {
    std::cout << "overdue now by stage:";
    for (const auto& [stage, n] :
         Sorted(st.zone().overdue_by_stage().begin(), st.zone().overdue_by_stage().end())) {
      std::cout << " " << stage << "=" << n;
    }
    std::cout << "\n";
  }
  for (const auto& c : st.campaigns()) {
    std::cout << "campaign " << c.campaign() << ": " << c.commissions() << " commissions, "
              << c.completed() << " completed; located " << c.debtors_located() << ", summoned "
              << c.summoned() << ", detained or fined " << c.detained_or_fined()
              << ", closed or settled " << c.closed_or_settled() << ", recovered "
              << c.amount_recovered_fen() / 100 << "." << std::setw(2) << std::setfill('0')
              << c.amount_recovered_fen() % 100 << std::setfill(' ') << " yuan\n";
  }
  return kOk;
}

int Act(const Api& api, bool json, const std::string& target) {
  if (api.token.empty()) {
    std::cerr << "weituoctl: actions need the broker's admin token: --token-file "
                 "<broker data dir>/admin.token (or WEITUO_TOKEN_FILE, WEITUO_ADMIN_TOKEN_FILE)\n";
    return kUsage;
  }
  weituo::v1::ApiReply reply;
  if (int rc = Decode(Call(api, HttpMethod::kPost, target), &reply); rc != kOk) return rc;
  std::cout << (json ? ApiJson(reply) : reply.message()) << "\n";
  return kOk;
}

// "http://host:port" -> host, port.
bool ParseUrl(std::string url, Api* api) {
  if (url.rfind("http://", 0) == 0) url = url.substr(7);
  if (!url.empty() && url.back() == '/') url.pop_back();
  size_t colon = url.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == url.size()) return false;
  api->host = url.substr(0, colon);
  api->port = url.substr(colon + 1);
  return true;
}

std::string QueryEscape(const std::string& value) {
  std::ostringstream out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out << c;
    } else {
      out << '%' << std::uppercase << std::hex << std::setw(2) << std::setfill('0') << int(c);
    }
  }
  return out.str();
}

// A key pair for a court, the broker, or a broker group's member (its
// replication key: NAME-replication.key).
int Keygen(const std::string& court, bool broker, const std::string& member, const std::string& dir,
           bool force) {
  std::string name = broker ? "broker" : !member.empty() ? member + "-replication" : court;
  if (!broker && !weituo::IsValidCourtId(member.empty() ? court : member)) {
    std::cerr << "weituoctl: '" << (member.empty() ? court : member)
              << "' is not a court id or member name (a-z, 0-9, '-')\n";
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::cerr << "weituoctl: cannot create " << dir << ": " << ec.message() << "\n";
    return 1;
  }
  auto keys = weituo::GenerateCurveKeyPair();
  if (!keys.ok()) {
    std::cerr << "weituoctl: " << keys.status().ToString() << "\n";
    return 1;
  }
  std::string base = (std::filesystem::path(dir) / name).string();
  std::map<std::string, std::string> metadata;
  if (broker) {
    metadata["role"] = "broker";
  } else if (!member.empty()) {
    metadata["member"] = member;
  } else {
    metadata["court"] = court;
  }
  if (weituo::Status s = weituo::WriteCertificate(base, *keys, metadata, force); !s.ok()) {
    std::cerr << "weituoctl: " << s.ToString() << "\n";
    return 1;
  }
  std::cout << "wrote " << base << ".key (public) and " << base << ".key_secret (secret, 0600)\n";
  if (broker) {
    std::cout << "broker public key: " << keys->public_key << "\n"
              << "give " << base << ".key to every agent (broker_public_key_file)\n";
  } else if (!member.empty()) {
    std::cout << "in the group file, under [[member]] name = \"" << member << "\":\n"
              << "replication_public_key = \"" << keys->public_key << "\"\n"
              << "and to that member: replication_secret_key_file = \"" << base
              << ".key_secret\"\n";
  } else {
    std::cout << "add to court '" << court << "' in the broker's directory, then SIGHUP it:\n"
              << "curve_keys = [\"" << keys->public_key << "\"]\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weituoctl: operate a Weituo zone"};
  app.require_subcommand(1);
  app.fallthrough();  // --json and --url also after the subcommand
  const char* env_url = std::getenv("WEITUO_BROKER_URL");
  const char* env_token = std::getenv("WEITUO_TOKEN_FILE");
  if (!env_token) env_token = std::getenv("WEITUO_ADMIN_TOKEN_FILE");
  std::string url = env_url ? env_url : "http://127.0.0.1:8080";
  std::string token_file = env_token ? env_token : "";
  bool json = false;
  app.add_option("--url", url, "the broker's operator HTTP address (WEITUO_BROKER_URL)")
      ->capture_default_str();
  app.add_option("--token-file", token_file,
                 "a token of the broker's: read.token in its data dir for reads, admin.token for "
                 "actions and reads, or a witness's (WEITUO_TOKEN_FILE, else "
                 "WEITUO_ADMIN_TOKEN_FILE)");
  app.add_flag("--json", json, "protobuf JSON instead of tables");

  CLI::App* status = app.add_subcommand("status", "the broker: version, uptime, counters");
  CLI::App* courts = app.add_subcommand("courts", "each court: online, pending, in flight, ...");
  CLI::App* list = app.add_subcommand("list", "commissions, a page at a time, newest first");
  std::string state, court_filter, kind, after;
  int limit = 50;
  bool oldest_first = false;
  list->add_option("--state", state, "SUBMITTED, DELIVERED, ACCEPTED, ...");
  list->add_option("--court", court_filter, "origin or target");
  list->add_option("--kind", kind, "DEBTOR_LOCATE, ASSET_QUERY, VEHICLE_SEIZURE");
  list->add_option("--limit", limit)->capture_default_str();
  list->add_option("--after", after, "the id a previous page ended with");
  list->add_flag("--oldest-first", oldest_first);
  CLI::App* show = app.add_subcommand("show", "one commission and its trail");
  std::string id;
  show->add_option("id", id)->required();
  CLI::App* parked = app.add_subcommand("parked", "messages parked after too many attempts");
  int parked_limit = 500;
  parked->add_option("--limit", parked_limit)->capture_default_str();
  CLI::App* redrive = app.add_subcommand("redrive", "send parked messages again");
  std::string redrive_id;
  redrive->add_option("id", redrive_id, "a delivery id, or a commission id for all of its")
      ->required();
  CLI::App* verify = app.add_subcommand(
      "verify",
      "recompute the hash chains of every trail in a store (--data-dir), or of one "
      "commission's trail as the broker serves it (ID); report the first broken link");
  std::string data_dir, verify_id;
  verify->add_option("--data-dir", data_dir, "the broker's store");
  verify->add_option("id", verify_id, "a commission id, checked over the HTTP API");
  CLI::App* stats = app.add_subcommand(
      "stats", "supervision statistics: per court and for the zone, and campaign outcomes");
  std::string stats_from, stats_to, stats_court, stats_campaign;
  stats->add_option("--from", stats_from, "YYYY-MM-DD (UTC+8) or epoch ms [default: 30 days ago]");
  stats->add_option("--to", stats_to, "YYYY-MM-DD, inclusive, or epoch ms [default: now]");
  stats->add_option("--court", stats_court, "one court only");
  stats->add_option("--campaign", stats_campaign, "one campaign tag only");
  CLI::App* pause = app.add_subcommand("pause", "hold deliveries to a court (kept stored)");
  CLI::App* resume = app.add_subcommand("resume", "resume deliveries to a court");
  std::string paused_court;
  pause->add_option("court", paused_court)->required();
  CLI::App* backup = app.add_subcommand(
      "backup", "a consistent copy of the store, made while the broker runs (needs the token)");
  resume->add_option("court", paused_court)->required();

  CLI::App* cluster = app.add_subcommand(
      "cluster",
      "a broker group: each member's role, term, last commit, lag and the in-sync set, from "
      "the members' cluster addresses (the group file's http)");
  std::vector<std::string> member_urls;
  cluster->add_option("members", member_urls,
                      "each member's cluster address, http://host:port [default: --url]");

  CLI::App* keygen = app.add_subcommand(
      "keygen", "make a CURVE key pair: NAME.key (public) and NAME.key_secret (0600)");
  std::string court, dir = ".";
  bool broker = false, force = false;
  auto* court_opt = keygen->add_option("--court", court, "the court the key speaks for");
  auto* broker_opt = keygen->add_flag("--broker", broker, "the broker's own key");
  std::string member;
  auto* member_opt = keygen->add_option(
      "--member", member, "a broker group's member: its replication key (docs/group.md)");
  court_opt->excludes(broker_opt);
  member_opt->excludes(broker_opt);
  member_opt->excludes(court_opt);
  keygen->add_option("--dir", dir, "folder to write the files to")->capture_default_str();
  keygen->add_flag("--force", force, "replace existing files (the old key stops working)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  Api api;
  if (!ParseUrl(url, &api)) {
    std::cerr << "weituoctl: --url must be http://host:port, got '" << url << "'\n";
    return kUsage;
  }
  // Reads need a token (read, admin or witness), actions the admin token,
  // unless the broker was started with --open-reads.
  if (!token_file.empty() && !*keygen && data_dir.empty()) {
    std::ifstream in(token_file);
    if (!in || !std::getline(in, api.token)) {
      std::cerr << "weituoctl: cannot read a token from " << token_file << "\n";
      return kUsage;
    }
  }
  if (*verify) {
    if (data_dir.empty() == verify_id.empty()) {
      std::cerr << "weituoctl verify: give --data-dir DIR (the whole store) or a commission id\n";
      return kUsage;
    }
    return data_dir.empty() ? VerifyOne(api, json, QueryEscape(verify_id)) : Verify(data_dir, json);
  }
  if (*stats) {
    std::string query;
    auto add = [&](const char* name, const std::string& value) {
      if (value.empty()) return;
      query += (query.empty() ? "?" : "&") + std::string(name) + "=" + QueryEscape(value);
    };
    add("from", stats_from);
    add("to", stats_to);
    add("court", stats_court);
    add("campaign", stats_campaign);
    return Stats(api, json, query);
  }
  if (*cluster) {
    std::vector<Api> members;
    if (member_urls.empty()) member_urls.push_back(url);
    for (const std::string& u : member_urls) {
      Api member;
      if (!ParseUrl(u, &member)) {
        std::cerr << "weituoctl cluster: a member's address must be http://host:port, got '" << u
                  << "'\n";
        return kUsage;
      }
      members.push_back(member);
    }
    return Cluster(members, json);
  }
  if (*status) return Status(api, json);
  if (*courts) return Courts(api, json);
  if (*list) {
    std::string query = "?limit=" + std::to_string(limit);
    if (!state.empty()) query += "&state=" + QueryEscape(state);
    if (!court_filter.empty()) query += "&court=" + QueryEscape(court_filter);
    if (!kind.empty()) query += "&kind=" + QueryEscape(kind);
    if (!after.empty()) query += "&after=" + QueryEscape(after);
    if (oldest_first) query += "&order=asc";
    return List(api, json, query);
  }
  if (*show) return Show(api, json, QueryEscape(id));
  if (*parked) return Parked(api, json, parked_limit);
  if (*redrive) return Act(api, json, "/api/parked/" + QueryEscape(redrive_id) + "/redrive");
  if (*pause) return Act(api, json, "/api/courts/" + QueryEscape(paused_court) + "/pause");
  if (*backup) return Act(api, json, "/api/admin/backup");
  if (*resume) return Act(api, json, "/api/courts/" + QueryEscape(paused_court) + "/resume");
  if (*keygen) {
    if (court.empty() && !broker && member.empty()) {
      std::cerr << "weituoctl keygen: name --court ID, --broker or --member NAME\n";
      return 2;
    }
    return Keygen(court, broker, member, dir, force);
  }
  return 2;
}
