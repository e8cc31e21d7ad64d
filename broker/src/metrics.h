// Prometheus text exposition (format 0.0.4) of the broker's status, served
// at /metrics. Pure: a function of the status message.
#pragma once

#include <string>

#include "weituo/v1/status.pb.h"

namespace weituo::broker {

std::string RenderPrometheus(const weituo::v1::BrokerStatus& status);

}  // namespace weituo::broker
