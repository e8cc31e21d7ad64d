// Writing messages as JSON in protobuf's JSON mapping: the one way the
// broker, the agent and their tools print a message (json_lines.h reads
// them back). Field names in lowerCamelCase, enums by name, 64-bit integers
// as strings, as the mapping has them.
#pragma once

#include <string>
#include <string_view>

namespace google::protobuf {
class Message;
}

namespace weituo {

// How a message is printed; the names are those of protobuf's
// JsonPrintOptions, whose other options keep their defaults.
struct JsonStyle {
  // Indented over several lines; otherwise one line with no spaces.
  bool add_whitespace = false;
  // Fields at their default value (0, "", false, empty lists) printed too;
  // otherwise left out.
  bool always_print_primitive_fields = false;
};

// The message as JSON. The mapping fails only for an Any of an unknown type
// or a Timestamp or Duration out of range, which weituo's schema does not
// hold; for such a message, what the mapping wrote before it failed.
std::string ToJson(const google::protobuf::Message& message, JsonStyle style = {});

// `text` as a JSON string, quotes included: say "hi" -> "say \"hi\"".
std::string JsonQuoted(std::string_view text);

}  // namespace weituo
