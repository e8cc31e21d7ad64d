// The operator's dashboard: one self-contained HTML page served at /, which
// reads the JSON API (/api/status, /api/commissions, /api/stats) with a
// token (asked for once, or given as #token=TOKEN in the address, kept for
// the tab) and refreshes itself. Its sources are broker/web/dashboard.html,
// .css and .js; the build inlines the stylesheet and the script into the
// page (broker/web/embed_dashboard.cmake), so the page loads nothing else.
#pragma once

#include <string_view>

namespace weituo::broker {

// The page, UTF-8; the same bytes for the life of the process.
std::string_view DashboardHtml();

}  // namespace weituo::broker
