#include "weituo/common/validation.h"

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_matchers.h"

namespace weituo {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using weituo::v1::Commission;
using weituo::v1::Kind;
using weituo::v1::Update;

constexpr char kId[] = "01JDQ4W1Z8R9M2K3N4P5Q6R7S8";
const std::string kSha256(64, 'a');
const std::string kTooLong(kMaxFieldBytes + 1, 'x');
const std::string kLongestAllowed(kMaxFieldBytes, 'x');

// A commission that passes, before any payload is set.
Commission BaseCommission() {
  Commission c;
  c.set_id(kId);
  c.set_case_number("（2023）浙0824执1234号");
  c.set_origin_court("kaihua");
  c.set_target_court("shexian");
  c.set_origin_handler("张三");
  c.set_origin_contact("0570-0000000");
  c.set_not_after("2026-12-31");
  c.set_campaign("365-2026");
  auto* d = c.mutable_debtor();
  d->set_name("李四");
  d->set_id_number("341021199001010000");
  d->set_region_code("341021");
  d->add_addresses("歙县某路1号");
  d->add_phones("13800000000");
  auto* a = c.add_attachments();
  a->set_name("委托执行函.pdf");
  a->set_media_type("application/pdf");
  a->set_size_bytes(1024);
  a->set_sha256(kSha256);
  return c;
}

Commission LocateCommission() {
  Commission c = BaseCommission();
  c.mutable_debtor_locate()->set_notes("seen near the bus station");
  return c;
}

Commission AssetCommission() {
  Commission c = BaseCommission();
  c.mutable_asset_query()->add_classes(weituo::v1::DEPOSITS);
  c.mutable_asset_query()->add_classes(weituo::v1::REAL_ESTATE);
  return c;
}

Commission SeizureCommission() {
  Commission c = BaseCommission();
  c.mutable_vehicle_seizure()->set_plate("皖J12345");
  c.mutable_vehicle_seizure()->set_vin("LSVAU2180N2000000");
  c.mutable_vehicle_seizure()->set_ruling_reference("（2023）浙0824执1234号之一");
  return c;
}

TEST(ValidateCommissionTest, AValidCommissionOfEachKindPasses) {
  EXPECT_THAT(ValidateCommission(LocateCommission()), IsOk());
  EXPECT_THAT(ValidateCommission(AssetCommission()), IsOk());
  EXPECT_THAT(ValidateCommission(SeizureCommission()), IsOk());
}

TEST(ValidateCommissionTest, KindOfFollowsThePayload) {
  EXPECT_EQ(KindOf(BaseCommission()), Kind::KIND_UNSPECIFIED);
  EXPECT_EQ(KindOf(LocateCommission()), Kind::DEBTOR_LOCATE);
  EXPECT_EQ(KindOf(AssetCommission()), Kind::ASSET_QUERY);
  EXPECT_EQ(KindOf(SeizureCommission()), Kind::VEHICLE_SEIZURE);
}

TEST(ValidateCommissionTest, MinimalCommissionsPass) {
  Commission by_target;
  by_target.set_id(kId);
  by_target.set_case_number("（2023）浙0824执1号");
  by_target.set_origin_court("kaihua");
  by_target.set_target_court("shexian");
  by_target.mutable_debtor()->set_name("李四");
  by_target.mutable_debtor_locate();
  EXPECT_THAT(ValidateCommission(by_target), IsOk());

  // No target court: the broker routes by the debtor's region code.
  Commission by_region = by_target;
  by_region.clear_target_court();
  by_region.mutable_debtor()->set_region_code("341021");
  EXPECT_THAT(ValidateCommission(by_region), IsOk());

  // A seizure needs the plate or the VIN, not both.
  Commission plate_only = SeizureCommission();
  plate_only.mutable_vehicle_seizure()->clear_vin();
  EXPECT_THAT(ValidateCommission(plate_only), IsOk());
  Commission vin_only = SeizureCommission();
  vin_only.mutable_vehicle_seizure()->clear_plate();
  EXPECT_THAT(ValidateCommission(vin_only), IsOk());
}

TEST(ValidateCommissionTest, LimitsAreInclusive) {
  Commission c = LocateCommission();
  c.set_case_number(kLongestAllowed);
  c.mutable_debtor()->clear_addresses();
  c.mutable_debtor()->add_addresses(kLongestAllowed);
  for (size_t i = 1; i < kMaxListItems; ++i) c.mutable_debtor()->add_addresses("address");
  c.clear_attachments();
  for (size_t i = 0; i < kMaxListItems; ++i) {
    auto* a = c.add_attachments();
    a->set_name("page-" + std::to_string(i));
    a->set_sha256(kSha256);
  }
  EXPECT_THAT(ValidateCommission(c), IsOk());

  Commission assets = AssetCommission();
  assets.mutable_asset_query()->clear_classes();
  for (size_t i = 0; i < kMaxListItems; ++i) {
    assets.mutable_asset_query()->add_classes(weituo::v1::VEHICLES);
  }
  EXPECT_THAT(ValidateCommission(assets), IsOk());
}

TEST(ValidateCommissionTest, TheWholeCommissionMustFitItsSizeLimit) {
  // Every field and list within its own limit, but together too big for
  // one wire frame.
  Commission c = LocateCommission();
  c.mutable_debtor()->clear_addresses();
  for (size_t i = 0; i < kMaxListItems; ++i) c.mutable_debtor()->add_addresses(kLongestAllowed);
  ASSERT_GT(c.ByteSizeLong(), kMaxMessageBytes);
  EXPECT_THAT(ValidateCommission(c),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("over the limit")));
}

// One broken rule: how to break a valid commission and the field the
// refusal must name.
struct CommissionRule {
  std::string name;
  std::function<Commission()> make;
  std::string field;
};

void PrintTo(const CommissionRule& rule, std::ostream* os) { *os << rule.name; }

// Applies `mutate` to a valid commission made by `make`.
std::function<Commission()> Broken(std::function<Commission()> make,
                                   std::function<void(Commission*)> mutate) {
  return [make, mutate] {
    Commission c = make();
    mutate(&c);
    return c;
  };
}

std::vector<CommissionRule> CommissionRules() {
  auto locate = LocateCommission;
  std::vector<CommissionRule> rules = {
      {"MissingId", Broken(locate, [](Commission* c) { c->clear_id(); }), "id"},
      {"IdNotAUlid", Broken(locate, [](Commission* c) { c->set_id("commission-1"); }), "id"},
      {"IdWithBadCharacter",
       Broken(locate, [](Commission* c) { c->set_id("01JDQ4W1Z8R9M2K3N4P5Q6R7SU"); }), "id"},
      {"MissingCaseNumber", Broken(locate, [](Commission* c) { c->clear_case_number(); }),
       "case_number"},
      {"LongCaseNumber", Broken(locate, [](Commission* c) { c->set_case_number(kTooLong); }),
       "case_number"},
      {"MissingOriginCourt", Broken(locate, [](Commission* c) { c->clear_origin_court(); }),
       "origin_court"},
      {"LongOriginCourt", Broken(locate, [](Commission* c) { c->set_origin_court(kTooLong); }),
       "origin_court"},
      {"LongTargetCourt", Broken(locate, [](Commission* c) { c->set_target_court(kTooLong); }),
       "target_court"},
      {"LongOriginHandler", Broken(locate, [](Commission* c) { c->set_origin_handler(kTooLong); }),
       "origin_handler"},
      {"LongOriginContact", Broken(locate, [](Commission* c) { c->set_origin_contact(kTooLong); }),
       "origin_contact"},
      {"LongCampaign", Broken(locate, [](Commission* c) { c->set_campaign(kTooLong); }),
       "campaign"},
      {"NotAfterNotADate", Broken(locate, [](Commission* c) { c->set_not_after("31/12/2026"); }),
       "not_after"},
      {"NotAfterImpossibleDay",
       Broken(locate, [](Commission* c) { c->set_not_after("2026-13-01"); }), "not_after"},
      {"MissingDebtor", Broken(locate, [](Commission* c) { c->clear_debtor(); }), "debtor"},
      {"MissingDebtorName",
       Broken(locate, [](Commission* c) { c->mutable_debtor()->clear_name(); }), "debtor.name"},
      {"LongDebtorName",
       Broken(locate, [](Commission* c) { c->mutable_debtor()->set_name(kTooLong); }),
       "debtor.name"},
      {"LongDebtorIdNumber",
       Broken(locate, [](Commission* c) { c->mutable_debtor()->set_id_number(kTooLong); }),
       "debtor.id_number"},
      {"RegionCodeTooShort",
       Broken(locate, [](Commission* c) { c->mutable_debtor()->set_region_code("34102"); }),
       "debtor.region_code"},
      {"RegionCodeTooLong",
       Broken(locate, [](Commission* c) { c->mutable_debtor()->set_region_code("3410210"); }),
       "debtor.region_code"},
      {"RegionCodeNotDigits",
       Broken(locate, [](Commission* c) { c->mutable_debtor()->set_region_code("34102x"); }),
       "debtor.region_code"},
      {"NeitherTargetNorRegion",
       Broken(locate,
              [](Commission* c) {
                c->clear_target_court();
                c->mutable_debtor()->clear_region_code();
              }),
       "target_court or debtor.region_code"},
      {"TooManyAddresses",
       Broken(locate,
              [](Commission* c) {
                for (size_t i = 0; i < kMaxListItems; ++i)
                  c->mutable_debtor()->add_addresses("地址");
              }),
       "debtor.addresses"},
      {"LongAddress",
       Broken(locate, [](Commission* c) { c->mutable_debtor()->add_addresses(kTooLong); }),
       "debtor.addresses"},
      {"TooManyPhones",
       Broken(locate,
              [](Commission* c) {
                for (size_t i = 0; i < kMaxListItems; ++i)
                  c->mutable_debtor()->add_phones("13800000000");
              }),
       "debtor.phones"},
      {"LongPhone",
       Broken(locate, [](Commission* c) { c->mutable_debtor()->add_phones(kTooLong); }),
       "debtor.phones"},
      {"TooManyAttachments",
       Broken(locate,
              [](Commission* c) {
                for (size_t i = 0; i < kMaxListItems; ++i) {
                  auto* a = c->add_attachments();
                  a->set_name("page");
                  a->set_sha256(kSha256);
                }
              }),
       "attachments"},
      {"AttachmentWithoutName",
       Broken(locate, [](Commission* c) { c->mutable_attachments(0)->clear_name(); }),
       "attachments.name"},
      {"AttachmentLongName",
       Broken(locate, [](Commission* c) { c->mutable_attachments(0)->set_name(kTooLong); }),
       "attachments.name"},
      {"AttachmentLongMediaType",
       Broken(locate, [](Commission* c) { c->mutable_attachments(0)->set_media_type(kTooLong); }),
       "attachments.media_type"},
      {"AttachmentWithoutSha256",
       Broken(locate, [](Commission* c) { c->mutable_attachments(0)->clear_sha256(); }),
       "attachments.sha256"},
      {"AttachmentShortSha256",
       Broken(locate,
              [](Commission* c) { c->mutable_attachments(0)->set_sha256(std::string(63, 'a')); }),
       "attachments.sha256"},
      {"AttachmentUpperCaseSha256",
       Broken(locate,
              [](Commission* c) { c->mutable_attachments(0)->set_sha256(std::string(64, 'A')); }),
       "attachments.sha256"},
      {"AttachmentNonHexSha256",
       Broken(locate,
              [](Commission* c) { c->mutable_attachments(0)->set_sha256(std::string(64, 'g')); }),
       "attachments.sha256"},
      {"MissingPayload", BaseCommission, "payload"},
      {"LongLocateNotes",
       Broken(locate, [](Commission* c) { c->mutable_debtor_locate()->set_notes(kTooLong); }),
       "debtor_locate.notes"},
      {"AssetQueryWithoutClasses",
       Broken(AssetCommission, [](Commission* c) { c->mutable_asset_query()->clear_classes(); }),
       "asset_query.classes"},
      {"TooManyAssetClasses",
       Broken(AssetCommission,
              [](Commission* c) {
                for (size_t i = 0; i < kMaxListItems; ++i)
                  c->mutable_asset_query()->add_classes(weituo::v1::DEPOSITS);
              }),
       "asset_query.classes"},
      {"SeizureWithoutPlateOrVin",
       Broken(SeizureCommission,
              [](Commission* c) {
                c->mutable_vehicle_seizure()->clear_plate();
                c->mutable_vehicle_seizure()->clear_vin();
              }),
       "vehicle_seizure.plate or vehicle_seizure.vin"},
      {"SeizureLongPlate",
       Broken(SeizureCommission,
              [](Commission* c) { c->mutable_vehicle_seizure()->set_plate(kTooLong); }),
       "vehicle_seizure.plate"},
      {"SeizureLongVin",
       Broken(SeizureCommission,
              [](Commission* c) { c->mutable_vehicle_seizure()->set_vin(kTooLong); }),
       "vehicle_seizure.vin"},
      {"SeizureLongRulingReference",
       Broken(SeizureCommission,
              [](Commission* c) { c->mutable_vehicle_seizure()->set_ruling_reference(kTooLong); }),
       "vehicle_seizure.ruling_reference"},
      {"SeizureLongAssistanceNoticeReference",
       Broken(SeizureCommission,
              [](Commission* c) {
                c->mutable_vehicle_seizure()->set_assistance_notice_reference(kTooLong);
              }),
       "vehicle_seizure.assistance_notice_reference"},
  };
  return rules;
}

class CommissionRuleTest : public ::testing::TestWithParam<CommissionRule> {};

TEST_P(CommissionRuleTest, FailsNamingTheField) {
  const CommissionRule& rule = GetParam();
  // The field name followed by a space, so "attachments" does not match a
  // message about "attachments.name".
  EXPECT_THAT(ValidateCommission(rule.make()),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr(rule.field + " ")));
}

INSTANTIATE_TEST_SUITE_P(EachRule, CommissionRuleTest, ::testing::ValuesIn(CommissionRules()),
                         [](const ::testing::TestParamInfo<CommissionRule>& info) {
                           return info.param.name;
                         });

TEST(ValidateCommissionTest, MessagesSayWhatIsWrong) {
  Commission c = LocateCommission();
  c.set_campaign(kTooLong);
  EXPECT_THAT(ValidateCommission(c),
              StatusIs(StatusCode::kInvalidArgument, "campaign is longer than 4096 bytes"));
  c = LocateCommission();
  c.clear_case_number();
  EXPECT_THAT(ValidateCommission(c),
              StatusIs(StatusCode::kInvalidArgument, "case_number is required"));
  c = LocateCommission();
  c.mutable_debtor()->clear_phones();
  for (size_t i = 0; i <= kMaxListItems; ++i) c.mutable_debtor()->add_phones("1");
  EXPECT_THAT(ValidateCommission(c),
              StatusIs(StatusCode::kInvalidArgument, "debtor.phones has more than 64 items"));
}

// ValidateUpdate

Update UpdateFor(std::function<void(Update*)> set_action) {
  Update u;
  u.set_commission_id(kId);
  set_action(&u);
  return u;
}

Update AcceptUpdate() {
  return UpdateFor([](Update* u) {
    u->mutable_accept()->set_handler("王五");
    u->mutable_accept()->set_expected_date("2026-12-01");
  });
}

Update CompleteLocate() {
  return UpdateFor([](Update* u) {
    auto* locate = u->mutable_complete()->mutable_result()->mutable_locate();
    locate->set_found_at_place("歙县");
    locate->add_measures(weituo::v1::DETAINED);
  });
}

TEST(ValidateUpdateTest, AValidUpdateOfEachActionPasses) {
  EXPECT_THAT(ValidateUpdate(AcceptUpdate(), Kind::DEBTOR_LOCATE), IsOk());
  EXPECT_THAT(ValidateUpdate(UpdateFor([](Update* u) { u->mutable_accept()->set_handler("王五"); }),
                             Kind::DEBTOR_LOCATE),
              IsOk());
  EXPECT_THAT(ValidateUpdate(UpdateFor([](Update* u) {
                               u->mutable_progress()->set_text("visited the address");
                             }),
                             Kind::ASSET_QUERY),
              IsOk());
  EXPECT_THAT(ValidateUpdate(UpdateFor([](Update* u) {
                               u->mutable_progress()->set_text("bank answered");
                               u->mutable_progress()->mutable_partial()->mutable_assets();
                             }),
                             Kind::ASSET_QUERY),
              IsOk());
  EXPECT_THAT(ValidateUpdate(CompleteLocate(), Kind::DEBTOR_LOCATE), IsOk());
  EXPECT_THAT(ValidateUpdate(UpdateFor([](Update* u) {
                               u->mutable_complete()->mutable_result()->mutable_assets();
                             }),
                             Kind::ASSET_QUERY),
              IsOk());
  EXPECT_THAT(ValidateUpdate(UpdateFor([](Update* u) {
                               u->mutable_complete()->mutable_result()->mutable_seizure();
                             }),
                             Kind::VEHICLE_SEIZURE),
              IsOk());
  EXPECT_THAT(ValidateUpdate(UpdateFor([](Update* u) {
                               u->mutable_return_()->set_reason(weituo::v1::NOT_IN_JURISDICTION);
                             }),
                             Kind::DEBTOR_LOCATE),
              IsOk());
  EXPECT_THAT(
      ValidateUpdate(UpdateFor([](Update* u) { u->mutable_withdraw(); }), Kind::DEBTOR_LOCATE),
      IsOk());
  EXPECT_THAT(ValidateUpdate(UpdateFor([](Update* u) {
                               u->mutable_request_info()->set_text("the ruling, please");
                             }),
                             Kind::DEBTOR_LOCATE),
              IsOk());
  EXPECT_THAT(
      ValidateUpdate(UpdateFor([](Update* u) { u->mutable_supply_info(); }), Kind::DEBTOR_LOCATE),
      IsOk());
}

TEST(ValidateUpdateTest, CommissionIdMustBeAUlid) {
  Update u = AcceptUpdate();
  u.clear_commission_id();
  EXPECT_THAT(ValidateUpdate(u, Kind::DEBTOR_LOCATE),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("commission_id")));
  u.set_commission_id("not-a-ulid");
  EXPECT_THAT(ValidateUpdate(u, Kind::DEBTOR_LOCATE),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("commission_id")));
}

TEST(ValidateUpdateTest, AnUpdateNeedsAnAction) {
  Update u;
  u.set_commission_id(kId);
  EXPECT_THAT(ValidateUpdate(u, Kind::DEBTOR_LOCATE),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("needs one action")));
}

TEST(ValidateUpdateTest, AcceptNeedsAHandlerAndADate) {
  EXPECT_THAT(
      ValidateUpdate(UpdateFor([](Update* u) { u->mutable_accept(); }), Kind::DEBTOR_LOCATE),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("accept.handler")));
  Update long_handler = AcceptUpdate();
  long_handler.mutable_accept()->set_handler(kTooLong);
  EXPECT_THAT(ValidateUpdate(long_handler, Kind::DEBTOR_LOCATE),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("accept.handler")));
  Update bad_date = AcceptUpdate();
  bad_date.mutable_accept()->set_expected_date("next week");
  EXPECT_THAT(ValidateUpdate(bad_date, Kind::DEBTOR_LOCATE),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("accept.expected_date")));
}

TEST(ValidateUpdateTest, ProgressNeedsTextAndAPartialOfTheRightKind) {
  EXPECT_THAT(
      ValidateUpdate(UpdateFor([](Update* u) { u->mutable_progress(); }), Kind::DEBTOR_LOCATE),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("progress.text")));
  Update mismatch = UpdateFor([](Update* u) {
    u->mutable_progress()->set_text("found a car");
    u->mutable_progress()->mutable_partial()->mutable_seizure();
  });
  EXPECT_THAT(ValidateUpdate(mismatch, Kind::ASSET_QUERY),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("progress.partial")));
  EXPECT_THAT(ValidateUpdate(mismatch, Kind::VEHICLE_SEIZURE), IsOk());
}

TEST(ValidateUpdateTest, CompleteNeedsAResult) {
  EXPECT_THAT(
      ValidateUpdate(UpdateFor([](Update* u) { u->mutable_complete(); }), Kind::DEBTOR_LOCATE),
      StatusIs(StatusCode::kInvalidArgument, "complete.result is required"));
  EXPECT_THAT(ValidateUpdate(UpdateFor([](Update* u) { u->mutable_complete()->mutable_result(); }),
                             Kind::DEBTOR_LOCATE),
              StatusIs(StatusCode::kInvalidArgument, "complete.result is required"));
}

TEST(ValidateUpdateTest, CompleteResultMustMatchTheKind) {
  EXPECT_THAT(ValidateUpdate(CompleteLocate(), Kind::ASSET_QUERY),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("complete.result"), HasSubstr("ASSET_QUERY"))));
  EXPECT_THAT(ValidateUpdate(CompleteLocate(), Kind::VEHICLE_SEIZURE),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("complete.result"), HasSubstr("VEHICLE_SEIZURE"))));
  Update assets =
      UpdateFor([](Update* u) { u->mutable_complete()->mutable_result()->mutable_assets(); });
  EXPECT_THAT(ValidateUpdate(assets, Kind::DEBTOR_LOCATE),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("complete.result"), HasSubstr("DEBTOR_LOCATE"))));
  EXPECT_THAT(ValidateUpdate(assets, Kind::KIND_UNSPECIFIED),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("complete.result")));
}

TEST(ValidateUpdateTest, ReturnNeedsAReason) {
  EXPECT_THAT(
      ValidateUpdate(UpdateFor([](Update* u) { u->mutable_return_()->set_text("not ours"); }),
                     Kind::DEBTOR_LOCATE),
      StatusIs(StatusCode::kInvalidArgument, "return.reason is required"));
  EXPECT_THAT(ValidateUpdate(UpdateFor([](Update* u) {
                               u->mutable_return_()->set_reason(weituo::v1::DUPLICATE);
                               u->mutable_return_()->set_text(kTooLong);
                             }),
                             Kind::DEBTOR_LOCATE),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("return.text")));
}

TEST(ValidateUpdateTest, TextLimitsOfTheOtherActions) {
  EXPECT_THAT(
      ValidateUpdate(UpdateFor([](Update* u) { u->mutable_withdraw()->set_reason(kTooLong); }),
                     Kind::DEBTOR_LOCATE),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("withdraw.reason")));
  EXPECT_THAT(
      ValidateUpdate(UpdateFor([](Update* u) { u->mutable_request_info(); }), Kind::DEBTOR_LOCATE),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("request_info.text")));
  EXPECT_THAT(
      ValidateUpdate(UpdateFor([](Update* u) { u->mutable_request_info()->set_text(kTooLong); }),
                     Kind::DEBTOR_LOCATE),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("request_info.text")));
  EXPECT_THAT(
      ValidateUpdate(UpdateFor([](Update* u) { u->mutable_supply_info()->set_text(kTooLong); }),
                     Kind::DEBTOR_LOCATE),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("supply_info.text")));
}

}  // namespace
}  // namespace weituo
