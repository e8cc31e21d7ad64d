// weituoctl: the operator's command line for a Weituo zone.
//   keygen   makes a CURVE key pair for a court or the broker
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>

#include "weituo/common/curve.h"
#include "weituo/common/wire.h"

namespace {

int Keygen(const std::string& court, bool broker, const std::string& dir, bool force) {
  std::string name = broker ? "broker" : court;
  if (!broker && !weituo::IsValidCourtId(court)) {
    std::cerr << "weituoctl: '" << court << "' is not a court id (a-z, 0-9, '-')\n";
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::cerr << "weituoctl: cannot create " << dir << ": " << ec.message() << "\n";
    return 1;
  }
  auto keys = weituo::GenerateCurveKeyPair();
  if (!keys.ok()) {
    std::cerr << "weituoctl: " << keys.status().ToString() << "\n";
    return 1;
  }
  std::string base = (std::filesystem::path(dir) / name).string();
  std::map<std::string, std::string> metadata;
  metadata[broker ? "role" : "court"] = broker ? "broker" : court;
  if (weituo::Status s = weituo::WriteCertificate(base, *keys, metadata, force); !s.ok()) {
    std::cerr << "weituoctl: " << s.ToString() << "\n";
    return 1;
  }
  std::cout << "wrote " << base << ".key (public) and " << base << ".key_secret (secret, 0600)\n";
  if (broker) {
    std::cout << "broker public key: " << keys->public_key << "\n"
              << "give " << base << ".key to every agent (broker_public_key_file)\n";
  } else {
    std::cout << "add to court '" << court << "' in the broker's directory, then SIGHUP it:\n"
              << "curve_keys = [\"" << keys->public_key << "\"]\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weituoctl: operate a Weituo zone"};
  app.require_subcommand(1);

  CLI::App* keygen = app.add_subcommand(
      "keygen", "make a CURVE key pair: NAME.key (public) and NAME.key_secret (0600)");
  std::string court, dir = ".";
  bool broker = false, force = false;
  auto* court_opt = keygen->add_option("--court", court, "the court the key speaks for");
  auto* broker_opt = keygen->add_flag("--broker", broker, "the broker's own key");
  court_opt->excludes(broker_opt);
  keygen->add_option("--dir", dir, "folder to write the files to")->capture_default_str();
  keygen->add_flag("--force", force, "replace existing files (the old key stops working)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*keygen) {
    if (court.empty() && !broker) {
      std::cerr << "weituoctl keygen: name --court ID or --broker\n";
      return 2;
    }
    return Keygen(court, broker, dir, force);
  }
  return 2;
}
