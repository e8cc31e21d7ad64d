// An integrator's first agent: a court whose case system answers asset
// queries by itself, and which sends one commission of its own and prints
// its trail as the acknowledgements come back.
//
//   answering_court BROKER_ENDPOINT DATA_DIR ORIGIN_COURT TARGET_COURT
//
// Run it for two courts against one broker, e.g. in two shells:
//   answering_court tcp://127.0.0.1:5555 /tmp/dexing dexing wuyuan
//   answering_court tcp://127.0.0.1:5555 /tmp/wuyuan wuyuan dexing
#include <chrono>
#include <cstdio>
#include <thread>

#include "weituo/agent/agent.h"
#include "weituo/common/clock.h"

using weituo::agent::Agent;
using weituo::v1::Commission;
using weituo::v1::Event;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s BROKER_ENDPOINT DATA_DIR ORIGIN_COURT TARGET_COURT\n", argv[0]);
    return 2;
  }
  weituo::agent::AgentOptions options;
  options.broker_endpoint = argv[1];
  options.data_dir = argv[2];
  options.court_id = argv[3];
  auto opened = Agent::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
    return 1;
  }
  Agent& agent = **opened;

  // Inbound: accept and answer every asset query from our own registers.
  // Request ids derived from the commission id make a re-run after a crash
  // harmless: the broker answers a repeated request with its first receipt.
  agent.OnCommission(weituo::v1::ASSET_QUERY, [](Agent& a, const Commission& c) {
    weituo::v1::Update accept;
    accept.set_commission_id(c.id());
    accept.mutable_accept()->set_handler("asset desk");
    (void)a.SendUpdate(accept, c.id() + ".accept");

    weituo::v1::Update complete;
    complete.set_commission_id(c.id());
    auto* found = complete.mutable_complete()->mutable_result()->mutable_assets()->add_assets();
    found->set_asset_class(weituo::v1::DEPOSITS);
    found->set_institution("county rural credit cooperative");
    found->set_value_fen(1234500);
    (void)a.SendUpdate(complete, c.id() + ".complete");
  });

  // Outbound: every acknowledgement of what we sent, as it arrives.
  agent.OnEvent([](Agent&, const Event& e) {
    std::printf("%s  #%llu %s -> %s\n", weituo::FormatTimeMs(e.at_ms()).c_str(),
                static_cast<unsigned long long>(e.seq()),
                weituo::v1::EventType_Name(e.type()).c_str(),
                weituo::v1::State_Name(e.state()).c_str());
    std::fflush(stdout);
  });

  if (weituo::Status s = agent.Start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }

  Commission query;
  query.set_case_number("（2026）示例1号");
  query.set_target_court(argv[4]);
  query.mutable_debtor()->set_name("示例债务人");
  query.mutable_asset_query()->add_classes(weituo::v1::DEPOSITS);
  auto id = agent.Submit(query);
  if (!id.ok()) {
    std::fprintf(stderr, "%s\n", id.status().ToString().c_str());
    return 1;
  }
  std::printf("submitted %s to %s\n", id->c_str(), argv[4]);

  // Wait for the result (or give up after a minute), answering meanwhile.
  for (int i = 0; i < 600; ++i) {
    auto view = agent.Show(*id);
    if (view.ok() && view->record().state() == weituo::v1::COMPLETED) {
      std::printf("completed: %s\n", view->events(view->events_size() - 1)
                                         .update()
                                         .complete()
                                         .result()
                                         .ShortDebugString()
                                         .c_str());
      std::this_thread::sleep_for(std::chrono::seconds(2));  // let the peer finish too
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::fprintf(stderr, "no result within a minute\n");
  return 1;
}
