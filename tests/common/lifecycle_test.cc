#include "weituo/common/lifecycle.h"

#include <algorithm>
#include <iterator>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"

namespace weituo {

// Failure messages name actions and roles instead of printing their bytes.
static void PrintTo(Action action, std::ostream* os) { *os << ActionName(action); }
static void PrintTo(Role role, std::ostream* os) { *os << RoleName(role); }

namespace v1 {
static void PrintTo(State state, std::ostream* os) { *os << State_Name(state); }
}  // namespace v1

namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using weituo::v1::EventType;
using weituo::v1::Update;

// Every value of the proto enum, read from its descriptor so that a state
// added to the schema is enumerated here without editing the test.
std::vector<State> AllStates() {
  std::vector<State> states;
  const auto* descriptor = weituo::v1::State_descriptor();
  for (int i = 0; i < descriptor->value_count(); ++i) {
    states.push_back(static_cast<State>(descriptor->value(i)->number()));
  }
  return states;
}

struct Transition {
  State from;
  Action action;
  State to;
};

// The legal transitions for the role that owns each action, written out by
// hand from the lifecycle's contract. Every (state, action) pair not listed
// here must be refused with FAILED_PRECONDITION.
const std::vector<Transition>& LegalTransitions() {
  static const std::vector<Transition> kTable = {
      // deliver: the first receipt moves SUBMITTED on; a late receipt in any
      // later state is recorded and leaves the state as it is.
      {State::SUBMITTED, Action::kDeliver, State::DELIVERED},
      {State::DELIVERED, Action::kDeliver, State::DELIVERED},
      {State::ACCEPTED, Action::kDeliver, State::ACCEPTED},
      {State::IN_PROGRESS, Action::kDeliver, State::IN_PROGRESS},
      {State::NEEDS_INFO, Action::kDeliver, State::NEEDS_INFO},
      {State::COMPLETED, Action::kDeliver, State::COMPLETED},
      {State::RETURNED, Action::kDeliver, State::RETURNED},
      {State::WITHDRAWN, Action::kDeliver, State::WITHDRAWN},
      {State::FORWARDED, Action::kDeliver, State::FORWARDED},
      {State::EXPIRED, Action::kDeliver, State::EXPIRED},
      // accept
      {State::SUBMITTED, Action::kAccept, State::ACCEPTED},
      {State::DELIVERED, Action::kAccept, State::ACCEPTED},
      // progress
      {State::ACCEPTED, Action::kProgress, State::IN_PROGRESS},
      {State::IN_PROGRESS, Action::kProgress, State::IN_PROGRESS},
      // complete
      {State::ACCEPTED, Action::kComplete, State::COMPLETED},
      {State::IN_PROGRESS, Action::kComplete, State::COMPLETED},
      // return: from any open state
      {State::SUBMITTED, Action::kReturn, State::RETURNED},
      {State::DELIVERED, Action::kReturn, State::RETURNED},
      {State::ACCEPTED, Action::kReturn, State::RETURNED},
      {State::IN_PROGRESS, Action::kReturn, State::RETURNED},
      {State::NEEDS_INFO, Action::kReturn, State::RETURNED},
      // request_info
      {State::ACCEPTED, Action::kRequestInfo, State::NEEDS_INFO},
      {State::IN_PROGRESS, Action::kRequestInfo, State::NEEDS_INFO},
      // forward
      {State::DELIVERED, Action::kForward, State::FORWARDED},
      {State::ACCEPTED, Action::kForward, State::FORWARDED},
      {State::IN_PROGRESS, Action::kForward, State::FORWARDED},
      // withdraw: from any open state
      {State::SUBMITTED, Action::kWithdraw, State::WITHDRAWN},
      {State::DELIVERED, Action::kWithdraw, State::WITHDRAWN},
      {State::ACCEPTED, Action::kWithdraw, State::WITHDRAWN},
      {State::IN_PROGRESS, Action::kWithdraw, State::WITHDRAWN},
      {State::NEEDS_INFO, Action::kWithdraw, State::WITHDRAWN},
      // supply_info
      {State::NEEDS_INFO, Action::kSupplyInfo, State::IN_PROGRESS},
      // expire: from any open state
      {State::SUBMITTED, Action::kExpire, State::EXPIRED},
      {State::DELIVERED, Action::kExpire, State::EXPIRED},
      {State::ACCEPTED, Action::kExpire, State::EXPIRED},
      {State::IN_PROGRESS, Action::kExpire, State::EXPIRED},
      {State::NEEDS_INFO, Action::kExpire, State::EXPIRED},
      // deem_withdrawn
      {State::NEEDS_INFO, Action::kDeemWithdrawn, State::WITHDRAWN},
  };
  return kTable;
}

// The one role that may take each action, written independently of ActorOf.
Role ExpectedActor(Action action) {
  switch (action) {
    case Action::kDeliver:
    case Action::kExpire:
    case Action::kDeemWithdrawn:
      return Role::kBroker;
    case Action::kWithdraw:
    case Action::kSupplyInfo:
      return Role::kOrigin;
    case Action::kAccept:
    case Action::kProgress:
    case Action::kComplete:
    case Action::kReturn:
    case Action::kRequestInfo:
    case Action::kForward:
      return Role::kTarget;
  }
  ADD_FAILURE() << "no expected actor for action " << static_cast<int>(action);
  return Role::kBroker;
}

const Transition* FindLegal(State from, Action action) {
  for (const Transition& t : LegalTransitions()) {
    if (t.from == from && t.action == action) return &t;
  }
  return nullptr;
}

TEST(LifecycleTest, EnumerationsAreComplete) {
  // The schema has eleven states; a new one needs a row in the table above.
  EXPECT_EQ(AllStates().size(), 11u);
  EXPECT_EQ(weituo::v1::State_ARRAYSIZE, 11);
  EXPECT_EQ(std::size(kAllActions), 11u);
  EXPECT_EQ(std::size(kAllRoles), 3u);

  std::set<std::string_view> action_names;
  for (Action action : kAllActions) action_names.insert(ActionName(action));
  EXPECT_EQ(action_names.size(), std::size(kAllActions));
  EXPECT_EQ(action_names.count("unknown"), 0u);

  std::set<std::string_view> role_names;
  for (Role role : kAllRoles) role_names.insert(RoleName(role));
  EXPECT_THAT(role_names, ::testing::ElementsAre("broker", "origin", "target"));
}

TEST(LifecycleTest, TableHasThirtyEightLegalTransitionsWithoutDuplicates) {
  EXPECT_EQ(LegalTransitions().size(), 38u);
  std::set<std::pair<State, Action>> keys;
  for (const Transition& t : LegalTransitions()) keys.emplace(t.from, t.action);
  EXPECT_EQ(keys.size(), LegalTransitions().size());
}

TEST(LifecycleTest, NextStateMatchesTableForEveryStateActionAndRole) {
  int legal = 0;
  int refused = 0;
  int denied = 0;
  for (State from : AllStates()) {
    for (Action action : kAllActions) {
      for (Role role : kAllRoles) {
        SCOPED_TRACE(::testing::Message() << ActionName(action) << " by " << RoleName(role)
                                          << " in " << weituo::v1::State_Name(from));
        StatusOr<State> next = NextState(from, action, role);
        if (role != ExpectedActor(action)) {
          EXPECT_THAT(next, StatusIs(StatusCode::kPermissionDenied));
          ++denied;
        } else if (const Transition* t = FindLegal(from, action)) {
          ASSERT_THAT(next, IsOk());
          EXPECT_EQ(*next, t->to);
          ++legal;
        } else {
          EXPECT_THAT(next, StatusIs(StatusCode::kFailedPrecondition));
          ++refused;
        }
      }
    }
  }
  // 11 states x 11 actions, each with one right role and two wrong ones.
  EXPECT_EQ(legal, 38);
  EXPECT_EQ(refused, 11 * 11 - 38);
  EXPECT_EQ(denied, 11 * 11 * 2);
}

TEST(LifecycleTest, EveryTableRowUsesAKnownStateAndAction) {
  std::vector<State> states = AllStates();
  for (const Transition& t : LegalTransitions()) {
    EXPECT_NE(std::find(states.begin(), states.end(), t.from), states.end());
    EXPECT_NE(std::find(states.begin(), states.end(), t.to), states.end());
    EXPECT_NE(std::find(std::begin(kAllActions), std::end(kAllActions), t.action),
              std::end(kAllActions));
  }
}

TEST(LifecycleTest, NothingLeavesAFinalStateExceptALateDeliveryReceipt) {
  for (State from : AllStates()) {
    if (!IsFinal(from)) continue;
    for (Action action : kAllActions) {
      StatusOr<State> next = NextState(from, action, ExpectedActor(action));
      if (action == Action::kDeliver) {
        ASSERT_THAT(next, IsOk());
        EXPECT_EQ(*next, from);
      } else {
        EXPECT_THAT(next, StatusIs(StatusCode::kFailedPrecondition));
      }
    }
  }
}

TEST(LifecycleTest, UnspecifiedStateAllowsNothing) {
  for (Action action : kAllActions) {
    EXPECT_THAT(
        NextState(State::STATE_UNSPECIFIED, action, ExpectedActor(action)),
        StatusIs(StatusCode::kFailedPrecondition, AllOf(HasSubstr(std::string(ActionName(action))),
                                                        HasSubstr("STATE_UNSPECIFIED"))));
  }
}

TEST(LifecycleTest, IllegalTransitionMessageNamesActionAndState) {
  EXPECT_THAT(NextState(State::COMPLETED, Action::kAccept, Role::kTarget),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("accept"), HasSubstr("COMPLETED"))));
  EXPECT_THAT(NextState(State::SUBMITTED, Action::kSupplyInfo, Role::kOrigin),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("supply_info"), HasSubstr("SUBMITTED"))));
  EXPECT_THAT(NextState(State::DELIVERED, Action::kDeemWithdrawn, Role::kBroker),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("deem_withdrawn"), HasSubstr("DELIVERED"))));
}

TEST(LifecycleTest, PermissionMessageNamesActionAndBothRoles) {
  EXPECT_THAT(NextState(State::SUBMITTED, Action::kWithdraw, Role::kTarget),
              StatusIs(StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("withdraw"), HasSubstr("the target may not"),
                             HasSubstr("only the origin"))));
  EXPECT_THAT(NextState(State::ACCEPTED, Action::kComplete, Role::kOrigin),
              StatusIs(StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("complete"), HasSubstr("the origin may not"),
                             HasSubstr("only the target"))));
  EXPECT_THAT(NextState(State::SUBMITTED, Action::kDeliver, Role::kTarget),
              StatusIs(StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("deliver"), HasSubstr("only the broker"))));
}

TEST(LifecycleTest, ActorOfEachAction) {
  for (Action action : kAllActions)
    EXPECT_EQ(ActorOf(action), ExpectedActor(action)) << ActionName(action);
  EXPECT_EQ(ActorOf(Action::kDeliver), Role::kBroker);
  EXPECT_EQ(ActorOf(Action::kAccept), Role::kTarget);
  EXPECT_EQ(ActorOf(Action::kProgress), Role::kTarget);
  EXPECT_EQ(ActorOf(Action::kComplete), Role::kTarget);
  EXPECT_EQ(ActorOf(Action::kReturn), Role::kTarget);
  EXPECT_EQ(ActorOf(Action::kRequestInfo), Role::kTarget);
  EXPECT_EQ(ActorOf(Action::kForward), Role::kTarget);
  EXPECT_EQ(ActorOf(Action::kWithdraw), Role::kOrigin);
  EXPECT_EQ(ActorOf(Action::kSupplyInfo), Role::kOrigin);
  EXPECT_EQ(ActorOf(Action::kExpire), Role::kBroker);
  EXPECT_EQ(ActorOf(Action::kDeemWithdrawn), Role::kBroker);
}

TEST(LifecycleTest, IsFinalForEachState) {
  EXPECT_FALSE(IsFinal(State::STATE_UNSPECIFIED));
  EXPECT_FALSE(IsFinal(State::SUBMITTED));
  EXPECT_FALSE(IsFinal(State::DELIVERED));
  EXPECT_FALSE(IsFinal(State::ACCEPTED));
  EXPECT_FALSE(IsFinal(State::IN_PROGRESS));
  EXPECT_FALSE(IsFinal(State::NEEDS_INFO));
  EXPECT_TRUE(IsFinal(State::COMPLETED));
  EXPECT_TRUE(IsFinal(State::RETURNED));
  EXPECT_TRUE(IsFinal(State::WITHDRAWN));
  EXPECT_TRUE(IsFinal(State::FORWARDED));
  EXPECT_TRUE(IsFinal(State::EXPIRED));
}

TEST(LifecycleTest, StateNameIsTheProtoName) {
  EXPECT_EQ(StateName(State::NEEDS_INFO), "NEEDS_INFO");
  EXPECT_EQ(StateName(State::STATE_UNSPECIFIED), "STATE_UNSPECIFIED");
}

TEST(LifecycleTest, ActionOfEachUpdateCase) {
  // Eight cases in the oneof; a new one needs a line here.
  EXPECT_EQ(Update::descriptor()->FindOneofByName("action")->field_count(), 8);

  Update update;
  EXPECT_EQ(ActionOf(update), std::nullopt);

  update.mutable_accept()->set_handler("张三");
  EXPECT_EQ(ActionOf(update), Action::kAccept);
  update.mutable_progress()->set_text("visited the address");
  EXPECT_EQ(ActionOf(update), Action::kProgress);
  update.mutable_complete();
  EXPECT_EQ(ActionOf(update), Action::kComplete);
  update.mutable_return_()->set_reason(weituo::v1::NOT_IN_JURISDICTION);
  EXPECT_EQ(ActionOf(update), Action::kReturn);
  update.mutable_withdraw();
  EXPECT_EQ(ActionOf(update), Action::kWithdraw);
  update.mutable_request_info()->set_text("the ruling");
  EXPECT_EQ(ActionOf(update), Action::kRequestInfo);
  update.mutable_supply_info();
  EXPECT_EQ(ActionOf(update), Action::kSupplyInfo);
  update.mutable_forward()->set_to_court("shexian");
  EXPECT_EQ(ActionOf(update), Action::kForward);

  update.clear_action();
  EXPECT_EQ(ActionOf(update), std::nullopt);
}

TEST(LifecycleTest, EventTypeOfEachAction) {
  EXPECT_EQ(EventTypeOf(Action::kDeliver), EventType::EV_DELIVERED);
  EXPECT_EQ(EventTypeOf(Action::kAccept), EventType::EV_ACCEPTED);
  EXPECT_EQ(EventTypeOf(Action::kProgress), EventType::EV_PROGRESS);
  EXPECT_EQ(EventTypeOf(Action::kComplete), EventType::EV_COMPLETED);
  EXPECT_EQ(EventTypeOf(Action::kReturn), EventType::EV_RETURNED);
  EXPECT_EQ(EventTypeOf(Action::kRequestInfo), EventType::EV_INFO_REQUESTED);
  EXPECT_EQ(EventTypeOf(Action::kForward), EventType::EV_FORWARDED);
  EXPECT_EQ(EventTypeOf(Action::kWithdraw), EventType::EV_WITHDRAWN);
  EXPECT_EQ(EventTypeOf(Action::kSupplyInfo), EventType::EV_INFO_SUPPLIED);
  EXPECT_EQ(EventTypeOf(Action::kExpire), EventType::EV_EXPIRED);
  EXPECT_EQ(EventTypeOf(Action::kDeemWithdrawn), EventType::EV_WITHDRAWN);
}

}  // namespace
}  // namespace weituo
