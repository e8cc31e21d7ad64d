#include "weituo/common/settings.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "weituo/common/logging.h"

namespace weituo {
namespace {

std::string Quoted(const std::string& text) { return "\"" + LogValue(text) + "\""; }

std::string OneOf(const std::vector<std::string>& choices) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  }
  return out;
}

}  // namespace

std::string ExpectHostPort(const std::string& value) {
  const std::string expected =
      "an address HOST:PORT with an IP address, e.g. 127.0.0.1:8080 or [::1]:8080";
  size_t colon = value.rfind(':');
  if (colon == std::string::npos) return expected;
  std::string host = value.substr(0, colon), port = value.substr(colon + 1);
  // IPv6 with brackets or without ("::1:8080": the port is after the last colon).
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned char address[sizeof(in6_addr)];
  bool ip = ::inet_pton(AF_INET, host.c_str(), address) == 1 ||
            ::inet_pton(AF_INET6, host.c_str(), address) == 1;
  int number = -1;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
  bool port_ok = !port.empty() && error == std::errc() && end == port.data() + port.size() &&
                 number >= 0 && number <= 65535;
  return ip && port_ok ? "" : expected;
}

std::string ExpectZmqEndpoint(const std::string& value) {
  const std::string expected = "a ZeroMQ endpoint tcp://HOST:PORT or ipc://PATH";
  if (value.rfind("ipc://", 0) == 0) return value.size() > 6 ? "" : expected;
  if (value.rfind("tcp://", 0) != 0) return expected;
  size_t colon = value.rfind(':');
  if (colon <= 6) return expected;
  std::string port = value.substr(colon + 1);
  if (port == "*") return "";
  int number = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
  bool ok = !port.empty() && error == std::errc() && end == port.data() + port.size() &&
            number >= 1 && number <= 65535;
  return ok ? "" : expected;
}

std::string ExpectZmqConnectEndpoint(const std::string& value) {
  if (value.rfind("tcp://", 0) == 0 && value.ends_with(":*")) {
    return "a ZeroMQ endpoint tcp://HOST:PORT or ipc://PATH";
  }
  return ExpectZmqEndpoint(value);
}

std::vector<std::string> LogLevels() {
  return {"trace", "debug", "info", "warn", "error", "critical", "off"};
}

SettingList::Setting& SettingList::Add(std::string key, std::string type, std::string range,
                                       std::string default_text, std::string help) {
  Setting& s = settings_.emplace_back();
  s.key = std::move(key);
  s.type = std::move(type);
  s.range = std::move(range);
  s.default_text = std::move(default_text);
  s.help = std::move(help);
  s.empty_ = [] { return false; };
  return s;
}

SettingList::Setting& SettingList::Bool(std::string key, bool* field, std::string help) {
  Setting& s = Add(std::move(key), "boolean", "", *field ? "true" : "false", std::move(help));
  s.read_ = [field](ConfigTable& t, const std::string& k) { t.Bool(k, field); };
  s.parse_ = [field](const std::string& text) -> std::string {
    if (text != "true" && text != "false") return "a boolean (true or false)";
    *field = text == "true";
    return "";
  };
  return s;
}

SettingList::Setting& SettingList::AddInt(std::string key, int64_t current, int64_t min,
                                          int64_t max, std::string help,
                                          std::function<void(int64_t)> set) {
  Setting& s =
      Add(std::move(key), "integer", RangeText(min, max), std::to_string(current), std::move(help));
  s.read_ = [min, max, set](ConfigTable& t, const std::string& k) {
    int64_t value = 0;
    if (t.Int(k, min, max, &value)) set(value);
  };
  s.parse_ = [min, max, set](const std::string& text) -> std::string {
    int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < min || value > max) {
      return IntegerExpected(min, max);
    }
    set(value);
    return "";
  };
  return s;
}

SettingList::Setting& SettingList::Number(std::string key, double* field, double min, double max,
                                          std::string help) {
  const std::string range = RangeText(min, max);
  Setting& s = Add(std::move(key), "number", range, NumberText(*field), std::move(help));
  s.read_ = [field, min, max](ConfigTable& t, const std::string& k) {
    t.Number(k, min, max, field);
  };
  s.parse_ = [field, min, max, range](const std::string& text) -> std::string {
    char* end = nullptr;
    double value = text.empty() ? NAN : std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(value >= min && value <= max)) {
      return "a number from " + range;
    }
    *field = value;
    return "";
  };
  return s;
}

SettingList::Setting& SettingList::String(std::string key, std::string* field, std::string help,
                                          std::string range, StringCheck check) {
  Setting& s = Add(std::move(key), "string", std::move(range), field->empty() ? "" : Quoted(*field),
                   std::move(help));
  s.read_ = [field, check](ConfigTable& t, const std::string& k) {
    std::string value;
    if (!t.String(k, &value)) return;
    if (check) {
      if (std::string expected = check(value); !expected.empty()) {
        t.Expect(k, expected);
        return;
      }
    }
    *field = std::move(value);
  };
  s.parse_ = [field, check](const std::string& text) -> std::string {
    if (check) {
      if (std::string expected = check(text); !expected.empty()) return expected;
    }
    *field = text;
    return "";
  };
  s.empty_ = [field] { return field->empty(); };
  return s;
}

SettingList::Setting& SettingList::Choice(std::string key, std::string* field,
                                          std::vector<std::string> choices, std::string help) {
  const std::string range = OneOf(choices);
  return String(std::move(key), field, std::move(help), range,
                [choices = std::move(choices), range](const std::string& value) -> std::string {
                  for (const std::string& c : choices) {
                    if (value == c) return "";
                  }
                  return "one of " + range;
                });
}

SettingList::Setting& SettingList::StringArray(std::string key, std::vector<std::string>* field,
                                               std::string help) {
  Setting& s = Add(std::move(key), "array of strings", "", "", std::move(help));
  s.read_ = [field](ConfigTable& t, const std::string& k) { t.StringArray(k, field); };
  s.parse_ = [](const std::string&) -> std::string { return "an array (only in the file)"; };
  s.empty_ = [field] { return field->empty(); };
  return s;
}

SettingList::Setting& SettingList::StringOrArray(std::string key, std::vector<std::string>* field,
                                                 std::string help, std::string range,
                                                 StringCheck check) {
  Setting& s =
      Add(std::move(key), "string or array of strings", std::move(range), "", std::move(help));
  s.read_ = [field, check](ConfigTable& t, const std::string& k) {
    std::vector<std::string> values;
    const ConfigTable::Type type = t.TypeOf(k);
    if (type == ConfigTable::Type::kAbsent) return;
    if (type == ConfigTable::Type::kString) {
      std::string value;
      if (!t.String(k, &value)) return;
      if (check) {
        if (std::string expected = check(value); !expected.empty()) {
          t.Expect(k, expected);
          return;
        }
      }
      *field = {std::move(value)};
      return;
    }
    if (type != ConfigTable::Type::kArray) {
      t.Known(k);
      t.Expect(k, "a string or an array of strings");
      return;
    }
    if (!t.StringArray(k, &values)) return;
    if (values.empty()) {
      t.Fail(k, "expected a string or an array of at least one string, got an empty array");
      return;
    }
    for (size_t i = 0; i < values.size(); ++i) {
      const std::string element = "element " + std::to_string(i + 1) + " ";
      if (check) {
        if (std::string expected = check(values[i]); !expected.empty()) {
          t.Fail(k, element + "expected " + expected + ", got " + Quoted(values[i]));
          return;
        }
      }
      for (size_t j = 0; j < i; ++j) {
        if (values[j] == values[i]) {
          t.Fail(k, element + Quoted(values[i]) + " is given twice");
          return;
        }
      }
    }
    *field = std::move(values);
  };
  s.parse_ = [field, check](const std::string& text) -> std::string {
    if (check) {
      if (std::string expected = check(text); !expected.empty()) return expected;
    }
    *field = {text};
    return "";
  };
  s.empty_ = [field] { return field->empty(); };
  return s;
}

void SettingList::Read(ConfigTable& table) const {
  for (const Setting& s : settings_) {
    // "api.listen": the key listen of the table api.
    ConfigTable* at = &table;
    std::optional<ConfigTable> sub;
    std::string key = s.key;
    for (size_t dot; (dot = key.find('.')) != std::string::npos; key = key.substr(dot + 1)) {
      sub = at->Table(key.substr(0, dot));
      if (!sub) break;
      at = &*sub;
    }
    if (key.find('.') == std::string::npos) s.read_(*at, key);  // else its table is absent
  }
}

Status SettingList::SetFromText(const Setting& setting, const std::string& text,
                                const std::string& flag) const {
  std::string expected = setting.parse_(text);
  if (expected.empty()) return Status::Ok();
  return Status::InvalidArgument(flag + ": expected " + expected + ", got " + Quoted(text));
}

const SettingList::Setting* SettingList::FirstMissing() const {
  for (const Setting& s : settings_) {
    if (s.required && s.empty_()) return &s;
  }
  return nullptr;
}

std::string SettingList::Describe(const std::string& prefix) const {
  std::ostringstream out;
  for (const Setting& s : settings_) {
    std::string line = "  " + prefix + s.key;
    line.resize(std::max<size_t>(line.size() + 2, 34), ' ');
    line += s.type;
    if (!s.range.empty()) line += " (" + s.range + ")";
    if (s.required) {
      line += ", required";
    } else if (!s.default_text.empty()) {
      line += ", default " + s.default_text;
    }
    out << line << "\n      " << s.help << "\n";
  }
  return out.str();
}

}  // namespace weituo
