#include "weituo/common/config_table.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "weituo/common/logging.h"
#include "weituo/common/small_file.h"

namespace weituo {

struct ConfigTable::State {
  struct View {
    const toml::table* table;
    std::string label;               // "" for the document, "court #3", "court \"kaihua\""
    std::string prefix;              // "handlers.ASSET_QUERY." before this table's keys
    std::vector<std::string> asked;  // keys counted as known, in the order asked
  };
  toml::table root;
  std::string origin;
  std::optional<Status> error;  // the first one
  std::vector<View> views;      // never shrinks: ConfigTables hold indexes
};

namespace {

// Parses `text`; INVALID_ARGUMENT "<origin>:<line>: <problem>" if it is not TOML.
StatusOr<toml::table> ParseToml(const std::string& text, const std::string& origin) {
  try {
    return toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ": " << e.description();
    return Status::InvalidArgument(msg.str());
  }
}

std::string Quoted(std::string_view text) { return "\"" + LogValue(text) + "\""; }

std::string DescribeNode(const toml::node* node) {
  if (!node) return "nothing";
  switch (node->type()) {
    case toml::node_type::string:
      return "the string " + Quoted(node->as_string()->get());
    case toml::node_type::integer:
      return "the integer " + std::to_string(node->as_integer()->get());
    case toml::node_type::floating_point:
      return "the number " + NumberText(node->as_floating_point()->get());
    case toml::node_type::boolean:
      return node->as_boolean()->get() ? "the boolean true" : "the boolean false";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

// The keys of `table` in the order the file has them (toml++ keeps a map).
std::vector<std::string> KeysInFileOrder(const toml::table& table) {
  std::vector<std::pair<std::pair<uint32_t, uint32_t>, std::string>> keys;
  for (const auto& [key, value] : table) {
    const auto& at = key.source().begin;
    keys.push_back({{at.line, at.column}, std::string(key.str())});
  }
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> out;
  for (auto& [at, key] : keys) out.push_back(std::move(key));
  return out;
}

}  // namespace

std::string NumberText(double value) {
  // Whole numbers as integers: "1000000", not "1e+06".
  if (value == static_cast<double>(static_cast<int64_t>(value)) && std::abs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  std::ostringstream text;
  text << value;
  return text.str();
}

std::string RangeText(int64_t min, int64_t max) {
  if (max == std::numeric_limits<int64_t>::max()) return "at least " + std::to_string(min);
  return std::to_string(min) + " to " + std::to_string(max);
}

std::string RangeText(double min, double max) { return NumberText(min) + " to " + NumberText(max); }

std::string IntegerExpected(int64_t min, int64_t max) {
  const bool open = max == std::numeric_limits<int64_t>::max();
  return (open ? "an integer of " : "an integer from ") + RangeText(min, max);
}

ConfigTable::ConfigTable(std::shared_ptr<State> state, size_t view)
    : state_(std::move(state)), view_(view) {}

StatusOr<ConfigTable> ConfigTable::ReadFile(const std::string& path, const std::string& what) {
  WEITUO_ASSIGN_OR_RETURN(auto file, ReadSmallFile(path, what, kMaxConfigFileBytes));
  return Parse(file.text, path);
}

StatusOr<ConfigTable> ConfigTable::Parse(const std::string& text, const std::string& origin) {
  auto state = std::make_shared<State>();
  WEITUO_ASSIGN_OR_RETURN(state->root, ParseToml(text, origin));
  state->origin = origin;
  state->views.push_back(State::View{&state->root, "", "", {}});
  return ConfigTable(std::move(state), 0);
}

ConfigTable::Type ConfigTable::TypeOf(std::string_view key) const {
  const toml::node* node = state_->views[view_].table->get(key);
  if (!node) return Type::kAbsent;
  switch (node->type()) {
    case toml::node_type::string:
      return Type::kString;
    case toml::node_type::integer:
      return Type::kInteger;
    case toml::node_type::floating_point:
      return Type::kFloat;
    case toml::node_type::boolean:
      return Type::kBoolean;
    case toml::node_type::array:
      return Type::kArray;
    case toml::node_type::table:
      return Type::kTable;
    default:
      return Type::kOther;
  }
}

void ConfigTable::Known(std::string_view key) {
  auto& asked = state_->views[view_].asked;
  if (std::find(asked.begin(), asked.end(), key) == asked.end()) asked.emplace_back(key);
}

bool ConfigTable::Bool(std::string_view key, bool* out) {
  Known(key);
  const toml::node* node = state_->views[view_].table->get(key);
  if (!node) return false;
  if (!node->is_boolean()) {
    Expect(key, "a boolean (true or false)");
    return false;
  }
  *out = node->as_boolean()->get();
  return true;
}

bool ConfigTable::Int(std::string_view key, int64_t min, int64_t max, int64_t* out) {
  Known(key);
  const toml::node* node = state_->views[view_].table->get(key);
  if (!node) return false;
  if (!node->is_integer() || node->as_integer()->get() < min || node->as_integer()->get() > max) {
    Expect(key, IntegerExpected(min, max));
    return false;
  }
  *out = node->as_integer()->get();
  return true;
}

bool ConfigTable::Number(std::string_view key, double min, double max, double* out) {
  Known(key);
  const toml::node* node = state_->views[view_].table->get(key);
  if (!node) return false;
  std::optional<double> value;
  if (node->is_integer()) value = static_cast<double>(node->as_integer()->get());
  if (node->is_floating_point()) value = node->as_floating_point()->get();
  // NaN fails both comparisons, so it is refused with the rest.
  if (!value || !(*value >= min && *value <= max)) {
    Expect(key, "a number from " + RangeText(min, max));
    return false;
  }
  *out = *value;
  return true;
}

bool ConfigTable::String(std::string_view key, std::string* out) {
  Known(key);
  const toml::node* node = state_->views[view_].table->get(key);
  if (!node) return false;
  if (!node->is_string()) {
    Expect(key, "a string");
    return false;
  }
  *out = node->as_string()->get();
  return true;
}

bool ConfigTable::StringArray(std::string_view key, std::vector<std::string>* out) {
  Known(key);
  const toml::node* node = state_->views[view_].table->get(key);
  if (!node) return false;
  const toml::array* array = node->as_array();
  if (!array) {
    Expect(key, "an array of strings");
    return false;
  }
  std::vector<std::string> values;
  for (const toml::node& item : *array) {
    if (!item.is_string()) {
      Fail(key, "expected an array of strings, got an array holding " + DescribeNode(&item));
      return false;
    }
    values.push_back(item.as_string()->get());
  }
  *out = std::move(values);
  return true;
}

std::optional<ConfigTable> ConfigTable::Table(std::string_view key) {
  Known(key);
  const toml::node* node = state_->views[view_].table->get(key);
  if (!node) return std::nullopt;
  const toml::table* table = node->as_table();
  if (!table) {
    Expect(key, "a table");
    return std::nullopt;
  }
  for (size_t i = 0; i < state_->views.size(); ++i) {
    if (state_->views[i].table == table) return ConfigTable(state_, i);
  }
  const State::View& here = state_->views[view_];
  state_->views.push_back(State::View{table, here.label, Name(key) + ".", {}});
  return ConfigTable(state_, state_->views.size() - 1);
}

std::vector<ConfigTable> ConfigTable::TableArray(std::string_view key) {
  Known(key);
  const toml::node* node = state_->views[view_].table->get(key);
  if (!node) return {};
  const toml::array* array = node->as_array();
  const std::string expected = "an array of tables ([[" + Name(key) + "]])";
  if (!array || !array->is_array_of_tables()) {
    if (array && !array->empty()) {
      Fail(key, "expected " + expected + ", got an array holding " + DescribeNode(array->get(0)));
    } else {
      Expect(key, expected);
    }
    return {};
  }
  std::vector<ConfigTable> out;
  for (size_t i = 0; i < array->size(); ++i) {
    const std::string label = Name(key) + " #" + std::to_string(i + 1);
    state_->views.push_back(State::View{array->get(i)->as_table(), label, "", {}});
    out.push_back(ConfigTable(state_, state_->views.size() - 1));
  }
  return out;
}

void ConfigTable::SetLabel(std::string label) { state_->views[view_].label = std::move(label); }

std::vector<std::string> ConfigTable::Keys() {
  std::vector<std::string> keys = KeysInFileOrder(*state_->views[view_].table);
  for (const std::string& key : keys) Known(key);
  return keys;
}

void ConfigTable::Fail(std::string_view key, const std::string& problem) {
  if (state_->error) return;
  state_->error =
      Status::InvalidArgument(Where() + ": " + (key.empty() ? "" : Name(key) + ": ") + problem);
}

void ConfigTable::Expect(std::string_view key, const std::string& expected) {
  Fail(key, "expected " + expected + ", got " + Describe(key));
}

std::string ConfigTable::Describe(std::string_view key) const {
  return DescribeNode(state_->views[view_].table->get(key));
}

std::string ConfigTable::Name(std::string_view key) const {
  return state_->views[view_].prefix + std::string(key);
}

std::string ConfigTable::Where() const {
  const std::string& label = state_->views[view_].label;
  return label.empty() ? state_->origin : state_->origin + ": " + label;
}

const std::string& ConfigTable::origin() const { return state_->origin; }

bool ConfigTable::ok() const { return !state_->error; }

Status ConfigTable::Finish() const {
  if (state_->error) return *state_->error;
  for (size_t i = 0; i < state_->views.size(); ++i) {
    const State::View& view = state_->views[i];
    for (const std::string& key : KeysInFileOrder(*view.table)) {
      if (std::find(view.asked.begin(), view.asked.end(), key) != view.asked.end()) continue;
      std::string known;
      for (const std::string& k : view.asked) known += (known.empty() ? "" : ", ") + k;
      std::string table =
          view.prefix.empty() ? view.label : view.prefix.substr(0, view.prefix.size() - 1);
      std::string hint = known.empty()   ? "no keys are known here"
                         : table.empty() ? "known keys: " + known
                                         : table + " takes " + known;
      return Status::InvalidArgument(ConfigTable(state_, i).Where() + ": unknown key '" +
                                     view.prefix + key + "' (" + hint + ")");
    }
  }
  return Status::Ok();
}

}  // namespace weituo
