#include "weituo/group/etcd_client.h"

#include <google/protobuf/util/json_util.h>

#include <utility>

#include "src/etcd_gateway.pb.h"
#include "weituo/common/http_client.h"

namespace weituo::group {

namespace pbjson = google::protobuf::util;

namespace {

// gRPC's status codes, as the gateway's error bodies carry them.
enum GrpcCode {
  kGrpcInvalidArgument = 3,
  kGrpcDeadlineExceeded = 4,
  kGrpcNotFound = 5,
  kGrpcPermissionDenied = 7,
  kGrpcResourceExhausted = 8,
  kGrpcFailedPrecondition = 9,
  kGrpcUnavailable = 14,
  kGrpcUnauthenticated = 16,
};

std::string ToJsonBody(const google::protobuf::Message& message) {
  pbjson::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  (void)pbjson::MessageToJsonString(message, &out, options);
  return out;
}

Status FromJsonBody(std::string_view path, const std::string& body,
                    google::protobuf::Message* message) {
  pbjson::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto s = pbjson::JsonStringToMessage(body, message, options);
  if (!s.ok()) {
    return Status::Internal("etcd's answer to " + std::string(path) +
                            " is not the JSON expected: " + std::string(s.message()));
  }
  return Status::Ok();
}

// The Status of an error etcd answered; nullopt if it means "ask another
// endpoint".
std::optional<Status> FromGatewayError(const etcd::GatewayError& e, const std::string& where) {
  std::string text = where + ": " + (e.message().empty() ? e.error() : e.message());
  switch (e.code()) {
    case kGrpcUnavailable:
    case kGrpcDeadlineExceeded:
      return std::nullopt;
    case kGrpcInvalidArgument:
      return Status::InvalidArgument(text);
    case kGrpcNotFound:
      return Status::NotFound(text);
    case kGrpcPermissionDenied:
    case kGrpcUnauthenticated:
      return Status::PermissionDenied(text);
    case kGrpcResourceExhausted:
      return Status::ResourceExhausted(text);
    case kGrpcFailedPrecondition:
      return Status::FailedPrecondition(text);
    default:
      return Status::Internal(text + " (code " + std::to_string(e.code()) + ")");
  }
}

EtcdKeyValue FromKv(const etcd::KeyValue& kv) {
  return EtcdKeyValue{kv.value(), kv.create_revision(), kv.mod_revision(), kv.lease()};
}

// The key a transaction's failure branch read back (its only operation).
std::optional<EtcdKeyValue> RangeResultOf(const etcd::TxnResponse& txn) {
  if (txn.responses_size() != 1 || !txn.responses(0).has_response_range()) return std::nullopt;
  const etcd::RangeResponse& range = txn.responses(0).response_range();
  if (range.kvs_size() == 0) return std::nullopt;
  return FromKv(range.kvs(0));
}

void AddGuard(etcd::TxnRequest& txn, const std::optional<EtcdGuard>& guard) {
  if (!guard) return;
  etcd::Compare* c = txn.add_compare();
  c->set_key(guard->key);
  c->set_target(etcd::Compare::MOD);
  c->set_result(etcd::Compare::EQUAL);
  c->set_mod_revision(guard->mod_revision);
}

}  // namespace

EtcdClient::EtcdClient(std::vector<std::string> endpoints, std::chrono::milliseconds call_timeout)
    : endpoints_(std::move(endpoints)), call_timeout_(call_timeout) {
  for (const std::string& url : endpoints_) {
    std::string rest = url;
    if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    Endpoint e;
    e.url = url;
    // "[::1]:2379", "127.0.0.1:2379", "etcd1" (etcd's default port).
    size_t colon = rest.rfind(':');
    if (colon == std::string::npos || rest.find(']', colon) != std::string::npos) {
      e.host = rest;
      e.port = "2379";
    } else {
      e.host = rest.substr(0, colon);
      e.port = rest.substr(colon + 1);
    }
    if (e.host.size() >= 2 && e.host.front() == '[' && e.host.back() == ']') {
      e.host = e.host.substr(1, e.host.size() - 2);
    }
    parsed_.push_back(std::move(e));
  }
}

StatusOr<std::string> EtcdClient::Post(std::string_view path, const std::string& body) {
  if (parsed_.empty()) return Status::InvalidArgument("no etcd endpoint configured");
  const size_t first = preferred_.load(std::memory_order_relaxed) % parsed_.size();
  std::string failures;
  for (size_t i = 0; i < parsed_.size(); ++i) {
    const size_t index = (first + i) % parsed_.size();
    const Endpoint& e = parsed_[index];
    HttpCall call;
    call.method = HttpMethod::kPost;
    call.host = e.host;
    call.port = e.port;
    call.target = std::string(path);
    call.content_type = "application/json";
    call.body = body;
    call.timeout = call_timeout_;
    auto answer = CallHttp(call);
    if (!answer.ok()) {
      failures += (failures.empty() ? "" : "; ") + answer.status().message();
      continue;
    }
    if (answer->status == 200) {
      preferred_.store(index, std::memory_order_relaxed);
      return std::move(answer->body);
    }
    etcd::GatewayError error;
    const std::string where = e.url + std::string(path);
    if (!FromJsonBody(path, answer->body, &error).ok() || error.code() == 0) {
      return Status::Internal(where + " answered HTTP " + std::to_string(answer->status));
    }
    std::optional<Status> status = FromGatewayError(error, where);
    if (status) {
      preferred_.store(index, std::memory_order_relaxed);
      return *status;
    }
    failures += (failures.empty() ? "" : "; ") + where + ": " + error.message();
  }
  return Status::Unavailable("no etcd endpoint answered: " + failures);
}

StatusOr<EtcdLease> EtcdClient::Grant(int64_t ttl_s) {
  etcd::LeaseGrantRequest req;
  req.set_ttl(ttl_s);
  WEITUO_ASSIGN_OR_RETURN(std::string body, Post("/v3/lease/grant", ToJsonBody(req)));
  etcd::LeaseGrantResponse resp;
  WEITUO_RETURN_IF_ERROR(FromJsonBody("/v3/lease/grant", body, &resp));
  if (!resp.error().empty()) return Status::Internal("etcd refused a lease: " + resp.error());
  if (resp.id() == 0) return Status::Internal("etcd granted a lease without an id");
  return EtcdLease{resp.id(), resp.ttl()};
}

StatusOr<int64_t> EtcdClient::KeepAliveOnce(int64_t lease) {
  etcd::LeaseKeepAliveRequest req;
  req.set_id(lease);
  WEITUO_ASSIGN_OR_RETURN(std::string body, Post("/v3/lease/keepalive", ToJsonBody(req)));
  // A stream of one item: {"result": {...}} (or {"error": {...}}).
  etcd::LeaseKeepAliveItem item;
  WEITUO_RETURN_IF_ERROR(FromJsonBody("/v3/lease/keepalive", body, &item));
  if (item.has_error()) {
    return Status::Internal("etcd refused a keepalive: " + item.error().message());
  }
  if (!item.has_result()) return Status::Internal("etcd's keepalive answer holds no result");
  // etcd answers TTL 0 (left out of the JSON) for a lease it does not have.
  if (item.result().ttl() <= 0) {
    return Status::NotFound("lease " + std::to_string(lease) + " has expired or was revoked");
  }
  return item.result().ttl();
}

Status EtcdClient::Revoke(int64_t lease) {
  etcd::LeaseRevokeRequest req;
  req.set_id(lease);
  WEITUO_ASSIGN_OR_RETURN(std::string body, Post("/v3/lease/revoke", ToJsonBody(req)));
  etcd::LeaseRevokeResponse resp;
  return FromJsonBody("/v3/lease/revoke", body, &resp);
}

StatusOr<std::optional<EtcdKeyValue>> EtcdClient::Get(std::string_view key) {
  etcd::RangeRequest req;
  req.set_key(std::string(key));
  WEITUO_ASSIGN_OR_RETURN(std::string body, Post("/v3/kv/range", ToJsonBody(req)));
  etcd::RangeResponse resp;
  WEITUO_RETURN_IF_ERROR(FromJsonBody("/v3/kv/range", body, &resp));
  if (resp.kvs_size() == 0) return std::optional<EtcdKeyValue>();
  return std::optional<EtcdKeyValue>(FromKv(resp.kvs(0)));
}

StatusOr<int64_t> EtcdClient::Put(std::string_view key, std::string_view value, int64_t lease) {
  etcd::PutRequest req;
  req.set_key(std::string(key));
  req.set_value(std::string(value));
  req.set_lease(lease);
  WEITUO_ASSIGN_OR_RETURN(std::string body, Post("/v3/kv/put", ToJsonBody(req)));
  etcd::PutResponse resp;
  WEITUO_RETURN_IF_ERROR(FromJsonBody("/v3/kv/put", body, &resp));
  return resp.header().revision();
}

StatusOr<int64_t> EtcdClient::Delete(std::string_view key) {
  etcd::DeleteRangeRequest req;
  req.set_key(std::string(key));
  WEITUO_ASSIGN_OR_RETURN(std::string body, Post("/v3/kv/deleterange", ToJsonBody(req)));
  etcd::DeleteRangeResponse resp;
  WEITUO_RETURN_IF_ERROR(FromJsonBody("/v3/kv/deleterange", body, &resp));
  return resp.deleted();
}

StatusOr<CreateResult> EtcdClient::CreateIfAbsent(std::string_view key, std::string_view value,
                                                  int64_t lease, std::optional<EtcdGuard> guard) {
  etcd::TxnRequest txn;
  etcd::Compare* absent = txn.add_compare();
  absent->set_key(std::string(key));
  absent->set_target(etcd::Compare::CREATE);
  absent->set_result(etcd::Compare::EQUAL);
  absent->set_create_revision(0);
  AddGuard(txn, guard);
  etcd::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(std::string(key));
  put->set_value(std::string(value));
  put->set_lease(lease);
  txn.add_failure()->mutable_request_range()->set_key(std::string(key));
  WEITUO_ASSIGN_OR_RETURN(std::string body, Post("/v3/kv/txn", ToJsonBody(txn)));
  etcd::TxnResponse resp;
  WEITUO_RETURN_IF_ERROR(FromJsonBody("/v3/kv/txn", body, &resp));
  CreateResult result;
  result.succeeded = resp.succeeded();
  if (result.succeeded) {
    result.create_revision = resp.header().revision();
  } else {
    result.current = RangeResultOf(resp);
  }
  return result;
}

StatusOr<CasResult> EtcdClient::CompareAndSwap(std::string_view key, int64_t expected_mod_revision,
                                               std::string_view new_value,
                                               std::optional<EtcdGuard> guard) {
  etcd::TxnRequest txn;
  AddGuard(txn, EtcdGuard{std::string(key), expected_mod_revision});
  AddGuard(txn, guard);
  etcd::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(std::string(key));
  put->set_value(std::string(new_value));
  txn.add_failure()->mutable_request_range()->set_key(std::string(key));
  WEITUO_ASSIGN_OR_RETURN(std::string body, Post("/v3/kv/txn", ToJsonBody(txn)));
  etcd::TxnResponse resp;
  WEITUO_RETURN_IF_ERROR(FromJsonBody("/v3/kv/txn", body, &resp));
  CasResult result;
  result.succeeded = resp.succeeded();
  if (result.succeeded) {
    result.mod_revision = resp.header().revision();
  } else {
    std::optional<EtcdKeyValue> current = RangeResultOf(resp);
    result.mod_revision = current ? current->mod_revision : 0;
  }
  return result;
}

}  // namespace weituo::group
