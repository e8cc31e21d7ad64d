#include "weituo/common/curve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <sstream>

#include "weituo/common/small_file.h"

namespace weituo {
namespace {

constexpr size_t kZ85KeyLength = 40;

std::string Timestamp() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", std::gmtime(&now));
  return text;
}

// ZPL (ZeroMQ property language): sections at column 0, properties indented
// by four spaces as name = "value".
std::string Render(const CurveKeyPair& keys, const std::map<std::string, std::string>& metadata,
                   bool with_secret) {
  std::ostringstream out;
  out << "#   ****  Generated on " << Timestamp() << " UTC by weituo  ****\n";
  if (with_secret) {
    out << "#   ZeroMQ CURVE **Secret** Certificate\n"
        << "#   Keep this file to its owner (mode 0600); never copy it to another machine\n"
        << "#   than the one whose court it speaks for.\n";
  } else {
    out << "#   ZeroMQ CURVE Public Certificate\n"
        << "#   The public half only: give it to the broker's operator for the directory.\n";
  }
  out << "\nmetadata\n";
  for (const auto& [name, value] : metadata) out << "    " << name << " = \"" << value << "\"\n";
  out << "curve\n    public-key = \"" << keys.public_key << "\"\n";
  if (with_secret) out << "    secret-key = \"" << keys.secret_key << "\"\n";
  return out.str();
}

Status WriteNew(const std::string& path, const std::string& text, mode_t mode, bool overwrite) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL);
  int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Status::AlreadyExists(path + " exists; refusing to replace a key (use --force)");
    }
    return Status::Internal("cannot create " + path + ": " + std::strerror(errno));
  }
  // O_CREAT's mode is filtered by the umask and ignored for an existing file.
  bool ok = ::fchmod(fd, mode) == 0;
  ok = ok && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok) return Status::Internal("cannot write " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace

StatusOr<CurveKeyPair> GenerateCurveKeyPair() {
  char public_key[kZ85KeyLength + 1];
  char secret_key[kZ85KeyLength + 1];
  if (zmq_curve_keypair(public_key, secret_key) != 0) {
    return Status::Internal(std::string("cannot generate a CURVE key pair: ") +
                            zmq_strerror(zmq_errno()));
  }
  return CurveKeyPair{public_key, secret_key};
}

bool IsCurveKey(std::string_view z85) {
  if (z85.size() != kZ85KeyLength) return false;
  std::string text(z85);
  uint8_t bytes[32];
  return zmq_z85_decode(bytes, text.c_str()) != nullptr;
}

StatusOr<std::string> CurvePublicKeyOf(std::string_view secret_z85) {
  if (!IsCurveKey(secret_z85)) {
    return Status::InvalidArgument("not a CURVE key (40 characters of Z85 expected)");
  }
  std::string secret(secret_z85);
  char public_key[kZ85KeyLength + 1];
  if (zmq_curve_public(public_key, secret.c_str()) != 0) {
    return Status::InvalidArgument("cannot derive a public key from this secret key");
  }
  return std::string(public_key);
}

Status WriteCertificate(const std::string& base, const CurveKeyPair& keys,
                        const std::map<std::string, std::string>& metadata, bool overwrite) {
  if (!IsCurveKey(keys.public_key) || !IsCurveKey(keys.secret_key)) {
    return Status::InvalidArgument("a certificate needs a public and a secret CURVE key");
  }
  // The secret first: a public file without its secret is useless.
  WEITUO_RETURN_IF_ERROR(
      WriteNew(base + ".key_secret", Render(keys, metadata, true), 0600, overwrite));
  return WriteNew(base + ".key", Render(keys, metadata, false), 0644, overwrite);
}

StatusOr<CurveKeyPair> ReadCertificate(const std::string& path) {
  auto file = ReadSmallFile(path, "key file", kMaxKeyFileBytes);
  if (!file.ok()) return Status::InvalidArgument(file.status().message());
  std::istringstream in(file->text);
  CurveKeyPair keys;
  std::string line, section;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    if (line[0] != ' ') {
      section = line.substr(0, line.find_first_of(" #"));
      continue;
    }
    if (section != "curve") continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string name = line.substr(0, eq);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    std::string value = line.substr(eq + 1);
    size_t open = value.find('"');
    size_t close = value.rfind('"');
    if (open == std::string::npos || close == open) {
      return Status::InvalidArgument(path + ":" + std::to_string(number) + ": " + name +
                                     " is not a quoted value");
    }
    value = value.substr(open + 1, close - open - 1);
    if (name == "public-key") keys.public_key = value;
    if (name == "secret-key") keys.secret_key = value;
  }
  if (!IsCurveKey(keys.public_key)) {
    return Status::InvalidArgument(path + ": no valid public-key in its curve section");
  }
  if (keys.secret_key.empty()) return keys;
  if ((file->mode & 077) != 0) {
    return Status::PermissionDenied(
        path + " holds a secret key but others may read it; run chmod 600 " + path);
  }
  auto derived = CurvePublicKeyOf(keys.secret_key);
  if (!derived.ok())
    return Status::InvalidArgument(path + ": secret-key: " + derived.status().message());
  if (*derived != keys.public_key) {
    return Status::InvalidArgument(path + ": secret-key does not belong to public-key");
  }
  return keys;
}

}  // namespace weituo
