#include "auto_responder.h"

#include <spdlog/spdlog.h>

#include "weituo/common/clock.h"
#include "weituo/common/validation.h"

namespace weituo::agent {

using weituo::v1::Commission;
using weituo::v1::Result;
using weituo::v1::Update;

Result DemoResult(const Commission& c, int64_t now_ms) {
  Result result;
  switch (KindOf(c)) {
    case weituo::v1::DEBTOR_LOCATE: {
      auto* r = result.mutable_locate();
      r->set_found_at_place(c.debtor().addresses_size() ? c.debtor().addresses(0)
                                                        : "registered residence");
      r->set_found_at_ms(now_ms);
      r->add_measures(weituo::v1::SUMMONED);
      r->set_notes("located by the demo responder");
      break;
    }
    case weituo::v1::ASSET_QUERY: {
      auto* r = result.mutable_assets();
      for (int cls : c.asset_query().classes()) {
        auto* a = r->add_assets();
        a->set_asset_class(static_cast<weituo::v1::AssetClass>(cls));
        a->set_description("found by the demo responder");
        a->set_institution("local register");
      }
      break;
    }
    case weituo::v1::VEHICLE_SEIZURE: {
      auto* r = result.mutable_seizure();
      r->set_held_at("court vehicle yard");
      r->set_held_since_ms(now_ms);
      r->set_held_by("enforcement bureau");
      break;
    }
    default:
      break;
  }
  return result;
}

void InstallAutoResponder(Agent& agent, std::string handler_name) {
  agent.OnCommission(weituo::v1::KIND_UNSPECIFIED, [handler_name](Agent& a, const Commission& c) {
    const std::string& id = c.id();
    auto send = [&](Update u, const char* step) {
      u.set_commission_id(id);
      auto r = a.SendUpdate(std::move(u), id + "." + step);
      if (!r.ok()) {
        spdlog::warn("msg=\"auto responder could not queue\" commission={} step={} error=\"{}\"",
                     id, step, r.status().ToString());
      }
    };
    Update accept;
    accept.mutable_accept()->set_handler(handler_name);
    send(accept, "accept");
    Update progress;
    progress.mutable_progress()->set_text("under way");
    send(progress, "progress");
    Update complete;
    *complete.mutable_complete()->mutable_result() = DemoResult(c, NowMs());
    send(complete, "complete");
  });
}

}  // namespace weituo::agent
