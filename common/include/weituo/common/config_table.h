// A TOML document read with every value's type checked. Typed getters set a
// value only if it is what was asked for; the first one that is not is kept
// as "FILE: KEY: expected ..., got ...". The table remembers which keys its
// reader asked for, so that Finish() reports any other key as unknown: a
// misspelt key or table is refused, never a setting silently lost.
//
// Not thread-safe: one loader uses a ConfigTable, and the tables it hands
// out (which share the document and its first error), at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "weituo/common/status.h"

namespace weituo {

class ConfigTable {
 public:
  // Reads `path` with ReadSmallFile (a regular file of at most
  // kMaxConfigFileBytes; `what` names it, e.g. "court directory") and
  // parses it. INVALID_ARGUMENT "PATH:LINE: problem" for a syntax error.
  static StatusOr<ConfigTable> ReadFile(const std::string& path, const std::string& what);
  // `origin` names the text in every message (usually its file's path).
  static StatusOr<ConfigTable> Parse(const std::string& text, const std::string& origin);

  // What a value is, for keys that take more than one form.
  enum class Type { kAbsent, kString, kInteger, kFloat, kBoolean, kArray, kTable, kOther };
  Type TypeOf(std::string_view key) const;
  bool Has(std::string_view key) const { return TypeOf(key) != Type::kAbsent; }

  // Each getter counts `key` as known. If the key is absent it returns false
  // and leaves *out alone; if its value is of the wrong type or out of
  // range it records the error and returns false; else it sets *out.
  bool Bool(std::string_view key, bool* out);
  bool Int(std::string_view key, int64_t min, int64_t max, int64_t* out);
  template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool> &&
           !std::is_same_v<T, int64_t>) bool Int(std::string_view key, int64_t min, int64_t max,
                                                 T* out) {
    int64_t value = 0;
    if (!Int(key, min, max, &value)) return false;
    *out = static_cast<T>(value);
    return true;
  }
  // A float, or an integer.
  bool Number(std::string_view key, double min, double max, double* out);
  bool String(std::string_view key, std::string* out);
  bool StringArray(std::string_view key, std::vector<std::string>* out);
  // The table under `key`; nullopt if absent, or not a table (an error).
  // Asking twice for one table gives the same view of it.
  std::optional<ConfigTable> Table(std::string_view key);
  // The tables of an array of tables ([[key]]), each named "KEY #N" in
  // messages until SetLabel names it better; empty if absent, or not an
  // array of tables (an error).
  std::vector<ConfigTable> TableArray(std::string_view key);
  // Names this table in messages ("court \"kaihua\""), replacing "court #3".
  void SetLabel(std::string label);
  // This table's keys in file order, each counted as known: for tables
  // whose keys are names (the kinds of [handlers], the tables of deadlines).
  std::vector<std::string> Keys();
  // Counts `key` as known without reading it.
  void Known(std::string_view key);

  // Records a problem with a value its reader checked: "FILE: KEY: problem",
  // or only "FILE: problem" for an empty key. Only the first error is kept.
  void Fail(std::string_view key, const std::string& problem);
  // Records "FILE: KEY: expected <expected>, got <what the value is>".
  void Expect(std::string_view key, const std::string& expected);
  // "the string \"false\"", "the integer 18981", "an array", ...: what the
  // value of `key` is, for messages; "nothing" if absent.
  std::string Describe(std::string_view key) const;
  // `key` as messages name it: "handlers.ASSET_QUERY.timeout_ms".
  std::string Name(std::string_view key) const;
  // Where this table is, for messages: "FILE" or "FILE: court \"kaihua\"".
  std::string Where() const;
  const std::string& origin() const;

  // True while no error has been recorded.
  bool ok() const;
  // The first error recorded; else the first key of a table read through
  // this document that no one asked for: "FILE: unknown key 'KEY' (TABLE
  // takes a, b, c)". OK if neither.
  Status Finish() const;

 private:
  struct State;
  ConfigTable(std::shared_ptr<State> state, size_t view);
  std::shared_ptr<State> state_;
  size_t view_ = 0;  // index of this table's view in state_
};

// How messages and --help word numbers: whole ones without an exponent
// ("1000000"); a range "1 to 65536", or "at least 0" for a max of
// INT64_MAX; what an integer key expects, "an integer from 1 to 65536" or
// "an integer of at least 0".
std::string NumberText(double value);
std::string RangeText(int64_t min, int64_t max);
std::string RangeText(double min, double max);
std::string IntegerExpected(int64_t min, int64_t max);

}  // namespace weituo
