// libFuzzer target over the envelope decoder: the input is one frame as the
// broker receives it. It goes through ParseEnvelope with the broker's frame
// limit and, when it parses, through what the broker applies to a submit or a
// send_update: ValidateCommission, ValidateUpdate, ActionOf and NextState.
// Each step checks the promises of wire.h, validation.h and lifecycle.h;
// what validation accepts is checked both ways against the spec's rules
// (validation_spec.h), which share no code with validation.cc.
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
#include "validation_spec.h"
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
using weituo::v1::Update;

// The broker's default --max-frame-bytes.
constexpr size_t kBrokerMaxFrameBytes = kDefaultMaxFrameBytes;

// The name of the first text over the spec's 4096 bytes or list over its 64
// items in `message` or a message it holds, or "" if there is none.
std::string FieldOverLimits(const Message& message) {
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const int count = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
    if (field->is_repeated() && static_cast<size_t>(count) > spec::kListItems) {
      return field->full_name();
    }
    for (int i = 0; i < count; ++i) {
      if (field->type() == FieldDescriptor::TYPE_STRING) {
        const std::string text = field->is_repeated()
                                     ? reflection->GetRepeatedString(message, field, i)
                                     : reflection->GetString(message, field);
        if (text.size() > spec::kTextBytes) return field->full_name();
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

// A refusal of ValidateCommission or ValidateUpdate: INVALID_ARGUMENT whose
// message starts with what the spec's first broken rule names.
void CheckValidationRefusal(const Status& status, const std::string& named,
                            const std::string& what) {
  CheckRefusal(status);
  FUZZ_CHECK(status.code() == StatusCode::kInvalidArgument, status.ToString() + " for " + what);
  if (named.empty()) return;
  FUZZ_CHECK(status.message().rfind(named + " ", 0) == 0,
             status.ToString() + " does not name " + named + " first, for " + what);
}

// ValidateCommission accepts exactly the commissions that keep every rule
// of the spec, refuses the others naming the first rule broken, and KindOf
// is the kind the payload case implies.
void CheckCommission(const Commission& c) {
  const auto what = [&c] { return "commission " + c.ShortDebugString(); };
  FUZZ_CHECK(KindOf(c) == spec::PayloadKind(c), what());
  const Status status = ValidateCommission(c);
  const std::optional<std::string> broken = spec::FirstBrokenRule(c);
  FUZZ_CHECK(status.ok() == !broken.has_value(),
             (broken ? "the spec refuses it at " + *broken : std::string("the spec accepts it")) +
                 ", validation says " + status.ToString() + ", for " + what());
  if (broken) return CheckValidationRefusal(status, *broken, what());
  FUZZ_CHECK(FieldOverLimits(c).empty(), FieldOverLimits(c) + " in valid " + what());
}

// The same of ValidateUpdate for a commission of each kind, and what
// lifecycle.h promises of its action in every state, for every role.
void CheckUpdate(const Update& u) {
  const std::optional<Action> action = ActionOf(u);
  FUZZ_CHECK(action.has_value() == (u.action_case() != Update::ACTION_NOT_SET),
             u.ShortDebugString());

  for (const Kind kind : spec::kCommissionKinds) {
    const auto what = [&u, kind] {
      return "update " + u.ShortDebugString() + " for " + weituo::v1::Kind_Name(kind);
    };
    const Status status = ValidateUpdate(u, kind);
    const std::optional<std::string> broken = spec::FirstBrokenRule(u, kind);
    FUZZ_CHECK(
        status.ok() == !broken.has_value(),
        (broken ? "the spec refuses it at '" + *broken + "'" : std::string("the spec accepts it")) +
            ", validation says " + status.ToString() + ", for " + what());
    if (broken) CheckValidationRefusal(status, *broken, what());
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
      FUZZ_CHECK(IsValidCourtId(envelope.hello().court_id()) ==
                     spec::IsCourtId(envelope.hello().court_id()),
                 envelope.hello().court_id());
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
