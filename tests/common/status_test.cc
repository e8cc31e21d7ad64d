#include "weituo/common/status.h"

#include <memory>
#include <string>
#include <utility>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"

namespace weituo {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kOk);
  EXPECT_EQ(status.message(), "");
  EXPECT_EQ(status.ToString(), "OK");
  EXPECT_EQ(status, Status::Ok());
}

TEST(StatusTest, FactoriesGiveTheirCodeAndMessage) {
  struct Case {
    Status status;
    StatusCode code;
    const char* name;
  };
  const Case cases[] = {
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument, "INVALID_ARGUMENT"},
      {Status::NotFound("m"), StatusCode::kNotFound, "NOT_FOUND"},
      {Status::AlreadyExists("m"), StatusCode::kAlreadyExists, "ALREADY_EXISTS"},
      {Status::PermissionDenied("m"), StatusCode::kPermissionDenied, "PERMISSION_DENIED"},
      {Status::FailedPrecondition("m"), StatusCode::kFailedPrecondition, "FAILED_PRECONDITION"},
      {Status::ResourceExhausted("m"), StatusCode::kResourceExhausted, "RESOURCE_EXHAUSTED"},
      {Status::Unavailable("m"), StatusCode::kUnavailable, "UNAVAILABLE"},
      {Status::Internal("m"), StatusCode::kInternal, "INTERNAL"},
      {Status::DataLoss("m"), StatusCode::kDataLoss, "DATA_LOSS"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(StatusCodeName(c.code), c.name);
    EXPECT_EQ(c.status.ToString(), std::string(c.name) + ": m");
  }
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "OK");
}

TEST(StatusTest, ToStringJoinsCodeAndMessage) {
  EXPECT_EQ(Status::NotFound("no commission 01J0000000000000000000000").ToString(),
            "NOT_FOUND: no commission 01J0000000000000000000000");
}

TEST(StatusTest, EqualityComparesCodeAndMessage) {
  EXPECT_EQ(Status::NotFound("a"), Status::NotFound("a"));
  EXPECT_FALSE(Status::NotFound("a") == Status::NotFound("b"));
  EXPECT_FALSE(Status::NotFound("a") == Status::Internal("a"));
  EXPECT_FALSE(Status::Ok() == Status::Internal(""));
}

TEST(StatusOrTest, HoldsAValue) {
  StatusOr<std::string> value(std::string("kaihua"));
  ASSERT_TRUE(value.ok());
  EXPECT_TRUE(value.status().ok());
  EXPECT_EQ(value.value(), "kaihua");
  EXPECT_EQ(*value, "kaihua");
  EXPECT_EQ(value->size(), 6u);
  value->append("-court");
  EXPECT_EQ(*value, "kaihua-court");
}

TEST(StatusOrTest, MovesOutAMoveOnlyValue) {
  StatusOr<std::unique_ptr<int>> value(std::make_unique<int>(7));
  ASSERT_TRUE(value.ok());
  std::unique_ptr<int> taken = std::move(value).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 7);
}

TEST(StatusOrTest, HoldsAnError) {
  StatusOr<int> error(Status::NotFound("no commission x"));
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.status(), Status::NotFound("no commission x"));
  EXPECT_THAT(error, StatusIs(StatusCode::kNotFound, "no commission x"));
}

TEST(StatusOrTest, BuiltFromOkStatusBecomesInternal) {
  StatusOr<int> bad(Status::Ok());
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(bad, StatusIs(StatusCode::kInternal, ::testing::HasSubstr("OK status")));
}

TEST(StatusOrDeathTest, ValueOfAnErrorAborts) {
  StatusOr<int> error(Status::Unavailable("broker away"));
  EXPECT_DEATH((void)error.value(), "StatusOr::value\\(\\) on an error: UNAVAILABLE: broker away");
}

Status FailIfNegative(int n) {
  if (n < 0) return Status::InvalidArgument("negative: " + std::to_string(n));
  return Status::Ok();
}

Status CheckBoth(int a, int b, int* reached) {
  WEITUO_RETURN_IF_ERROR(FailIfNegative(a));
  ++*reached;
  WEITUO_RETURN_IF_ERROR(FailIfNegative(b));
  ++*reached;
  return Status::Ok();
}

StatusOr<int> SumIfPositive(int a, int b) {
  WEITUO_RETURN_IF_ERROR(FailIfNegative(a));
  WEITUO_RETURN_IF_ERROR(FailIfNegative(b));
  return a + b;
}

TEST(ReturnIfErrorTest, ReturnsTheFirstErrorEarly) {
  int reached = 0;
  EXPECT_THAT(CheckBoth(1, 2, &reached), IsOk());
  EXPECT_EQ(reached, 2);

  reached = 0;
  EXPECT_THAT(CheckBoth(-1, -2, &reached), StatusIs(StatusCode::kInvalidArgument, "negative: -1"));
  EXPECT_EQ(reached, 0);

  reached = 0;
  EXPECT_THAT(CheckBoth(1, -2, &reached), StatusIs(StatusCode::kInvalidArgument, "negative: -2"));
  EXPECT_EQ(reached, 1);
}

TEST(ReturnIfErrorTest, WorksInAFunctionReturningStatusOr) {
  StatusOr<int> sum = SumIfPositive(2, 3);
  ASSERT_THAT(sum, IsOk());
  EXPECT_EQ(*sum, 5);
  EXPECT_THAT(SumIfPositive(2, -3), StatusIs(StatusCode::kInvalidArgument, "negative: -3"));
}

StatusOr<int> PositiveOrError(int n) {
  if (n < 0) return Status::InvalidArgument("negative: " + std::to_string(n));
  return n;
}

// Two uses in one scope: each gets a temporary of its own.
StatusOr<int> SumOfPositives(int a, int b, int* reached) {
  WEITUO_ASSIGN_OR_RETURN(int first, PositiveOrError(a));
  ++*reached;
  WEITUO_ASSIGN_OR_RETURN(const int second, PositiveOrError(b));
  ++*reached;
  return first + second;
}

TEST(AssignOrReturnTest, GivesTheValueOrReturnsTheFirstErrorEarly) {
  int reached = 0;
  StatusOr<int> sum = SumOfPositives(2, 3, &reached);
  ASSERT_THAT(sum, IsOk());
  EXPECT_EQ(*sum, 5);
  EXPECT_EQ(reached, 2);

  reached = 0;
  EXPECT_THAT(SumOfPositives(-2, -3, &reached),
              StatusIs(StatusCode::kInvalidArgument, "negative: -2"));
  EXPECT_EQ(reached, 0);

  reached = 0;
  EXPECT_THAT(SumOfPositives(2, -3, &reached),
              StatusIs(StatusCode::kInvalidArgument, "negative: -3"));
  EXPECT_EQ(reached, 1);
}

Status StoreIfPositive(int n, int* out) {
  WEITUO_ASSIGN_OR_RETURN(*out, PositiveOrError(n));
  return Status::Ok();
}

TEST(AssignOrReturnTest, AssignsToAnExistingVariableInAFunctionReturningStatus) {
  int out = -1;
  EXPECT_THAT(StoreIfPositive(4, &out), IsOk());
  EXPECT_EQ(out, 4);
  EXPECT_THAT(StoreIfPositive(-4, &out), StatusIs(StatusCode::kInvalidArgument, "negative: -4"));
  EXPECT_EQ(out, 4);
}

StatusOr<std::unique_ptr<int>> Boxed(int n) {
  if (n < 0) return Status::NotFound("no box");
  return std::make_unique<int>(n);
}

StatusOr<int> Unboxed(int n) {
  WEITUO_ASSIGN_OR_RETURN(std::unique_ptr<int> box, Boxed(n));
  return *box;
}

TEST(AssignOrReturnTest, MovesAMoveOnlyValueOut) {
  EXPECT_EQ(*Unboxed(9), 9);
  EXPECT_THAT(Unboxed(-1), StatusIs(StatusCode::kNotFound, "no box"));
}

template <typename A, typename B>
StatusOr<std::pair<A, B>> MakePair(A a, B b) {
  return std::pair<A, B>(a, b);
}

StatusOr<int> FirstOfPair() {
  // The comma between template arguments is not taken for a macro argument's end.
  WEITUO_ASSIGN_OR_RETURN(auto pair, MakePair<int, std::string>(1, "one"));
  return pair.first;
}

TEST(AssignOrReturnTest, TakesAnExpressionWithCommas) { EXPECT_EQ(*FirstOfPair(), 1); }

}  // namespace
}  // namespace weituo
