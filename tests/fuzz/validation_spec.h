// The validation rules of docs/protocol.md section 13, written from the
// spec alone, as the fuzz targets' oracle: which rule a commission or an
// update breaks first, or none. It reads fields by the names the spec
// gives them, through reflection, and keeps the spec's limits as the spec
// states them, so it shares no code with common/src/validation.cc and a
// slip there (or a limit changed there alone) shows as a disagreement.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "invariants.h"
#include "weituo/v1/commission.pb.h"

namespace weituo::fuzz::spec {

// Section 13's limits.
inline constexpr size_t kTextBytes = 4096;
inline constexpr size_t kListItems = 64;
inline constexpr size_t kEncodedBytes = 128 * 1024;

// ---- Identifiers and shapes (section 13, "Identifiers") -------------------

// 26 characters of Crockford base 32, upper case, the first 0 to 7.
inline bool IsUlid(std::string_view s) {
  constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  return s.size() == 26 && s.find_first_not_of(kCrockford) == std::string_view::npos &&
         s.front() <= '7';
}

// 1 to 64 characters of a-z, 0-9 and -.
inline bool IsCourtId(std::string_view s) {
  constexpr std::string_view kCourtChars = "abcdefghijklmnopqrstuvwxyz0123456789-";
  return !s.empty() && s.size() <= 64 && s.find_first_not_of(kCourtChars) == std::string_view::npos;
}

// A calendar date YYYY-MM-DD, leap years honoured (std::chrono's calendar).
inline bool IsDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  int number[3] = {0, 0, 0};
  const std::pair<size_t, size_t> parts[3] = {{0, 4}, {5, 2}, {8, 2}};
  for (int p = 0; p < 3; ++p) {
    for (size_t i = parts[p].first; i < parts[p].first + parts[p].second; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      number[p] = number[p] * 10 + (s[i] - '0');
    }
  }
  const std::chrono::year_month_day date{std::chrono::year(number[0]),
                                         std::chrono::month(static_cast<unsigned>(number[1])),
                                         std::chrono::day(static_cast<unsigned>(number[2]))};
  return date.ok();
}

inline bool IsSha256Hex(std::string_view s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

inline bool IsRegionCode(std::string_view s) {
  return s.size() == 6 && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// ---- Fields by the spec's names ----------------------------------------------

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

inline const FieldDescriptor* Field(const Message& m, std::string_view name) {
  const FieldDescriptor* field = m.GetDescriptor()->FindFieldByName(std::string(name));
  FUZZ_CHECK(field != nullptr, "the spec names a field " + std::string(name) + " of " +
                                   m.GetDescriptor()->full_name() + " that the schema lacks");
  return field;
}

// The message at `path` ("debtor", "vehicle_seizure"); its default if unset.
inline const Message& Sub(const Message& m, std::string_view name) {
  return m.GetReflection()->GetMessage(m, Field(m, name));
}

inline bool Has(const Message& m, std::string_view name) {
  return m.GetReflection()->HasField(m, Field(m, name));
}

inline std::string Text(const Message& m, std::string_view name) {
  return m.GetReflection()->GetString(m, Field(m, name));
}

inline int Count(const Message& m, std::string_view name) {
  return m.GetReflection()->FieldSize(m, Field(m, name));
}

// The name of the field set in oneof `oneof`, or "".
inline std::string SetCase(const Message& m, std::string_view oneof) {
  const auto* descriptor = m.GetDescriptor()->FindOneofByName(std::string(oneof));
  FUZZ_CHECK(descriptor != nullptr, "the spec names a oneof " + std::string(oneof));
  const FieldDescriptor* set = m.GetReflection()->GetOneofFieldDescriptor(m, descriptor);
  return set ? set->name() : "";
}

// ---- Kinds (section 5.5: "implied by the payload case"; 5.6: Result) -------

inline weituo::v1::Kind KindNamed(std::string_view case_name,
                                  const std::pair<std::string_view, weituo::v1::Kind> (&table)[3]) {
  for (const auto& [name, kind] : table) {
    if (name == case_name) return kind;
  }
  return weituo::v1::KIND_UNSPECIFIED;
}

inline weituo::v1::Kind PayloadKind(const weituo::v1::Commission& c) {
  static constexpr std::pair<std::string_view, weituo::v1::Kind> kPayloads[3] = {
      {"debtor_locate", weituo::v1::DEBTOR_LOCATE},
      {"asset_query", weituo::v1::ASSET_QUERY},
      {"vehicle_seizure", weituo::v1::VEHICLE_SEIZURE}};
  return KindNamed(SetCase(c, "payload"), kPayloads);
}

// The kind a Result is for; KIND_UNSPECIFIED if no case is set.
inline weituo::v1::Kind ResultKind(const Message& result) {
  static constexpr std::pair<std::string_view, weituo::v1::Kind> kResults[3] = {
      {"locate", weituo::v1::DEBTOR_LOCATE},
      {"assets", weituo::v1::ASSET_QUERY},
      {"seizure", weituo::v1::VEHICLE_SEIZURE}};
  return KindNamed(SetCase(result, "kind"), kResults);
}

// The kinds a stored commission can have: one without a payload is refused.
inline constexpr weituo::v1::Kind kCommissionKinds[] = {
    weituo::v1::DEBTOR_LOCATE, weituo::v1::ASSET_QUERY, weituo::v1::VEHICLE_SEIZURE};

// ---- The rules, in the spec's order -------------------------------------------

// The first rule broken: what the refusal's message starts with (the field
// the spec names, "the commission" or "the update" for the encoded size, ""
// where it names no field), or nullopt while every rule holds.
class FirstBreak {
 public:
  void Require(bool holds, std::string_view name) {
    if (!holds && !broken_) broken_ = std::string(name);
  }
  // A text of at most kTextBytes, and not empty if required.
  void Text(const Message& m, std::string_view field, std::string_view name, bool required) {
    const std::string text = spec::Text(m, field);
    Require(text.size() <= kTextBytes && (!required || !text.empty()), name);
  }
  // A list of at most kListItems texts of at most kTextBytes each.
  void TextList(const Message& m, std::string_view field, std::string_view name) {
    const int n = Count(m, field);
    bool fits = static_cast<size_t>(n) <= kListItems;
    for (int i = 0; i < n; ++i) {
      fits =
          fits && m.GetReflection()->GetRepeatedString(m, Field(m, field), i).size() <= kTextBytes;
    }
    Require(fits, name);
  }
  const std::optional<std::string>& broken() const { return broken_; }

 private:
  std::optional<std::string> broken_;
};

// Section 13, "Commission, checked in this order", rules 1 to 12, with
// validation.h's limit on the number of asset classes.
inline std::optional<std::string> FirstBrokenRule(const weituo::v1::Commission& c) {
  FirstBreak rule;
  rule.Require(IsUlid(Text(c, "id")), "id");                          // 1
  rule.Require(c.ByteSizeLong() <= kEncodedBytes, "the commission");  // 2
  rule.Text(c, "case_number", "case_number", true);                   // 3
  rule.Text(c, "origin_court", "origin_court", true);                 // 4
  for (std::string_view field : {"target_court", "origin_handler", "origin_contact", "campaign"}) {
    rule.Text(c, field, field, false);  // 5
  }
  rule.Require(Text(c, "parent_id").empty() && Text(c, "forwarded_by").empty(), "parent_id");  // 6
  rule.Require(Text(c, "not_after").empty() || IsDate(Text(c, "not_after")), "not_after");     // 7
  rule.Require(Has(c, "debtor"), "debtor");                                                    // 8
  const Message& debtor = Sub(c, "debtor");
  rule.Text(debtor, "name", "debtor.name", true);
  rule.Text(debtor, "id_number", "debtor.id_number", false);
  const std::string region = Text(debtor, "region_code");
  rule.Require(region.empty() || IsRegionCode(region), "debtor.region_code");
  rule.Require(!Text(c, "target_court").empty() || !region.empty(), "target_court");  // 9
  rule.TextList(debtor, "addresses", "debtor.addresses");                             // 10
  rule.TextList(debtor, "phones", "debtor.phones");
  rule.Require(static_cast<size_t>(Count(c, "attachments")) <= kListItems, "attachments");  // 11
  for (int i = 0; i < Count(c, "attachments"); ++i) {
    const Message& a = c.GetReflection()->GetRepeatedMessage(c, Field(c, "attachments"), i);
    rule.Text(a, "name", "attachments.name", true);
    rule.Text(a, "media_type", "attachments.media_type", false);
    rule.Require(IsSha256Hex(Text(a, "sha256")), "attachments.sha256");
  }
  const std::string payload = SetCase(c, "payload");  // 12
  rule.Require(!payload.empty(), "payload");
  if (payload == "debtor_locate") {
    rule.Text(Sub(c, payload), "notes", "debtor_locate.notes", false);
  } else if (payload == "asset_query") {
    const int classes = Count(Sub(c, payload), "classes");
    rule.Require(classes > 0 && static_cast<size_t>(classes) <= kListItems, "asset_query.classes");
  } else if (payload == "vehicle_seizure") {
    const Message& v = Sub(c, payload);
    rule.Require(!Text(v, "plate").empty() || !Text(v, "vin").empty(), "vehicle_seizure.plate");
    for (std::string_view field :
         {"plate", "vin", "ruling_reference", "assistance_notice_reference"}) {
      rule.Text(v, field, "vehicle_seizure." + std::string(field), false);
    }
  }
  return rule.broken();
}

// Section 13, "Update (the kind is the commission's)", rules 1 to 11.
inline std::optional<std::string> FirstBrokenRule(const weituo::v1::Update& u,
                                                  weituo::v1::Kind kind) {
  FirstBreak rule;
  rule.Require(IsUlid(Text(u, "commission_id")), "commission_id");  // 1
  rule.Require(u.ByteSizeLong() <= kEncodedBytes, "the update");    // 2
  const std::string action = SetCase(u, "action");                  // 3
  rule.Require(!action.empty(), "");
  if (action.empty()) return rule.broken();
  const Message& a = Sub(u, action);
  const auto named = [&action](std::string_view field) {
    return action + "." + std::string(field);
  };
  if (action == "accept") {  // 4
    rule.Text(a, "handler", named("handler"), true);
    const std::string date = Text(a, "expected_date");
    rule.Require(date.empty() || IsDate(date), named("expected_date"));
  } else if (action == "progress") {  // 5
    rule.Text(a, "text", named("text"), true);
    rule.Require(!Has(a, "partial") || ResultKind(Sub(a, "partial")) == kind, named("partial"));
  } else if (action == "complete") {  // 6
    rule.Require(Has(a, "result") && ResultKind(Sub(a, "result")) != weituo::v1::KIND_UNSPECIFIED,
                 named("result"));
    rule.Require(ResultKind(Sub(a, "result")) == kind, named("result"));
  } else if (action == "return") {  // 7
    rule.Require(a.GetReflection()->GetEnumValue(a, Field(a, "reason")) != 0, named("reason"));
    rule.Text(a, "text", named("text"), false);
  } else if (action == "withdraw") {  // 8
    rule.Text(a, "reason", named("reason"), false);
  } else if (action == "request_info") {  // 9
    rule.Text(a, "text", named("text"), true);
  } else if (action == "supply_info") {  // 10
    rule.Text(a, "text", named("text"), false);
  } else if (action == "forward") {  // 11
    rule.Require(IsCourtId(Text(a, "to_court")), named("to_court"));
    rule.Text(a, "text", named("text"), false);
  } else {
    FUZZ_CHECK(false, "an action the spec does not list: " + action);
  }
  return rule.broken();
}

}  // namespace weituo::fuzz::spec
