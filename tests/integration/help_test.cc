// `weituo-broker --help` and `weituo-agent run --help` list every setting of
// their tables (broker/src/broker_config.cc, agent/stock/agent_config.cc) with
// its default. The keys are read from the tables' source, so a setting added
// there and left out of --help, or shown without a default, fails here.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "harness.h"

namespace weituo::testing {
namespace {

// The keys a settings table registers: s.String("key", ...), s.Int(...), ...
std::vector<std::string> KeysOf(const std::string& source, const std::string& function) {
  std::string text = ReadFile(SourceDir() + "/" + source);
  size_t start = text.find("void " + function + "(");
  EXPECT_NE(start, std::string::npos) << function << " in " << source;
  size_t end = text.find("\n}\n", start);
  std::string body = text.substr(start, end - start);
  static const std::regex kSetting(
      R"re(s\.(String|Int|Number|Bool|Choice|StringArray|StringOrArray)\(\s*"([a-z_.]+)")re");
  std::vector<std::string> keys;
  for (std::sregex_iterator it(body.begin(), body.end(), kSetting), last; it != last; ++it) {
    keys.push_back((*it)[2]);
  }
  return keys;
}

// The part of `help` that describes `name` (a flag or a key), from its line
// up to the next entry's; empty if it is not there.
std::string EntryOf(const std::string& help, const std::string& name) {
  std::istringstream lines(help);
  std::string entry;
  bool in = false;
  for (std::string line; std::getline(lines, line);) {
    std::string trimmed = line.substr(std::min(line.find_first_not_of(' '), line.size()));
    const bool starts_entry =
        line.rfind("  ", 0) == 0 && !trimmed.empty() && line.size() - trimmed.size() <= 2;
    if (starts_entry) {
      if (in) break;
      // "--endpoint TEXT=...", "-c,--config TEXT", "court_id   string ...".
      std::string names = trimmed.substr(0, trimmed.find_first_of(" ="));
      std::istringstream each(names);
      for (std::string one; std::getline(each, one, ',');) in = in || one == name;
    }
    if (in) entry += line + "\n";
  }
  return entry;
}

bool SaysItsDefault(const std::string& entry) {
  return entry.find("default") != std::string::npos ||
         entry.find("required") != std::string::npos ||
         std::regex_search(entry, std::regex(R"(^  --[a-z-]+ [A-Z]+=\S)"));
}

TEST(HelpTest, TheBrokersHelpListsEverySettingWithItsDefault) {
  CommandResult help = RunCommand({BrokerBin(), "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.out;
  std::vector<std::string> keys = KeysOf("broker/src/broker_config.cc", "Register");
  ASSERT_GE(keys.size(), 30u) << "the table was not found";
  std::vector<std::string> flags = {"--config", "--accept-data-loss", "--test-clock"};
  for (std::string key : keys) {
    for (char& c : key) c = c == '_' ? '-' : c;
    flags.push_back("--" + key);
  }
  for (const std::string& flag : flags) {
    std::string entry = EntryOf(help.out, flag);
    EXPECT_FALSE(entry.empty()) << flag << " is not in --help:\n" << help.out;
    EXPECT_TRUE(entry.empty() || SaysItsDefault(entry)) << flag << " shows no default:\n" << entry;
  }
}

TEST(HelpTest, TheAgentsRunHelpListsEveryKeyWithItsDefault) {
  CommandResult help = RunCommand({AgentBin(), "run", "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.out;
  std::vector<std::string> keys = KeysOf("agent/stock/agent_config.cc", "Register");
  ASSERT_GE(keys.size(), 15u) << "the table was not found";
  for (const std::string& key : KeysOf("agent/stock/agent_config.cc", "RegisterHandler")) {
    keys.push_back("handlers.KIND." + key);
  }
  for (const std::string& key : keys) {
    std::string entry = EntryOf(help.out, key);
    EXPECT_FALSE(entry.empty()) << key << " is not in run --help:\n" << help.out;
    EXPECT_TRUE(entry.empty() || SaysItsDefault(entry)) << key << " shows no default:\n" << entry;
  }
  for (const std::string& flag : {"--config", "--accept-data-loss"}) {
    EXPECT_FALSE(EntryOf(help.out, flag).empty()) << flag << ":\n" << help.out;
  }
}

}  // namespace
}  // namespace weituo::testing
