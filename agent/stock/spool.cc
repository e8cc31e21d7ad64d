#include "spool.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "files.h"
#include "weituo/common/clock.h"
#include "weituo/common/ids.h"
#include "weituo/common/json.h"
#include "weituo/common/logging.h"
#include "weituo/common/trail_hash.h"

namespace weituo::agent {

namespace fs = std::filesystem;
namespace pbjson = google::protobuf::util;

namespace {

constexpr uintmax_t kMaxFileBytes = 1 << 20;

// A refusal for the log: its first line, escaped. A JSON parser's message
// goes on to quote the file around the error, which may name a debtor; the
// whole of it is in the .reason file beside the refused one.
std::string ReasonForLog(const std::string& reason) {
  return LogValue(std::string_view(reason).substr(0, reason.find('\n')));
}

}  // namespace

Spool::Spool(Agent& agent, std::string dir, bool incoming_events, int poll_ms)
    : agent_(agent), dir_(std::move(dir)), incoming_events_(incoming_events), poll_ms_(poll_ms) {}

Spool::~Spool() { Stop(); }

Status Spool::Install() {
  std::error_code ec;
  for (const char* sub : {"outgoing", "sent", "failed", "incoming"}) {
    fs::create_directories(fs::path(dir_) / sub, ec);
    if (ec) return Status::Internal("cannot make " + dir_ + "/" + sub + ": " + ec.message());
  }
  if (incoming_events_) agent_.OnEvent([this](Agent&, const weituo::v1::Event& e) { OnEvent(e); });
  // Submissions sent before a restart whose receipt may not have come.
  for (const auto& entry : fs::directory_iterator(fs::path(dir_) / "sent", ec)) {
    const std::string name = entry.path().filename().string();
    const std::string stem = entry.path().stem().string();
    size_t dot = stem.rfind('.');
    if (dot == std::string::npos || !IsUlid(stem.substr(dot + 1))) continue;
    unreceipted_[stem.substr(dot + 1)] = name;
  }
  return Status::Ok();
}

void Spool::Start() {
  thread_ = std::thread([this] {
    while (!stop_) {
      Scan();
      CheckReceipts();
      std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms_));
    }
  });
}

void Spool::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Spool::Scan() {
  std::map<std::string, std::pair<uintmax_t, int64_t>> now;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(dir_) / "outgoing", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || entry.path().extension() != ".json") continue;
    if (!entry.is_regular_file(ec)) continue;
    auto size = entry.file_size(ec);
    auto mtime = entry.last_write_time(ec).time_since_epoch().count();
    if (ec) continue;
    now[name] = {size, mtime};
  }
  for (const auto& [name, stamp] : now) {
    auto it = seen_.find(name);
    // Taken once it looks the same twice: a writer may still be at it.
    if (it != seen_.end() && it->second == stamp) Take(name, stamp.first);
  }
  seen_ = std::move(now);
}

void Spool::Take(const std::string& name, uintmax_t size) {
  const std::string path = dir_ + "/outgoing/" + name;
  if (size > kMaxFileBytes) {
    return Fail("outgoing", name,
                "the file is " + std::to_string(size) +
                    " bytes; a commission or update is at most " + std::to_string(kMaxFileBytes));
  }
  auto text = ReadWholeFile(path);
  if (!text.ok()) return;  // gone meanwhile
  const std::string stem = fs::path(name).stem().string();
  weituo::v1::Commission c;
  auto as_commission = pbjson::JsonStringToMessage(*text, &c);
  if (!as_commission.ok()) {
    // An answer to a commission this court received, or an action on one it sent.
    weituo::v1::Update u;
    if (pbjson::JsonStringToMessage(*text, &u).ok() && !u.commission_id().empty()) {
      const std::string request_id = "spool-" + Hex(Sha256Of(*text)).substr(0, 32);
      auto r = agent_.SendUpdate(u, request_id);
      if (!r.ok()) return Fail("outgoing", name, r.status().message());
      if (Status s = MoveFileDurably(path, dir_ + "/sent/" + stem + "." + *r + ".json"); !s.ok()) {
        spdlog::error("msg=\"spool cannot move the file\" error=\"{}\"", LogValue(s.ToString()));
        return;
      }
      agent_.Count("spool_sent");
      spdlog::info("msg=\"spool file sent as an update\" file=\"{}\" commission={} request={}",
                   LogValue(name), u.commission_id(), *r);
      return;
    }
    return Fail("outgoing", name,
                "neither a Commission nor an Update with commissionId: " +
                    std::string(as_commission.message()));
  }
  if (c.id().empty()) {
    // The id goes into the file before the commission is queued.
    c.set_id(NewUlid(NowMs()));
    if (Status s = WriteFileAtomically(path, ToJson(c, {.add_whitespace = true})); !s.ok()) {
      spdlog::error("msg=\"spool cannot write the id into the file\" file=\"{}\" error=\"{}\"",
                    LogValue(path), LogValue(s.ToString()));
      return;
    }
  }
  auto id = agent_.Submit(c);
  if (!id.ok()) return Fail("outgoing", name, id.status().message());
  const std::string sent = stem + "." + *id + ".json";
  if (Status s = MoveFileDurably(path, dir_ + "/sent/" + sent); !s.ok()) {
    spdlog::error("msg=\"spool cannot move the file\" error=\"{}\"", LogValue(s.ToString()));
    return;
  }
  unreceipted_[*id] = sent;
  agent_.Count("spool_sent");
  spdlog::info("msg=\"spool file submitted\" file=\"{}\" commission={}", LogValue(name), *id);
}

// A submission the broker refused after it left is moved from sent/ to
// failed/, with the broker's reason.
void Spool::CheckReceipts() {
  for (auto it = unreceipted_.begin(); it != unreceipted_.end();) {
    auto view = agent_.Show(it->first);
    if (!view.ok()) {
      it = unreceipted_.erase(it);
      continue;
    }
    const auto& record = view->record();
    if (record.has_error()) {
      Fail("sent", it->second,
           "refused by the broker: " + weituo::v1::ErrorCode_Name(record.error().code()) + ": " +
               record.error().message());
    }
    if (record.has_error() || record.receipted()) {
      it = unreceipted_.erase(it);
    } else {
      ++it;
    }
  }
}

void Spool::Fail(const std::string& from, const std::string& name, const std::string& reason) {
  std::string to = dir_ + "/failed/" + name;
  std::error_code ec;
  if (fs::exists(to, ec)) {
    to = dir_ + "/failed/" + fs::path(name).stem().string() + "." + std::to_string(NowMs()) +
         ".json";
  }
  if (Status s = WriteFileAtomically(to + ".reason", reason + "\n"); !s.ok()) {
    spdlog::error("msg=\"spool cannot write the reason\" error=\"{}\"", LogValue(s.ToString()));
    return;
  }
  if (Status s = MoveFileDurably(dir_ + "/" + from + "/" + name, to); !s.ok()) {
    spdlog::error("msg=\"spool cannot move the file\" error=\"{}\"", LogValue(s.ToString()));
    return;
  }
  agent_.Count("spool_failed");
  spdlog::warn("msg=\"spool file refused\" file=\"{}\" moved_to=\"{}\" reason=\"{}\"",
               LogValue(name), LogValue(to), ReasonForLog(reason));
}

// On the agent's I/O thread, once the event is recorded.
void Spool::OnEvent(const weituo::v1::Event& e) {
  if (e.origin_court() != agent_.court_id()) return;  // about a commission received: ours
  const std::string path = dir_ + "/incoming/" + e.commission_id() + "." + std::to_string(e.seq()) +
                           "." + weituo::v1::EventType_Name(e.type()) + ".json";
  if (Status s = WriteFileAtomically(path, ToJson(e) + "\n"); !s.ok()) {
    spdlog::error("msg=\"spool cannot write the event\" file={} error=\"{}\"", path, s.ToString());
    agent_.Count("spool_incoming_failed");
  }
}

}  // namespace weituo::agent
