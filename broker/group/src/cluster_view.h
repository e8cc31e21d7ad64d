// GET /api/cluster, /metrics and /healthz on a member's own address, served
// in both roles and through every change of leader: protobuf's JSON mapping
// of ClusterStatus (status.proto), and the same as Prometheus gauges.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "weituo/common/status.h"
#include "weituo/v1/status.pb.h"

namespace weituo {
class HttpServer;
}

namespace weituo::group {

using ClusterView = weituo::v1::ClusterStatus;

// The view as Prometheus' text format (weituo_group_* gauges).
std::string ClusterMetrics(const ClusterView& view);

class ClusterServer {
 public:
  // `view` is called on the server's thread for each request.
  static StatusOr<std::unique_ptr<ClusterServer>> Start(const std::string& address,
                                                        std::function<ClusterView()> view);
  ~ClusterServer();
  void Stop();
  std::string address() const;

 private:
  ClusterServer() = default;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace weituo::group
