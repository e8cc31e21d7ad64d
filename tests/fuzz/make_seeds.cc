// Writes the seed corpus of the fuzz targets into <corpus>/envelope and
// <corpus>/lifecycle, one small file per seed, the same bytes every run:
//   build-fuzz/tests/fuzz/make_seeds tests/fuzz/corpus
// Envelope seeds are valid frames of each kind an agent sends (and one cut
// short); lifecycle seeds are walks through the main paths.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "lifecycle_steps.h"
#include "weituo/common/lifecycle.h"
#include "weituo/common/validation.h"
#include "weituo/common/wire.h"

namespace weituo::fuzz {
namespace {

using weituo::v1::Commission;
using weituo::v1::Envelope;
using weituo::v1::Update;

constexpr char kLocateId[] = "01KJ8Z3M4N5P6Q7R8S9T0V1W2X";
constexpr char kAssetId[] = "01KJ8Z4A1B2C3D4E5F6G7H8J9K";
constexpr char kSeizureId[] = "01KJ8Z5Q2R3S4T5V6W7X8Y9Z0A";
constexpr char kRequestId[] = "01KJA0B1C2D3E4F5G6H7J8K9M0";

// Chun'an asks whoever serves the debtor's residence to find him
// (deploy/stories/chunan-locate-kaihua.json): routed by region code.
Commission LocateCommission() {
  Commission c;
  c.set_id(kLocateId);
  c.set_case_number("（2026）浙0127执1234号");
  c.set_origin_court("chunan");
  c.set_origin_handler("淳安县人民法院 执行局 王法官");
  c.set_origin_contact("0571-6501 2345");
  c.set_created_at_ms(1795000000000);
  c.set_not_after("2027-03-31");
  auto* d = c.mutable_debtor();
  d->set_name("徐某");
  d->set_id_number("330824198805061234");
  d->set_region_code("330824");
  d->add_addresses("开化县华埠镇华民村 12 号");
  d->add_phones("138 0000 1234");
  c.mutable_debtor_locate()->set_notes(
      "Debtor left Chun'an in 2025; registered residence is in Kaihua.");
  return c;
}

// Wuyuan asks Xiuning what the debtor owns there.
Commission AssetCommission() {
  Commission c;
  c.set_id(kAssetId);
  c.set_case_number("（2026）赣1130执88号");
  c.set_origin_court("wuyuan");
  c.set_target_court("xiuning");
  c.set_origin_handler("婺源县人民法院 执行局 汪法官");
  c.set_origin_contact("0793-7345 678");
  c.set_created_at_ms(1795100000000);
  c.set_campaign("365-2026");
  auto* d = c.mutable_debtor();
  d->set_name("胡某");
  d->set_id_number("341022198511203456");
  d->set_region_code("341022");
  d->add_addresses("休宁县海阳镇");
  auto* a = c.add_attachments();
  a->set_name("委托执行函.pdf");
  a->set_media_type("application/pdf");
  a->set_size_bytes(96512);
  a->set_sha256("3b8f0c2d4e6a1f7b9c5d8e0a2b4c6d8e1f3a5b7c9d0e2f4a6b8c0d1e3f5a7b9c");
  auto* q = c.mutable_asset_query();
  q->add_classes(weituo::v1::DEPOSITS);
  q->add_classes(weituo::v1::REAL_ESTATE);
  q->add_classes(weituo::v1::VEHICLES);
  return c;
}

// Kaihua asks Shexian to seize a car (deploy/stories/kaihua-seize-shexian.json).
Commission SeizureCommission() {
  Commission c;
  c.set_id(kSeizureId);
  c.set_case_number("（2026）浙0824执567号");
  c.set_origin_court("kaihua");
  c.set_target_court("shexian");
  c.set_origin_handler("开化县人民法院 执行局 刘法官");
  c.set_origin_contact("0570-6012 3456");
  c.set_created_at_ms(1795200000000);
  c.set_urgency(weituo::v1::URGENCY_URGENT);
  auto* d = c.mutable_debtor();
  d->set_name("程某");
  d->set_id_number("341021199002021234");
  d->set_region_code("341021");
  d->add_addresses("歙县徽城镇");
  auto* a = c.add_attachments();
  a->set_name("ruling-2026-zhe0824-zhi567.pdf");
  a->set_media_type("application/pdf");
  a->set_size_bytes(183204);
  a->set_sha256("9f2c4a1e5b7d8c3f6a0e1d2b4c5a6f7e8d9c0b1a2f3e4d5c6b7a8f9e0d1c2b3a");
  auto* v = c.mutable_vehicle_seizure();
  v->set_plate("皖J·5X321");
  v->set_vin("LSVAU2180N2123456");
  v->set_ruling_reference("（2026）浙0824执567号之一 执行裁定书");
  v->set_assistance_notice_reference("（2026）浙0824执567号 协助执行通知书");
  return c;
}

Envelope Submit(Commission commission) {
  Envelope env;
  *env.mutable_submit()->mutable_commission() = std::move(commission);
  return env;
}

// A send_update about the locate commission; `fill` sets its action.
template <typename Fill>
Envelope SendUpdate(Fill fill) {
  Envelope env;
  env.mutable_send_update()->set_request_id(kRequestId);
  Update* u = env.mutable_send_update()->mutable_update();
  u->set_commission_id(kLocateId);
  fill(u);
  return env;
}

std::vector<std::pair<std::string, std::string>> EnvelopeSeeds() {
  std::vector<std::pair<std::string, Envelope>> envelopes;
  Envelope hello;
  hello.mutable_hello()->set_court_id("kaihua");
  hello.mutable_hello()->set_agent_version("0.1.0");
  envelopes.emplace_back("hello", hello);
  Envelope heartbeat;
  heartbeat.mutable_heartbeat()->set_at_ms(1795600800000);
  envelopes.emplace_back("heartbeat", heartbeat);
  envelopes.emplace_back("submit-debtor-locate", Submit(LocateCommission()));
  envelopes.emplace_back("submit-asset-query", Submit(AssetCommission()));
  envelopes.emplace_back("submit-vehicle-seizure", Submit(SeizureCommission()));
  // One asset class over kMaxListItems: a regression seed, since the list
  // limit of envelope_fuzz showed that asset_query.classes had none.
  Commission too_many_classes = AssetCommission();
  while (static_cast<size_t>(too_many_classes.asset_query().classes_size()) <= kMaxListItems) {
    too_many_classes.mutable_asset_query()->add_classes(weituo::v1::OTHER_ASSETS);
  }
  envelopes.emplace_back("submit-asset-query-too-many-classes", Submit(too_many_classes));
  Envelope ack;
  for (uint64_t id : {17, 18, 21}) ack.mutable_ack()->add_delivery_ids(id);
  envelopes.emplace_back("ack", ack);
  envelopes.emplace_back("update-accept", SendUpdate([](Update* u) {
                           u->mutable_accept()->set_handler("开化县人民法院 执行局 李法官");
                           u->mutable_accept()->set_expected_date("2026-12-15");
                         }));
  envelopes.emplace_back("update-progress", SendUpdate([](Update* u) {
                           u->mutable_progress()->set_text(
                               "Visited the registered address; the debtor works at the Huabu "
                               "market.");
                         }));
  envelopes.emplace_back(
      "update-complete", SendUpdate([](Update* u) {
        auto* r = u->mutable_complete()->mutable_result()->mutable_locate();
        r->set_found_at_place("开化县华埠镇 农贸市场");
        r->set_found_at_ms(1795600800000);
        r->add_measures(weituo::v1::SUMMONED);
        r->add_measures(weituo::v1::PAID);
        r->add_measures(weituo::v1::SETTLED);
        r->set_amount_paid_fen(2000000);
        r->set_notes("Summoned; paid 20,000 yuan and settled with the creditor.");
      }));
  envelopes.emplace_back(
      "update-return", SendUpdate([](Update* u) {
        u->mutable_return_()->set_reason(weituo::v1::NOT_IN_JURISDICTION);
        u->mutable_return_()->set_text("The debtor's residence is in Changshan.");
      }));
  envelopes.emplace_back("update-withdraw", SendUpdate([](Update* u) {
                           u->mutable_withdraw()->set_reason("Paid in full at the origin court.");
                         }));
  envelopes.emplace_back("update-request-info", SendUpdate([](Update* u) {
                           u->mutable_request_info()->set_text("Send the enforcement ruling.");
                         }));
  envelopes.emplace_back("update-supply-info", SendUpdate([](Update* u) {
                           u->mutable_supply_info()->set_text("The ruling is attached.");
                         }));
  envelopes.emplace_back("update-forward", SendUpdate([](Update* u) {
                           u->mutable_forward()->set_to_court("shexian");
                           u->mutable_forward()->set_text("The debtor moved to Shexian.");
                         }));

  std::vector<std::pair<std::string, std::string>> seeds;
  for (auto& [name, envelope] : envelopes) seeds.emplace_back(name, SerializeEnvelope(envelope));
  // Cut short in the middle of the commission: the parser must refuse it.
  Envelope locate = Submit(LocateCommission());
  const std::string frame = SerializeEnvelope(locate);
  seeds.emplace_back("malformed-cut-short", frame.substr(0, frame.size() / 2));
  return seeds;
}

std::vector<std::pair<std::string, std::string>> LifecycleSeeds() {
  using Step = std::pair<Action, Role>;
  const std::vector<std::pair<std::string, std::vector<Step>>> walks = {
      {"complete",
       {{Action::kDeliver, Role::kBroker},
        {Action::kAccept, Role::kTarget},
        {Action::kProgress, Role::kTarget},
        {Action::kComplete, Role::kTarget}}},
      {"needs-info-then-complete",
       {{Action::kDeliver, Role::kBroker},
        {Action::kAccept, Role::kTarget},
        {Action::kRequestInfo, Role::kTarget},
        {Action::kSupplyInfo, Role::kOrigin},
        {Action::kProgress, Role::kTarget},
        {Action::kComplete, Role::kTarget},
        {Action::kDeliver, Role::kBroker}}},
      {"return-after-delivery",
       {{Action::kDeliver, Role::kBroker}, {Action::kReturn, Role::kTarget}}},
      {"withdraw-in-progress",
       {{Action::kDeliver, Role::kBroker},
        {Action::kAccept, Role::kTarget},
        {Action::kProgress, Role::kTarget},
        {Action::kWithdraw, Role::kOrigin}}},
      {"deemed-withdrawn",
       {{Action::kDeliver, Role::kBroker},
        {Action::kAccept, Role::kTarget},
        {Action::kRequestInfo, Role::kTarget},
        {Action::kDeemWithdrawn, Role::kBroker}}},
      {"forward", {{Action::kDeliver, Role::kBroker}, {Action::kForward, Role::kTarget}}},
      {"expire", {{Action::kExpire, Role::kBroker}}},
      {"wrong-roles",
       {{Action::kAccept, Role::kOrigin},
        {Action::kWithdraw, Role::kTarget},
        {Action::kDeliver, Role::kTarget},
        {Action::kDeliver, Role::kBroker}}},
  };
  std::vector<std::pair<std::string, std::string>> seeds;
  for (const auto& [name, steps] : walks) {
    std::string bytes;
    for (const auto& [action, role] : steps)
      bytes.push_back(static_cast<char>(EncodeStep(action, role)));
    seeds.emplace_back(name, bytes);
  }
  return seeds;
}

bool WriteAll(const std::filesystem::path& dir,
              const std::vector<std::pair<std::string, std::string>>& seeds) {
  std::filesystem::create_directories(dir);
  for (const auto& [name, bytes] : seeds) {
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::fprintf(stderr, "make_seeds: cannot write %s\n", (dir / name).c_str());
      return false;
    }
  }
  return true;
}

}  // namespace
}  // namespace weituo::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (e.g. tests/fuzz/corpus)\n", argv[0]);
    return 2;
  }
  const std::filesystem::path corpus = argv[1];
  const bool ok = weituo::fuzz::WriteAll(corpus / "envelope", weituo::fuzz::EnvelopeSeeds()) &&
                  weituo::fuzz::WriteAll(corpus / "lifecycle", weituo::fuzz::LifecycleSeeds());
  return ok ? 0 : 1;
}
