#include "weituo/agent/spool.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "files.h"
#include "weituo/common/clock.h"
#include "weituo/common/ids.h"

namespace weituo::agent {

namespace fs = std::filesystem;
namespace pbjson = google::protobuf::util;

Spool::Spool(Agent& agent, std::string dir, int poll_ms)
    : agent_(agent), dir_(std::move(dir)), poll_ms_(poll_ms) {}

Spool::~Spool() { Stop(); }

Status Spool::Start() {
  std::error_code ec;
  for (const char* sub : {"outgoing", "sent", "failed", "incoming"}) {
    fs::create_directories(fs::path(dir_) / sub, ec);
    if (ec) return Status::Internal("cannot make " + dir_ + "/" + sub + ": " + ec.message());
  }
  thread_ = std::thread([this] {
    while (!stop_) {
      Scan();
      std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms_));
    }
  });
  return Status::Ok();
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
    if (it != seen_.end() && it->second == stamp) Take(name);
  }
  seen_ = std::move(now);
}

void Spool::Take(const std::string& name) {
  const std::string path = dir_ + "/outgoing/" + name;
  auto text = ReadWholeFile(path);
  if (!text.ok()) return;  // gone meanwhile
  weituo::v1::Commission c;
  auto parsed = pbjson::JsonStringToMessage(*text, &c);
  if (!parsed.ok()) return Fail(name, "not a Commission: " + std::string(parsed.message()));
  if (c.id().empty()) {
    // The id goes into the file before the commission is queued.
    c.set_id(NewUlid(NowMs()));
    pbjson::JsonPrintOptions options;
    options.add_whitespace = true;
    options.preserve_proto_field_names = false;
    std::string json;
    (void)pbjson::MessageToJsonString(c, &json, options);
    if (Status s = WriteFileAtomically(path, json); !s.ok()) {
      spdlog::error("msg=\"spool cannot write the id into the file\" file={} error=\"{}\"", path,
                    s.ToString());
      return;
    }
  }
  auto id = agent_.Submit(c);
  if (!id.ok()) return Fail(name, id.status().message());
  const std::string stem = fs::path(name).stem().string();
  std::string to = dir_ + "/sent/" + stem + "." + *id + ".json";
  if (Status s = MoveFileDurably(path, to); !s.ok()) {
    spdlog::error("msg=\"spool cannot move the file\" error=\"{}\"", s.ToString());
    return;
  }
  agent_.Count("spool_sent");
  spdlog::info("msg=\"spool file submitted\" file={} commission={}", name, *id);
}

void Spool::Fail(const std::string& name, const std::string& reason) {
  std::string to = dir_ + "/failed/" + name;
  std::error_code ec;
  if (fs::exists(to, ec)) {
    to = dir_ + "/failed/" + fs::path(name).stem().string() + "." + std::to_string(NowMs()) +
         ".json";
  }
  if (Status s = WriteFileAtomically(to + ".reason", reason + "\n"); !s.ok()) {
    spdlog::error("msg=\"spool cannot write the reason\" error=\"{}\"", s.ToString());
    return;
  }
  if (Status s = MoveFileDurably(dir_ + "/outgoing/" + name, to); !s.ok()) {
    spdlog::error("msg=\"spool cannot move the file\" error=\"{}\"", s.ToString());
    return;
  }
  agent_.Count("spool_failed");
  spdlog::warn("msg=\"spool file refused\" file={} moved_to={} reason=\"{}\"", name, to, reason);
}

}  // namespace weituo::agent
