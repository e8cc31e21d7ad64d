#include "weituo/common/directory.h"

#include <algorithm>

#include "weituo/common/config_table.h"
#include "weituo/common/curve.h"
#include "weituo/common/logging.h"
#include "weituo/common/wire.h"

namespace weituo {
namespace {

Status AddEntry(std::vector<CourtEntry>* entries, std::map<std::string, size_t>* by_id,
                std::map<std::string, size_t>* by_region, std::map<std::string, size_t>* by_key,
                CourtEntry entry, const std::string& origin) {
  if (entry.id.empty()) return Status::InvalidArgument(origin + ": a court has no id");
  if (by_id->count(entry.id)) {
    return Status::InvalidArgument(origin + ": court id '" + entry.id + "' appears twice");
  }
  size_t index = entries->size();
  for (const std::string& code : entry.region_codes) {
    auto [it, inserted] = by_region->emplace(code, index);
    if (!inserted && it->second == index) {
      // The entry is not in `entries` yet: index is one past the end.
      return Status::InvalidArgument(origin + ": court '" + entry.id + "' lists region code " +
                                     code + " twice");
    }
    if (!inserted) {
      return Status::InvalidArgument(origin + ": region code " + code + " is claimed by both '" +
                                     (*entries)[it->second].id + "' and '" + entry.id + "'");
    }
  }
  for (const std::string& key : entry.curve_keys) {
    if (!IsCurveKey(key)) {
      return Status::InvalidArgument(origin + ": court '" + entry.id + "' has curve key '" + key +
                                     "', which is not 40 characters of Z85");
    }
    auto [it, inserted] = by_key->emplace(key, index);
    if (!inserted && it->second == index) {
      return Status::InvalidArgument(origin + ": court '" + entry.id + "' lists curve key " + key +
                                     " twice");
    }
    if (!inserted) {
      return Status::InvalidArgument(origin + ": curve key " + key + " is listed for both '" +
                                     (*entries)[it->second].id + "' and '" + entry.id + "'");
    }
  }
  by_id->emplace(entry.id, index);
  entries->push_back(std::move(entry));
  return Status::Ok();
}

constexpr char kCourtIdRule[] = "a court id (1 to 64 characters of a-z, 0-9 and -)";

bool IsRegionCode(const std::string& code) {
  return code.size() == 6 &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// One [[court]] or [[supervisor]] table; problems are recorded in `t`.
CourtEntry ReadEntry(ConfigTable& t, bool supervisor) {
  CourtEntry e;
  e.is_supervisor = supervisor;
  t.Known("id");
  if (!t.Has("id")) {
    t.Fail("", "has no id (id = \"...\", " + std::string(kCourtIdRule) + ")");
  } else if (t.TypeOf("id") != ConfigTable::Type::kString || !t.String("id", &e.id) ||
             !IsValidCourtId(e.id)) {
    t.Expect("id", kCourtIdRule);
  } else {
    t.SetLabel(std::string(supervisor ? "supervisor" : "court") + " \"" + e.id + "\"");
  }
  t.String("name", &e.name);
  t.String("name_en", &e.name_en);
  t.String("province", &e.province);
  // A supervisor serves no region and answers to no one in the directory.
  if (!supervisor) {
    if (t.String("superior", &e.superior) && !IsValidCourtId(e.superior)) {
      t.Expect("superior", "the id of a [[supervisor]] in this directory");
    }
    t.StringArray("region_codes", &e.region_codes);
    for (const std::string& code : e.region_codes) {
      if (!IsRegionCode(code)) {
        t.Fail("region_codes",
               "expected region codes of six digits (GB/T 2260), got \"" + LogValue(code) + "\"");
        break;
      }
    }
  }
  t.StringArray("curve_keys", &e.curve_keys);
  for (const std::string& key : e.curve_keys) {
    if (!IsCurveKey(key)) {
      t.Fail("curve_keys", "'" + LogValue(key) + "' is not 40 characters of Z85");
      break;
    }
  }
  if (auto liaison = t.Table("liaison")) {
    liaison->String("office", &e.liaison_office);
    liaison->String("phone", &e.liaison_phone);
    liaison->String("person", &e.liaison_person);
  }
  return e;
}

}  // namespace

StatusOr<CourtDirectory> CourtDirectory::LoadFile(const std::string& path) {
  auto table = ConfigTable::ReadFile(path, "court directory");
  if (!table.ok()) return Status::InvalidArgument(table.status().message());
  return Load(*table);
}

StatusOr<CourtDirectory> CourtDirectory::LoadString(const std::string& text,
                                                    const std::string& origin) {
  WEITUO_ASSIGN_OR_RETURN(auto table, ConfigTable::Parse(text, origin));
  return Load(table);
}

StatusOr<CourtDirectory> CourtDirectory::Load(ConfigTable& table) {
  const std::string& origin = table.origin();
  CourtDirectory dir;
  std::vector<ConfigTable> tables;
  for (bool supervisor : {false, true}) {
    for (ConfigTable& t : table.TableArray(supervisor ? "supervisor" : "court")) {
      CourtEntry e = ReadEntry(t, supervisor);
      if (!t.ok()) return t.Finish();
      WEITUO_RETURN_IF_ERROR(AddEntry(&dir.entries_, &dir.by_id_, &dir.by_region_, &dir.by_key_,
                                      std::move(e), origin));
      tables.push_back(std::move(t));
    }
  }
  WEITUO_RETURN_IF_ERROR(table.Finish());
  // Escalations go to a court's superior: it must be a supervisor listed here.
  for (size_t i = 0; i < dir.entries_.size(); ++i) {
    const CourtEntry& e = dir.entries_[i];
    if (e.superior.empty()) continue;
    const CourtEntry* superior = dir.Find(e.superior);
    if (!superior || !superior->is_supervisor) {
      tables[i].Fail("superior", "'" + e.superior + "' is not a [[supervisor]] in this directory" +
                                     (superior ? " (it is a [[court]])" : ""));
      return tables[i].Finish();
    }
  }
  bool has_court = false;
  for (const CourtEntry& e : dir.entries_) has_court = has_court || !e.is_supervisor;
  if (!has_court) return Status::InvalidArgument(origin + ": no [[court]] entries");
  return dir;
}

const CourtEntry* CourtDirectory::Find(const std::string& court_id) const {
  auto it = by_id_.find(court_id);
  return it == by_id_.end() ? nullptr : &entries_[it->second];
}

const CourtEntry* CourtDirectory::FindByKey(const std::string& public_key) const {
  auto it = by_key_.find(public_key);
  return it == by_key_.end() ? nullptr : &entries_[it->second];
}

const CourtEntry* CourtDirectory::FindByRegion(const std::string& region_code) const {
  auto it = by_region_.find(region_code);
  return it == by_region_.end() ? nullptr : &entries_[it->second];
}

}  // namespace weituo
