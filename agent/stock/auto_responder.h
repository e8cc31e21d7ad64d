// A demonstration responder for the stock agent: it accepts every commission
// it receives in the name of a configured handler, reports progress and
// completes it with a result of the right kind, made from the commission's
// own data. For the quick start and for tests; a court's real system answers
// through the SDK or the command line instead.
//
// Request ids are derived from the commission id, so a responder that runs
// again after a crash sends nothing twice in effect.
#pragma once

#include <string>

#include "weituo/agent/agent.h"

namespace weituo::agent {

// Registers the responder as `agent`'s handler for every kind.
void InstallAutoResponder(Agent& agent, std::string handler_name);

// The result the responder reports for `commission` at `now_ms`.
weituo::v1::Result DemoResult(const weituo::v1::Commission& commission, int64_t now_ms);

}  // namespace weituo::agent
