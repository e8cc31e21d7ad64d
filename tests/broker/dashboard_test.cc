#include "dashboard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "weituo/common/small_file.h"

namespace weituo::broker {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A file of broker/web/ as it is on disk.
std::string WebFile(const std::string& name) {
  auto file = ReadSmallFile(std::string(WEITUO_DASHBOARD_SOURCES) + "/" + name, "dashboard source",
                            kMaxConfigFileBytes);
  EXPECT_TRUE(file.ok()) << file.status().message();
  return file.ok() ? file->text : "";
}

// `text` with its one `line` replaced by `element`.
std::string ReplaceOnce(std::string text, const std::string& line, const std::string& element) {
  const size_t at = text.find(line);
  EXPECT_NE(at, std::string::npos) << line;
  EXPECT_EQ(text.find(line, at + 1), std::string::npos) << line;
  return at == std::string::npos ? text : text.replace(at, line.size(), element);
}

TEST(DashboardHtmlTest, IsThePageOnDiskWithItsStylesheetAndScriptInline) {
  std::string page = WebFile("dashboard.html");
  page = ReplaceOnce(page, "<link rel=\"stylesheet\" href=\"dashboard.css\">",
                     "<style>\n" + WebFile("dashboard.css") + "</style>");
  page = ReplaceOnce(page, "<script src=\"dashboard.js\"></script>",
                     "<script>\n" + WebFile("dashboard.js") + "</script>");
  EXPECT_EQ(DashboardHtml(), page);
}

TEST(DashboardHtmlTest, LoadsNothingFromElsewhere) {
  const std::string page(DashboardHtml());
  EXPECT_THAT(page, Not(HasSubstr("<link")));
  EXPECT_THAT(page, Not(HasSubstr(" src=")));
  EXPECT_THAT(page, Not(HasSubstr("@import")));
  EXPECT_THAT(page, Not(HasSubstr("url(")));
  EXPECT_THAT(page, Not(HasSubstr("http://")));
  EXPECT_THAT(page, Not(HasSubstr("https://")));
}

}  // namespace
}  // namespace weituo::broker
