#include "weituo/common/wire.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/message_differencer.h>

#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weituo {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using weituo::v1::Envelope;
using weituo::v1::Error;
using weituo::v1::ErrorCode;

Envelope HelloEnvelope() {
  Envelope env;
  env.mutable_hello()->set_court_id("kaihua");
  env.mutable_hello()->set_agent_version("0.1.0");
  return env;
}

TEST(WireTest, SerializeSetsTheProtocolAndParseRoundTrips) {
  Envelope sent = HelloEnvelope();
  std::string frame = SerializeEnvelope(sent);
  EXPECT_EQ(sent.protocol(), kProtocolVersion);

  Envelope received;
  Error error;
  ASSERT_TRUE(ParseEnvelope(frame, kDefaultMaxFrameBytes, &received, &error)) << error.message();
  EXPECT_TRUE(MessageDifferencer::Equals(received, sent)) << received.DebugString();
  EXPECT_EQ(received.body_case(), Envelope::kHello);
  EXPECT_EQ(received.hello().court_id(), "kaihua");
  EXPECT_EQ(error.code(), ErrorCode::ERROR_CODE_UNSPECIFIED);
}

TEST(WireTest, RoundTripsACommission) {
  Envelope sent;
  auto* c = sent.mutable_submit()->mutable_commission();
  c->set_id("01JDQ4W1Z8R9M2K3N4P5Q6R7S8");
  c->set_case_number("（2023）浙0824执1234号");
  c->mutable_debtor()->set_name("李四");
  c->mutable_asset_query()->add_classes(weituo::v1::VEHICLES);
  std::string frame = SerializeEnvelope(sent);

  Envelope received;
  Error error;
  ASSERT_TRUE(ParseEnvelope(frame, kDefaultMaxFrameBytes, &received, &error)) << error.message();
  EXPECT_TRUE(MessageDifferencer::Equals(received, sent)) << received.DebugString();
}

TEST(WireTest, GarbageIsMalformed) {
  const std::string garbage[] = {
      std::string("\x00", 1),                                           // field number 0
      std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11),  // varint over 10 bytes
      std::string("\x52\x05"
                  "ab",
                  4),          // hello (field 10) cut short
      std::string("\x0f", 1),  // wire type 7 does not exist
  };
  for (const std::string& frame : garbage) {
    Envelope out;
    Error error;
    EXPECT_FALSE(ParseEnvelope(frame, kDefaultMaxFrameBytes, &out, &error));
    EXPECT_EQ(error.code(), ErrorCode::MALFORMED) << ::testing::PrintToString(frame);
    EXPECT_THAT(error.message(), HasSubstr("not a weituo.v1.Envelope"));
  }
}

TEST(WireTest, OverTheLimitIsTooLarge) {
  Envelope sent = HelloEnvelope();
  std::string frame = SerializeEnvelope(sent);
  Envelope out;
  Error error;
  EXPECT_TRUE(ParseEnvelope(frame, frame.size(), &out, &error)) << "the limit is inclusive";

  EXPECT_FALSE(ParseEnvelope(frame, frame.size() - 1, &out, &error));
  EXPECT_EQ(error.code(), ErrorCode::TOO_LARGE);
  EXPECT_THAT(error.message(), HasSubstr(std::to_string(frame.size()) + " bytes"));
  EXPECT_THAT(error.message(), HasSubstr(std::to_string(frame.size() - 1)));

  // The size is checked before parsing: garbage over the limit is TOO_LARGE.
  std::string big(kDefaultMaxFrameBytes + 1, '\xff');
  Error big_error;
  EXPECT_FALSE(ParseEnvelope(big, kDefaultMaxFrameBytes, &out, &big_error));
  EXPECT_EQ(big_error.code(), ErrorCode::TOO_LARGE);
}

TEST(WireTest, WrongProtocolIsUnsupportedVersion) {
  Envelope sent = HelloEnvelope();
  sent.set_protocol(2);
  std::string frame = sent.SerializeAsString();  // not SerializeEnvelope: keep 2
  Envelope out;
  Error error;
  EXPECT_FALSE(ParseEnvelope(frame, kDefaultMaxFrameBytes, &out, &error));
  EXPECT_EQ(error.code(), ErrorCode::UNSUPPORTED_VERSION);
  EXPECT_THAT(error.message(), HasSubstr("protocol 2"));

  // An empty frame parses as an Envelope with protocol 0.
  Error empty_error;
  EXPECT_FALSE(ParseEnvelope("", kDefaultMaxFrameBytes, &out, &empty_error));
  EXPECT_EQ(empty_error.code(), ErrorCode::UNSUPPORTED_VERSION);
  EXPECT_THAT(empty_error.message(), HasSubstr("protocol 0"));
}

TEST(WireTest, NoBodyIsMalformed) {
  Envelope sent;
  std::string frame = SerializeEnvelope(sent);
  Envelope out;
  Error error;
  EXPECT_FALSE(ParseEnvelope(frame, kDefaultMaxFrameBytes, &out, &error));
  EXPECT_EQ(error.code(), ErrorCode::MALFORMED);
  EXPECT_THAT(error.message(), HasSubstr("no body"));

  // A body from a newer schema (unknown field 99) is no body to this side.
  std::string unknown = frame + std::string("\x9a\x06\x00", 3);
  Error unknown_error;
  EXPECT_FALSE(ParseEnvelope(unknown, kDefaultMaxFrameBytes, &out, &unknown_error));
  EXPECT_EQ(unknown_error.code(), ErrorCode::MALFORMED);
  EXPECT_THAT(unknown_error.message(), HasSubstr("no body"));
}

TEST(WireTest, MakeErrorEnvelope) {
  Envelope env = MakeErrorEnvelope(ErrorCode::ILLEGAL_TRANSITION, "cannot accept", "req-1");
  EXPECT_EQ(env.protocol(), kProtocolVersion);
  ASSERT_EQ(env.body_case(), Envelope::kError);
  EXPECT_EQ(env.error().code(), ErrorCode::ILLEGAL_TRANSITION);
  EXPECT_EQ(env.error().message(), "cannot accept");
  EXPECT_EQ(env.error().ref(), "req-1");

  Envelope out;
  Error error;
  ASSERT_TRUE(ParseEnvelope(env.SerializeAsString(), kDefaultMaxFrameBytes, &out, &error));
  EXPECT_TRUE(MessageDifferencer::Equals(out, env));
}

TEST(WireTest, ErrorCodeForEachStatusCode) {
  EXPECT_EQ(ErrorCodeFor(Status::Ok()), ErrorCode::ERROR_CODE_UNSPECIFIED);
  EXPECT_EQ(ErrorCodeFor(Status::InvalidArgument("x")), ErrorCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorCodeFor(Status::NotFound("x")), ErrorCode::NOT_FOUND);
  EXPECT_EQ(ErrorCodeFor(Status::AlreadyExists("x")), ErrorCode::CONFLICT);
  EXPECT_EQ(ErrorCodeFor(Status::PermissionDenied("x")), ErrorCode::PERMISSION_DENIED);
  EXPECT_EQ(ErrorCodeFor(Status::FailedPrecondition("x")), ErrorCode::ILLEGAL_TRANSITION);
  EXPECT_EQ(ErrorCodeFor(Status::ResourceExhausted("x")), ErrorCode::TOO_LARGE);
  EXPECT_EQ(ErrorCodeFor(Status::Unavailable("x")), ErrorCode::UNAVAILABLE);
  EXPECT_EQ(ErrorCodeFor(Status::Internal("x")), ErrorCode::INTERNAL);
  EXPECT_EQ(ErrorCodeFor(Status::DataLoss("x")), ErrorCode::INTERNAL);
}

TEST(WireTest, IsRetryableForEachErrorCode) {
  const std::set<ErrorCode> retryable = {ErrorCode::NOT_IDENTIFIED, ErrorCode::UNAVAILABLE,
                                         ErrorCode::INTERNAL,       ErrorCode::RATE_LIMITED,
                                         ErrorCode::STORAGE_FULL,   ErrorCode::NOT_LEADER};
  const auto* descriptor = weituo::v1::ErrorCode_descriptor();
  ASSERT_EQ(descriptor->value_count(), 17);
  for (int i = 0; i < descriptor->value_count(); ++i) {
    auto code = static_cast<ErrorCode>(descriptor->value(i)->number());
    EXPECT_EQ(IsRetryable(code), retryable.count(code) == 1) << descriptor->value(i)->name();
  }
}

TEST(WireTest, IsValidCourtId) {
  const std::string valid[] = {"kaihua", "quzhou-intermediate", "a", "court-2",
                               "0",      std::string(64, 'z')};
  for (const std::string& id : valid) EXPECT_TRUE(IsValidCourtId(id)) << id;

  const std::string invalid[] = {
      "",     std::string(65, 'z'),      "Kaihua", "kai_hua", "kai hua", "kai.hua", "kai/hua",
      "开化", std::string("kai\0hua", 7)};
  for (const std::string& id : invalid) {
    EXPECT_FALSE(IsValidCourtId(id)) << ::testing::PrintToString(id);
  }
}

}  // namespace
}  // namespace weituo
