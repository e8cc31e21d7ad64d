// The court directory: which courts exist, the region codes each serves,
// their supervising courts and the CURVE public keys that speak for them. Loaded once from TOML
// (deploy/zone/courts.toml); immutable after loading, so safe to share between threads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "weituo/common/status.h"

namespace weituo {

class ConfigTable;

struct CourtEntry {
  std::string id;
  std::string name;
  std::string name_en;
  std::string province;
  std::vector<std::string> region_codes;
  std::string superior;
  bool is_supervisor = false;
  // Z85 public keys valid for this court. Two during a key rotation's
  // overlap; a key taken out of the list is revoked.
  std::vector<std::string> curve_keys;
  // The court's liaison contact (联络人) from `liaison = { office, phone,
  // person }`; told to its supervisor when it has been offline too long.
  std::string liaison_office;
  std::string liaison_phone;
  std::string liaison_person;
};

class CourtDirectory {
 public:
  // Parses the [[court]] and [[supervisor]] tables, checked whole.
  // INVALID_ARGUMENT "FILE: court \"ID\": KEY: expected ..., got ..." (or
  // "FILE: court #N: ..." before the id is known) for the first problem: a
  // path that is not a regular file of at most 1 MiB or not TOML, a table or
  // key other than those below, a value of the wrong type, an id that is not
  // a court id (IsValidCourtId) or that repeats, a region code that is not
  // six digits or that two courts claim, a curve key that is not 40
  // characters of Z85 or is listed twice, a superior that is not a
  // [[supervisor]] here, or no [[court]] at all.
  //   [[court]]      id, name, name_en, province, region_codes, superior,
  //                  curve_keys, liaison = { office, phone, person }
  //   [[supervisor]] id, name, name_en, province, curve_keys, liaison
  static StatusOr<CourtDirectory> LoadFile(const std::string& path);
  static StatusOr<CourtDirectory> LoadString(const std::string& toml, const std::string& origin);

  // nullptr if unknown.
  const CourtEntry* Find(const std::string& court_id) const;
  // The court serving `region_code`, nullptr if none.
  const CourtEntry* FindByRegion(const std::string& region_code) const;
  // The court a CURVE public key (Z85) speaks for, nullptr if none.
  const CourtEntry* FindByKey(const std::string& public_key) const;
  // Courts in file order, supervisors last.
  const std::vector<CourtEntry>& entries() const { return entries_; }

 private:
  static StatusOr<CourtDirectory> Load(ConfigTable& table);

  std::vector<CourtEntry> entries_;
  std::map<std::string, size_t> by_id_;
  std::map<std::string, size_t> by_region_;
  std::map<std::string, size_t> by_key_;
};

}  // namespace weituo
