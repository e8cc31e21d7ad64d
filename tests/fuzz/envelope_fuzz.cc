// libFuzzer target over the envelope decoder: the input is one frame as the
// broker receives it. It goes through ParseEnvelope with the broker's frame
// limit and, when it parses, through what the broker applies to a submit or a
// send_update: ValidateCommission, ValidateUpdate, ActionOf and NextState.
// Each step checks the promises of wire.h, validation.h and lifecycle.h.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "invariants.h"
#include "weituo/common/ids.h"
#include "weituo/common/lifecycle.h"
#include "weituo/common/validation.h"
#include "weituo/common/wire.h"

namespace weituo::fuzz {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::util::MessageDifferencer;
using weituo::v1::Commission;
using weituo::v1::Envelope;
using weituo::v1::Error;
using weituo::v1::ErrorCode;
using weituo::v1::Kind;
using weituo::v1::Result;
using weituo::v1::Update;

// The broker's default --max-frame-bytes.
constexpr size_t kBrokerMaxFrameBytes = kDefaultMaxFrameBytes;

// The name of the first text over kMaxFieldBytes or list over kMaxListItems
// in `message` or a message it holds, or "" if there is none.
std::string FieldOverLimits(const Message& message) {
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const int count = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
    if (field->is_repeated() && static_cast<size_t>(count) > kMaxListItems) {
      return field->full_name();
    }
    for (int i = 0; i < count; ++i) {
      if (field->type() == FieldDescriptor::TYPE_STRING) {
        const std::string text = field->is_repeated()
                                     ? reflection->GetRepeatedString(message, field, i)
                                     : reflection->GetString(message, field);
        if (text.size() > kMaxFieldBytes) return field->full_name();
      } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        const Message& inner = field->is_repeated()
                                   ? reflection->GetRepeatedMessage(message, field, i)
                                   : reflection->GetMessage(message, field);
        if (std::string name = FieldOverLimits(inner); !name.empty()) return name;
      }
    }
  }
  return "";
}

// YYYY-MM-DD in shape; the calendar is clock.h's business.
bool IsDateShaped(std::string_view s) {
  if (s.size() != 10) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool digit = s[i] >= '0' && s[i] <= '9';
    if ((i == 4 || i == 7) ? s[i] != '-' : !digit) return false;
  }
  return true;
}

bool IsLowerHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Kind KindOfResult(const Result& result) {
  switch (result.kind_case()) {
    case Result::kLocate:
      return Kind::DEBTOR_LOCATE;
    case Result::kAssets:
      return Kind::ASSET_QUERY;
    case Result::kSeizure:
      return Kind::VEHICLE_SEIZURE;
    case Result::KIND_NOT_SET:
      break;
  }
  return Kind::KIND_UNSPECIFIED;
}

// A refusal of ParseEnvelope: one of the three documented codes with a
// message, and the broker's answer carrying it is itself a frame that parses.
void CheckFrameRefusal(const Error& error) {
  FUZZ_CHECK(error.code() == ErrorCode::TOO_LARGE || error.code() == ErrorCode::MALFORMED ||
                 error.code() == ErrorCode::UNSUPPORTED_VERSION,
             error.ShortDebugString());
  FUZZ_CHECK(!error.message().empty(), error.ShortDebugString());

  Envelope answer = MakeErrorEnvelope(error.code(), error.message(), "");
  const std::string frame = SerializeEnvelope(answer);
  Envelope parsed;
  Error parse_error;
  FUZZ_CHECK(ParseEnvelope(frame, kBrokerMaxFrameBytes, &parsed, &parse_error),
             parse_error.ShortDebugString());
  FUZZ_CHECK(parsed.has_error() && MessageDifferencer::Equals(parsed.error(), error),
             parsed.ShortDebugString());
}

// What validation.h promises of a commission ValidateCommission lets through.
void CheckCommission(const Commission& c) {
  const Status status = ValidateCommission(c);
  if (!status.ok()) {
    CheckRefusal(status);
    FUZZ_CHECK(status.code() == StatusCode::kInvalidArgument, status.ToString());
    return;
  }
  const auto what = [&c] { return "valid commission " + c.ShortDebugString(); };
  FUZZ_CHECK(IsUlid(c.id()), what());
  FUZZ_CHECK(!c.case_number().empty() && !c.origin_court().empty(), what());
  FUZZ_CHECK(c.has_debtor() && !c.debtor().name().empty(), what());
  FUZZ_CHECK(!c.target_court().empty() || !c.debtor().region_code().empty(), what());
  FUZZ_CHECK(KindOf(c) != Kind::KIND_UNSPECIFIED, what());
  FUZZ_CHECK(c.not_after().empty() || IsDateShaped(c.not_after()), what());
  for (const auto& attachment : c.attachments()) {
    FUZZ_CHECK(IsLowerHex64(attachment.sha256()), what());
  }
  FUZZ_CHECK(FieldOverLimits(c).empty(), FieldOverLimits(c) + " in " + what());
  FUZZ_CHECK(c.ByteSizeLong() <= kMaxMessageBytes, what());
}

// What validation.h promises of an update ValidateUpdate lets through for a
// commission of each kind, and what lifecycle.h promises of its action in
// every state, for every role.
void CheckUpdate(const Update& u) {
  const std::optional<Action> action = ActionOf(u);
  FUZZ_CHECK(action.has_value() == (u.action_case() != Update::ACTION_NOT_SET),
             u.ShortDebugString());

  const auto* kinds = weituo::v1::Kind_descriptor();
  for (int i = 0; i < kinds->value_count(); ++i) {
    const auto kind = static_cast<Kind>(kinds->value(i)->number());
    const Status status = ValidateUpdate(u, kind);
    if (!status.ok()) {
      CheckRefusal(status);
      FUZZ_CHECK(status.code() == StatusCode::kInvalidArgument, status.ToString());
      continue;
    }
    const auto what = [&u, kind] {
      return "valid update " + u.ShortDebugString() + " for " + weituo::v1::Kind_Name(kind);
    };
    FUZZ_CHECK(IsUlid(u.commission_id()), what());
    FUZZ_CHECK(action.has_value(), what());
    FUZZ_CHECK(!u.has_accept() || !u.accept().handler().empty(), what());
    FUZZ_CHECK(!u.has_return_() || u.return_().reason() != weituo::v1::RETURN_REASON_UNSPECIFIED,
               what());
    FUZZ_CHECK(
        !u.has_complete() || (KindOfResult(u.complete().result()) != Kind::KIND_UNSPECIFIED &&
                              KindOfResult(u.complete().result()) == kind),
        what());
    FUZZ_CHECK(u.ByteSizeLong() <= kMaxMessageBytes, what());
  }

  if (!action) return;
  const auto* states = weituo::v1::State_descriptor();
  for (int i = 0; i < states->value_count(); ++i) {
    for (Role role : kAllRoles) {
      CheckTransition(static_cast<State>(states->value(i)->number()), *action, role);
    }
  }
}

void CheckFrame(std::string_view frame) {
  // The limit is inclusive and checked before parsing.
  if (!frame.empty()) {
    Envelope out;
    Error error;
    FUZZ_CHECK(!ParseEnvelope(frame, frame.size() - 1, &out, &error), "over the limit");
    FUZZ_CHECK(error.code() == ErrorCode::TOO_LARGE, error.ShortDebugString());
  }

  Envelope envelope;
  Error error;
  if (!ParseEnvelope(frame, kBrokerMaxFrameBytes, &envelope, &error)) {
    CheckFrameRefusal(error);
    return;
  }
  FUZZ_CHECK(envelope.protocol() == kProtocolVersion, envelope.ShortDebugString());
  FUZZ_CHECK(envelope.body_case() != Envelope::BODY_NOT_SET, envelope.ShortDebugString());

  // Serialize and parse again: the same message, unknown fields included. A
  // re-encoding may be longer (a negative int32 takes ten bytes), so no limit.
  Envelope copy = envelope;
  const std::string again = SerializeEnvelope(copy);
  Envelope reparsed;
  Error reparse_error;
  FUZZ_CHECK(ParseEnvelope(again, std::numeric_limits<size_t>::max(), &reparsed, &reparse_error),
             reparse_error.ShortDebugString());
  FUZZ_CHECK(MessageDifferencer::Equals(reparsed, envelope), envelope.ShortDebugString());

  switch (envelope.body_case()) {
    case Envelope::kHello:
      if (IsValidCourtId(envelope.hello().court_id())) {
        const std::string& id = envelope.hello().court_id();
        FUZZ_CHECK(!id.empty() && id.size() <= 64, id);
        for (char c : id) {
          FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-', id);
        }
      }
      break;
    case Envelope::kSubmit:
      CheckCommission(envelope.submit().commission());
      break;
    case Envelope::kSendUpdate:
      CheckUpdate(envelope.send_update().update());
      break;
    default:
      break;
  }
}

}  // namespace
}  // namespace weituo::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // Invalid UTF-8 in a string is an expected refusal; protobuf would log each.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  weituo::fuzz::CheckFrame(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
