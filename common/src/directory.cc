#include "weituo/common/directory.h"

#include "toml_text.h"
#include "weituo/common/curve.h"

#include <toml++/toml.h>

#include <fstream>
#include <sstream>

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

}  // namespace

StatusOr<CourtDirectory> CourtDirectory::LoadFile(const std::string& path) {
  auto text = ReadTextFile(path, "court directory");
  if (!text.ok()) return text.status();
  return LoadString(*text, path);
}

StatusOr<CourtDirectory> CourtDirectory::LoadString(const std::string& text,
                                                    const std::string& origin) {
  auto parsed = ParseToml(text, origin);
  if (!parsed.ok()) return parsed.status();
  const toml::table& table = *parsed;
  CourtDirectory dir;
  auto read = [&](const char* array_name, bool supervisor) -> Status {
    const toml::array* list = table[array_name].as_array();
    if (!list) return Status::Ok();
    for (const toml::node& node : *list) {
      const toml::table* t = node.as_table();
      if (!t) return Status::InvalidArgument(origin + ": [[" + array_name + "]] is not a table");
      CourtEntry e;
      e.id = (*t)["id"].value_or(std::string());
      e.name = (*t)["name"].value_or(std::string());
      e.name_en = (*t)["name_en"].value_or(std::string());
      e.province = (*t)["province"].value_or(std::string());
      e.superior = (*t)["superior"].value_or(std::string());
      e.is_supervisor = supervisor;
      if (const toml::table* liaison = (*t)["liaison"].as_table()) {
        e.liaison_office = (*liaison)["office"].value_or(std::string());
        e.liaison_phone = (*liaison)["phone"].value_or(std::string());
        e.liaison_person = (*liaison)["person"].value_or(std::string());
      }
      if (const toml::array* codes = (*t)["region_codes"].as_array()) {
        for (const toml::node& c : *codes) {
          if (auto s = c.value<std::string>()) e.region_codes.push_back(*s);
        }
      }
      if (const toml::array* keys = (*t)["curve_keys"].as_array()) {
        for (const toml::node& k : *keys) {
          if (auto s = k.value<std::string>()) e.curve_keys.push_back(*s);
        }
      }
      WEITUO_RETURN_IF_ERROR(AddEntry(&dir.entries_, &dir.by_id_, &dir.by_region_, &dir.by_key_,
                                      std::move(e), origin));
    }
    return Status::Ok();
  };
  WEITUO_RETURN_IF_ERROR(read("court", false));
  WEITUO_RETURN_IF_ERROR(read("supervisor", true));
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
