#include "cli_print.h"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "handler_output.h"
#include "weituo/common/clock.h"
#include "weituo/common/deadlines.h"
#include "weituo/common/json.h"

namespace weituo::agent {

std::string EventLine(const weituo::v1::Event& e) {
  std::ostringstream out;
  out << "#" << e.seq() << "  " << weituo::FormatTimeMs(e.at_ms()) << "  " << std::left
      << std::setw(17) << weituo::v1::EventType_Name(e.type()).substr(3) << " "
      << (e.actor_court().empty() ? "broker" : e.actor_court());
  const auto& u = e.update();
  switch (u.action_case()) {
    case weituo::v1::Update::kAccept:
      out << "  handler " << u.accept().handler();
      if (!u.accept().expected_date().empty()) out << ", expected " << u.accept().expected_date();
      break;
    case weituo::v1::Update::kProgress:
      out << "  " << u.progress().text();
      break;
    case weituo::v1::Update::kComplete:
      out << "  result " << ToJson(u.complete().result());
      break;
    case weituo::v1::Update::kReturn:
      out << "  " << weituo::v1::ReturnReason_Name(u.return_().reason()) << ": "
          << u.return_().text();
      break;
    case weituo::v1::Update::kWithdraw:
      out << "  " << u.withdraw().reason();
      break;
    case weituo::v1::Update::kForward:
      out << "  to " << u.forward().to_court() << " as " << e.child_commission_id();
      if (!u.forward().text().empty()) out << ": " << u.forward().text();
      break;
    case weituo::v1::Update::kRequestInfo:
      out << "  " << u.request_info().text();
      break;
    case weituo::v1::Update::kSupplyInfo:
      out << "  " << u.supply_info().text();
      break;
    default:
      break;
  }
  if (e.has_deadline()) {
    const auto& d = e.deadline();
    out << "  " << weituo::StageName(d.stage());
    if (d.round() > 1) out << " #" << d.round();
    if (d.due_at_ms() > 0) out << ", due " << weituo::FormatTimeMs(d.due_at_ms());
    if (!d.supervisor().empty()) out << ", escalated to " << d.supervisor();
  }
  return out.str();
}

std::string HandlerLine(const weituo::v1::HandlerStatus& h, const std::string& indent,
                        int output_lines) {
  std::ostringstream out;
  out << "handler " << h.handler() << ": " << weituo::v1::HandlerState_Name(h.state()).substr(8);
  if (h.attempts() > 0)
    out << " (" << h.attempts() << (h.attempts() == 1 ? " call" : " calls") << ")";
  if (h.state() == weituo::v1::HANDLER_RETRYING && h.next_attempt_at_ms() > 0) {
    out << ", next call " << weituo::FormatTimeMs(h.next_attempt_at_ms());
  }
  if (!h.last_error().empty()) out << ", last error: " << h.last_error();
  // Stored escaped (handler_output.h): safe to print as they are.
  for (int i = std::max(0, h.last_output_size() - output_lines); i < h.last_output_size(); ++i) {
    out << "\n" << indent << "| " << h.last_output(i);
  }
  return out.str();
}

void PrintView(const weituo::v1::CommissionView& v) {
  const auto& r = v.record();
  const auto& c = r.commission();
  std::cout << "commission " << c.id() << "  " << c.case_number() << "\n"
            << "  " << c.origin_court() << " -> "
            << (c.target_court().empty() ? "?" : c.target_court()) << "  state "
            << weituo::v1::State_Name(r.state()) << (r.is_origin() ? "  (sent)" : "  (received)")
            << "\n";
  if (c.has_debtor()) {
    std::cout << "  debtor " << c.debtor().name() << "  region " << c.debtor().region_code()
              << "\n";
  }
  if (r.has_error()) {
    std::cout << "  refused by the broker: " << weituo::v1::ErrorCode_Name(r.error().code()) << ": "
              << r.error().message() << "\n";
  } else if (r.is_origin() && !r.receipted() && v.has_waiting()) {
    std::cout << "  queued: the broker refused it for now, "
              << weituo::v1::ErrorCode_Name(v.waiting().code()) << ": " << v.waiting().message()
              << " (resent until it is stored)\n";
  } else if (r.is_origin() && !r.receipted()) {
    std::cout << "  queued: waiting for the broker's receipt\n";
  }
  if (v.has_handler()) {
    std::cout << "  " << HandlerLine(v.handler(), "    ", static_cast<int>(kMaxOutputLines))
              << "\n";
  }
  for (const auto& e : v.events()) std::cout << "  " << EventLine(e) << "\n";
}

}  // namespace weituo::agent
