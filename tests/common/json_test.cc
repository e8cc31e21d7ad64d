#include "weituo/common/json.h"

#include <gtest/gtest.h>

#include <string>

#include "weituo/v1/commission.pb.h"

namespace weituo {
namespace {

weituo::v1::Attachment Letter() {
  weituo::v1::Attachment a;
  a.set_name("协助执行通知书.pdf");
  a.set_size_bytes(2048);
  return a;
}

TEST(JsonTest, PrintsOneLineInProtobufsMappingWithoutDefaultFields) {
  EXPECT_EQ(ToJson(Letter()), R"({"name":"协助执行通知书.pdf","sizeBytes":"2048"})");
  EXPECT_EQ(ToJson(weituo::v1::Attachment()), "{}");
}

TEST(JsonTest, PrintsFieldsAtTheirDefaultValueWhenAsked) {
  EXPECT_EQ(ToJson(Letter(), {.always_print_primitive_fields = true}),
            R"({"name":"协助执行通知书.pdf","mediaType":"","sizeBytes":"2048","sha256":""})");
}

TEST(JsonTest, IndentsOverSeveralLinesWhenAsked) {
  EXPECT_EQ(ToJson(Letter(), {.add_whitespace = true}),
            "{\n \"name\": \"协助执行通知书.pdf\",\n \"sizeBytes\": \"2048\"\n}\n");
}

TEST(JsonTest, QuotesTextAsAJsonString) {
  EXPECT_EQ(JsonQuoted(""), R"("")");
  EXPECT_EQ(JsonQuoted("say \"hi\"\n\\ 李明"), R"("say \"hi\"\n\\ 李明")");
}

}  // namespace
}  // namespace weituo
