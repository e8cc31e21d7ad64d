// The operator's dashboard: one self-contained HTML page served at /, which
// reads the JSON API (/api/status, /api/commissions) and refreshes itself.
#pragma once

#include <string_view>

namespace weituo::broker {

std::string_view DashboardHtml();

}  // namespace weituo::broker
