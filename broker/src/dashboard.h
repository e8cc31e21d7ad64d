// The operator's dashboard: one self-contained HTML page served at /, which
// reads the JSON API (/api/status, /api/commissions, /api/stats) and
// refreshes itself; with witnesses configured it asks for a token.
#pragma once

#include <string_view>

namespace weituo::broker {

std::string_view DashboardHtml();

}  // namespace weituo::broker
