// CURVE keys: the long-term key pairs that identify courts and the broker.
// Keys travel as Z85 text (40 characters for 32 bytes) and live in
// certificate files in ZeroMQ's own form (ZPL, as czmq's zcert writes them):
// `NAME.key` holds the public key and may be shared; `NAME.key_secret`
// holds both keys and is created owner-only (0600).
// Thread-safe: plain functions over values and files.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "weituo/common/status.h"

namespace weituo {

struct CurveKeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters; empty when only the public half is known
};

// A fresh key pair from libzmq's CSPRNG. INTERNAL if libzmq was built
// without CURVE.
StatusOr<CurveKeyPair> GenerateCurveKeyPair();

// True for 40 characters of Z85 that decode to 32 bytes.
bool IsCurveKey(std::string_view z85);

// The public key that belongs to a Z85 secret key; INVALID_ARGUMENT if it
// is not one.
StatusOr<std::string> CurvePublicKeyOf(std::string_view secret_z85);

// Writes `base.key` (mode 0644) and `base.key_secret` (mode 0600).
// `metadata` goes into the files' metadata section (e.g. court = "kaihua").
// ALREADY_EXISTS if either file exists and !overwrite, so a key in use is
// never replaced by accident.
Status WriteCertificate(const std::string& base, const CurveKeyPair& keys,
                        const std::map<std::string, std::string>& metadata, bool overwrite);

// Reads a certificate file: the public key, and the secret key if the file
// holds one (which must then match the public key). INVALID_ARGUMENT naming
// the file and the problem for a missing or malformed key, or a path that is
// not a regular file of at most kMaxKeyFileBytes (small_file.h: a FIFO or
// a device is refused before it is read); PERMISSION_DENIED
// for a file holding a secret key that its group or others may read.
StatusOr<CurveKeyPair> ReadCertificate(const std::string& path);

}  // namespace weituo
