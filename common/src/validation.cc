#include "weituo/common/validation.h"

#include <string>

#include "weituo/common/clock.h"
#include "weituo/common/ids.h"
#include "weituo/common/wire.h"

namespace weituo {

using weituo::v1::Commission;
using weituo::v1::Kind;
using weituo::v1::Result;
using weituo::v1::Update;

namespace {

Status CheckText(const std::string& value, const char* field) {
  if (value.size() > kMaxFieldBytes) {
    return Status::InvalidArgument(std::string(field) + " is longer than " +
                                   std::to_string(kMaxFieldBytes) + " bytes");
  }
  return Status::Ok();
}

Status CheckRequired(const std::string& value, const char* field) {
  if (value.empty()) return Status::InvalidArgument(std::string(field) + " is required");
  return CheckText(value, field);
}

template <typename List>
Status CheckList(const List& list, const char* field) {
  if (static_cast<size_t>(list.size()) > kMaxListItems) {
    return Status::InvalidArgument(std::string(field) + " has more than " +
                                   std::to_string(kMaxListItems) + " items");
  }
  for (const std::string& item : list) WEITUO_RETURN_IF_ERROR(CheckText(item, field));
  return Status::Ok();
}

bool IsHex64(const std::string& s) {
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
      return Kind::KIND_UNSPECIFIED;
  }
  return Kind::KIND_UNSPECIFIED;
}

}  // namespace

Kind KindOf(const Commission& c) {
  switch (c.payload_case()) {
    case Commission::kDebtorLocate:
      return Kind::DEBTOR_LOCATE;
    case Commission::kAssetQuery:
      return Kind::ASSET_QUERY;
    case Commission::kVehicleSeizure:
      return Kind::VEHICLE_SEIZURE;
    case Commission::PAYLOAD_NOT_SET:
      return Kind::KIND_UNSPECIFIED;
  }
  return Kind::KIND_UNSPECIFIED;
}

namespace {

Status CheckSize(const google::protobuf::Message& m, const char* what) {
  size_t size = m.ByteSizeLong();
  if (size > kMaxMessageBytes) {
    return Status::InvalidArgument(std::string(what) + " is " + std::to_string(size) +
                                   " bytes encoded, over the limit of " +
                                   std::to_string(kMaxMessageBytes));
  }
  return Status::Ok();
}

}  // namespace

Status ValidateCommission(const Commission& c) {
  if (!IsUlid(c.id())) return Status::InvalidArgument("id must be a ULID (26 characters)");
  WEITUO_RETURN_IF_ERROR(CheckSize(c, "the commission"));
  WEITUO_RETURN_IF_ERROR(CheckRequired(c.case_number(), "case_number"));
  WEITUO_RETURN_IF_ERROR(CheckRequired(c.origin_court(), "origin_court"));
  WEITUO_RETURN_IF_ERROR(CheckText(c.target_court(), "target_court"));
  WEITUO_RETURN_IF_ERROR(CheckText(c.origin_handler(), "origin_handler"));
  WEITUO_RETURN_IF_ERROR(CheckText(c.origin_contact(), "origin_contact"));
  WEITUO_RETURN_IF_ERROR(CheckText(c.campaign(), "campaign"));
  if (!c.parent_id().empty() || !c.forwarded_by().empty()) {
    return Status::InvalidArgument(
        "parent_id and forwarded_by are set by the broker when a commission is forwarded");
  }
  if (!c.not_after().empty() && !IsIsoDate(c.not_after())) {
    return Status::InvalidArgument("not_after must be YYYY-MM-DD");
  }
  if (!c.has_debtor()) return Status::InvalidArgument("debtor is required");
  const auto& d = c.debtor();
  WEITUO_RETURN_IF_ERROR(CheckRequired(d.name(), "debtor.name"));
  WEITUO_RETURN_IF_ERROR(CheckText(d.id_number(), "debtor.id_number"));
  if (!d.region_code().empty() && d.region_code().size() != 6) {
    return Status::InvalidArgument("debtor.region_code must have six digits");
  }
  for (char ch : d.region_code()) {
    if (ch < '0' || ch > '9') {
      return Status::InvalidArgument("debtor.region_code must have six digits");
    }
  }
  if (c.target_court().empty() && d.region_code().empty()) {
    return Status::InvalidArgument("target_court or debtor.region_code is required");
  }
  WEITUO_RETURN_IF_ERROR(CheckList(d.addresses(), "debtor.addresses"));
  WEITUO_RETURN_IF_ERROR(CheckList(d.phones(), "debtor.phones"));
  if (static_cast<size_t>(c.attachments_size()) > kMaxListItems) {
    return Status::InvalidArgument("attachments has more than " + std::to_string(kMaxListItems) +
                                   " items");
  }
  for (const auto& a : c.attachments()) {
    WEITUO_RETURN_IF_ERROR(CheckRequired(a.name(), "attachments.name"));
    WEITUO_RETURN_IF_ERROR(CheckText(a.media_type(), "attachments.media_type"));
    if (!IsHex64(a.sha256())) {
      return Status::InvalidArgument("attachments.sha256 must be 64 lower-case hex digits");
    }
  }
  switch (KindOf(c)) {
    case Kind::KIND_UNSPECIFIED:
      return Status::InvalidArgument(
          "payload is required: debtor_locate, asset_query or vehicle_seizure");
    case Kind::DEBTOR_LOCATE:
      WEITUO_RETURN_IF_ERROR(CheckText(c.debtor_locate().notes(), "debtor_locate.notes"));
      break;
    case Kind::ASSET_QUERY:
      if (c.asset_query().classes_size() == 0) {
        return Status::InvalidArgument("asset_query.classes is required");
      }
      if (static_cast<size_t>(c.asset_query().classes_size()) > kMaxListItems) {
        return Status::InvalidArgument("asset_query.classes has more than " +
                                       std::to_string(kMaxListItems) + " items");
      }
      break;
    case Kind::VEHICLE_SEIZURE:
      if (c.vehicle_seizure().plate().empty() && c.vehicle_seizure().vin().empty()) {
        return Status::InvalidArgument("vehicle_seizure.plate or vehicle_seizure.vin is required");
      }
      WEITUO_RETURN_IF_ERROR(CheckText(c.vehicle_seizure().plate(), "vehicle_seizure.plate"));
      WEITUO_RETURN_IF_ERROR(CheckText(c.vehicle_seizure().vin(), "vehicle_seizure.vin"));
      WEITUO_RETURN_IF_ERROR(
          CheckText(c.vehicle_seizure().ruling_reference(), "vehicle_seizure.ruling_reference"));
      WEITUO_RETURN_IF_ERROR(CheckText(c.vehicle_seizure().assistance_notice_reference(),
                                       "vehicle_seizure.assistance_notice_reference"));
      break;
    default:
      break;
  }
  return Status::Ok();
}

Status ValidateUpdate(const Update& u, Kind kind) {
  if (!IsUlid(u.commission_id())) {
    return Status::InvalidArgument("commission_id must be a ULID");
  }
  WEITUO_RETURN_IF_ERROR(CheckSize(u, "the update"));
  switch (u.action_case()) {
    case Update::ACTION_NOT_SET:
      return Status::InvalidArgument(
          "an update needs one action: accept, progress, complete, return, withdraw, "
          "request_info or supply_info");
    case Update::kAccept:
      WEITUO_RETURN_IF_ERROR(CheckRequired(u.accept().handler(), "accept.handler"));
      if (!u.accept().expected_date().empty() && !IsIsoDate(u.accept().expected_date())) {
        return Status::InvalidArgument("accept.expected_date must be YYYY-MM-DD");
      }
      break;
    case Update::kProgress:
      WEITUO_RETURN_IF_ERROR(CheckRequired(u.progress().text(), "progress.text"));
      if (u.progress().has_partial() && KindOfResult(u.progress().partial()) != kind) {
        return Status::InvalidArgument("progress.partial does not match the commission's kind");
      }
      break;
    case Update::kComplete:
      if (KindOfResult(u.complete().result()) == Kind::KIND_UNSPECIFIED) {
        return Status::InvalidArgument("complete.result is required");
      }
      if (KindOfResult(u.complete().result()) != kind) {
        return Status::InvalidArgument("complete.result does not match the commission's kind (" +
                                       weituo::v1::Kind_Name(kind) + ")");
      }
      break;
    case Update::kReturn:
      if (u.return_().reason() == weituo::v1::RETURN_REASON_UNSPECIFIED) {
        return Status::InvalidArgument("return.reason is required");
      }
      WEITUO_RETURN_IF_ERROR(CheckText(u.return_().text(), "return.text"));
      break;
    case Update::kWithdraw:
      WEITUO_RETURN_IF_ERROR(CheckText(u.withdraw().reason(), "withdraw.reason"));
      break;
    case Update::kRequestInfo:
      WEITUO_RETURN_IF_ERROR(CheckRequired(u.request_info().text(), "request_info.text"));
      break;
    case Update::kSupplyInfo:
      WEITUO_RETURN_IF_ERROR(CheckText(u.supply_info().text(), "supply_info.text"));
      break;
    case Update::kForward:
      if (!IsValidCourtId(u.forward().to_court())) {
        return Status::InvalidArgument("forward.to_court must name a court");
      }
      WEITUO_RETURN_IF_ERROR(CheckText(u.forward().text(), "forward.text"));
      break;
  }
  return Status::Ok();
}

}  // namespace weituo
