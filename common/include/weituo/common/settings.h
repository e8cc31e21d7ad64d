// A program's settings as one list: each setting has its key, type, range,
// default and a line of help, and is bound to the field it sets. The one
// list reads a config file (through ConfigTable), takes the text of a
// command-line flag, checks every value against its range whatever its
// source, and describes itself for --help, so the keys, the flags, the
// checks and the help cannot drift apart.
//
// Not thread-safe: filled and used at start-up, on one thread. The bound
// fields must outlive the list.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "weituo/common/config_table.h"
#include "weituo/common/status.h"

namespace weituo {

class SettingList {
 public:
  struct Setting {
    std::string key;           // the TOML key; dotted for a table's key ("api.listen")
    std::string type;          // "boolean", "integer", "number", "string", "array of strings"
    std::string range;         // "1 to 65536", "off or auto"; empty: any value of the type
    std::string default_text;  // the value before any source set it, as TOML writes it
    std::string help;
    bool required = false;   // a string that must be given and not empty
    bool is_switch = false;  // as a flag, --key alone means true

   private:
    friend class SettingList;
    std::function<void(ConfigTable&, const std::string& key)> read_;
    // Sets the field from a flag's text; empty on success, else what was expected.
    std::function<std::string(const std::string& text)> parse_;
    std::function<bool()> empty_;
  };

  // A check of a string value: empty if fine, else what was expected
  // ("an ipc:// path"), which the error message then names.
  using StringCheck = std::function<std::string(const std::string& value)>;

  // Each adds a setting bound to *field, whose value now is its default.
  Setting& Bool(std::string key, bool* field, std::string help);
  template <typename T>
  requires(std::is_integral_v<T> &&
           !std::is_same_v<T, bool>) Setting& Int(std::string key, T* field, int64_t min,
                                                  int64_t max, std::string help) {
    return AddInt(std::move(key), static_cast<int64_t>(*field), min, max, std::move(help),
                  [field](int64_t v) { *field = static_cast<T>(v); });
  }
  Setting& Number(std::string key, double* field, double min, double max, std::string help);
  // `range` says in words what `check` accepts (empty: any string).
  Setting& String(std::string key, std::string* field, std::string help, std::string range = "",
                  StringCheck check = nullptr);
  Setting& Choice(std::string key, std::string* field, std::vector<std::string> choices,
                  std::string help);
  Setting& StringArray(std::string key, std::vector<std::string>* field, std::string help);
  // A string, or an array of at least one string (a list such as a broker
  // group's members), each element passing `check` and none given twice;
  // `range` says in words what `check` accepts. A flag's text is one string.
  Setting& StringOrArray(std::string key, std::vector<std::string>* field, std::string help,
                         std::string range = "", StringCheck check = nullptr);

  // Reads every setting whose key `table` has into its field; a value of
  // the wrong type or out of range is recorded in `table` (its Finish()
  // reports it, or an unknown key).
  void Read(ConfigTable& table) const;
  // Sets `setting` from a flag's text ("true"/"false", a decimal integer, a
  // number, or the string itself). INVALID_ARGUMENT "FLAG: expected ...,
  // got \"TEXT\"".
  Status SetFromText(const Setting& setting, const std::string& text,
                     const std::string& flag) const;
  // The first required setting that is still empty; nullptr if none.
  const Setting* FirstMissing() const;
  const std::deque<Setting>& settings() const { return settings_; }

  // One entry per setting for --help: key (after `prefix`), type, range,
  // default, and its help on the next line.
  std::string Describe(const std::string& prefix = "") const;

 private:
  Setting& AddInt(std::string key, int64_t current, int64_t min, int64_t max, std::string help,
                  std::function<void(int64_t)> set);
  Setting& Add(std::string key, std::string type, std::string range, std::string default_text,
               std::string help);
  std::deque<Setting> settings_;  // a deque: Setting& stays valid as settings are added
};

// The log levels InitLogging takes, for a Choice setting.
std::vector<std::string> LogLevels();

// StringChecks shared by the programs' settings: empty if `value` is fine,
// else what was expected.
// An address to listen on: HOST:PORT with an IP address (127.0.0.1:8080,
// [::1]:8080); port 0 picks one.
std::string ExpectHostPort(const std::string& value);
// A ZeroMQ endpoint: tcp://HOST:PORT (port * picks one when binding) or
// ipc://PATH.
std::string ExpectZmqEndpoint(const std::string& value);
// An endpoint to connect to: as ExpectZmqEndpoint, but a tcp:// port must
// be a number (not *).
std::string ExpectZmqConnectEndpoint(const std::string& value);

}  // namespace weituo
