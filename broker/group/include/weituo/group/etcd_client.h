// A small client of etcd's v3 API through its JSON gateway (HTTP POST of
// JSON to /v3/kv/..., /v3/lease/...), over common's HTTP client: the few
// calls a broker group needs to hold a leader key under a lease. No watch
// streams, no auth, no TLS.
//
// Threading: an EtcdClient is safe to use from several threads at once.
// Every call blocks the calling thread until an answer or until each
// endpoint has had its timeout.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weituo/common/status.h"

namespace weituo::group {

// A key as etcd holds it.
struct EtcdKeyValue {
  std::string value;
  int64_t create_revision = 0;  // the revision of the put that created it
  int64_t mod_revision = 0;     // the revision of its last put
  int64_t lease = 0;            // 0: none
};

// A lease etcd granted: its id and its TTL in seconds, which etcd may have
// raised above the one asked for (its minimum is about 2 s by default).
struct EtcdLease {
  int64_t id = 0;
  int64_t ttl_s = 0;
};

// A condition of a transaction on another key: its mod_revision is this
// (0: the key is absent).
struct EtcdGuard {
  std::string key;
  int64_t mod_revision = 0;
};

struct CreateResult {
  bool succeeded = false;
  // If succeeded: the key's create_revision (the transaction's revision).
  int64_t create_revision = 0;
  // If not: the key as it is now (nullopt: absent, so the guard failed).
  std::optional<EtcdKeyValue> current;
};

struct CasResult {
  bool succeeded = false;
  // If succeeded, the key's new mod_revision; if not, its current one (0:
  // absent).
  int64_t mod_revision = 0;
};

class EtcdClient {
 public:
  // endpoints: "http://host:port" (a trailing "/" is allowed), at least one.
  // call_timeout bounds one HTTP exchange with one endpoint.
  EtcdClient(std::vector<std::string> endpoints, std::chrono::milliseconds call_timeout);

  // Every call first tries the endpoint that last answered, then the next
  // ones in order. An endpoint that cannot be reached, does not answer in
  // time, or answers etcd's "unavailable" (no leader, timed out) is passed
  // over; UNAVAILABLE once none is left. A call passed over for a timeout
  // may still have taken effect there. Errors etcd answered are mapped:
  // NOT_FOUND (lease not found), INVALID_ARGUMENT, FAILED_PRECONDITION,
  // RESOURCE_EXHAUSTED, PERMISSION_DENIED, else INTERNAL (also an answer
  // that is not the JSON expected).

  // A new lease of ttl_s seconds.
  StatusOr<EtcdLease> Grant(int64_t ttl_s);
  // Renews the lease once; its TTL in seconds from now. NOT_FOUND if the
  // lease has expired or was revoked.
  StatusOr<int64_t> KeepAliveOnce(int64_t lease);
  // Revokes the lease, deleting its keys. NOT_FOUND if it was gone already.
  Status Revoke(int64_t lease);

  // The key, or nullopt if absent.
  StatusOr<std::optional<EtcdKeyValue>> Get(std::string_view key);
  // Writes the key (under `lease` unless 0); the revision of the write.
  StatusOr<int64_t> Put(std::string_view key, std::string_view value, int64_t lease = 0);
  // Deletes the key; how many keys were deleted (0 or 1).
  StatusOr<int64_t> Delete(std::string_view key);

  // One transaction: creates `key` = `value` (under `lease` unless 0) if
  // the key is absent and, with a guard, the guard's key has the guard's
  // mod_revision. Otherwise writes nothing and returns the key as it is.
  StatusOr<CreateResult> CreateIfAbsent(std::string_view key, std::string_view value, int64_t lease,
                                        std::optional<EtcdGuard> guard = {});
  // One transaction: writes `key` = `new_value` (no lease) if its
  // mod_revision is expected_mod_revision (0: creates it if absent) and,
  // with a guard, the guard holds.
  StatusOr<CasResult> CompareAndSwap(std::string_view key, int64_t expected_mod_revision,
                                     std::string_view new_value,
                                     std::optional<EtcdGuard> guard = {});

  const std::vector<std::string>& endpoints() const { return endpoints_; }

 private:
  struct Endpoint {
    std::string host;
    std::string port;
    std::string url;  // as given, for messages
  };
  // POSTs `body` to `path` ("/v3/kv/range") and returns the answer's body
  // (a 200 answer), trying the endpoints as described above.
  StatusOr<std::string> Post(std::string_view path, const std::string& body);

  // Constant after construction.
  std::vector<std::string> endpoints_;
  std::vector<Endpoint> parsed_;
  std::chrono::milliseconds call_timeout_;
  // The endpoint that answered last; where the next call starts.
  std::atomic<size_t> preferred_{0};
};

}  // namespace weituo::group
