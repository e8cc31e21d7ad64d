// How the court's command line (weituo-agent show, inbox, list and the
// updates' answers) prints what its agent reports: one line per event, one
// per handler status with the handler's last output lines below it.
//
// Threading: pure functions; safe from any thread.
#pragma once

#include <string>

#include "weituo/v1/control.pb.h"

namespace weituo::agent {

// "#3  2026-11-28 15:40:02.117  ACCEPTED          wuyuan  handler 赵六"
std::string EventLine(const weituo::v1::Event& e);

// "handler NAME: RETRYING (3 calls), next call ..., last error: exit status 1",
// then the handler's last `output_lines` lines of output, each on a line of
// its own after `indent` and "| ".
std::string HandlerLine(const weituo::v1::HandlerStatus& h, const std::string& indent,
                        int output_lines);

// A commission, its handler status and its trail, for `weituo-agent show`.
void PrintView(const weituo::v1::CommissionView& v);

}  // namespace weituo::agent
