// The operator's dashboard: one self-contained HTML page served at /, which
// reads the JSON API (/api/status, /api/commissions, /api/stats) with a
// token (asked for once, or given as #token=TOKEN in the address, kept for
// the tab) and refreshes itself.
#pragma once

#include <string_view>

namespace weituo::broker {

std::string_view DashboardHtml();

}  // namespace weituo::broker
