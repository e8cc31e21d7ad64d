// control_call: one ControlRequest (serialized, on standard input) to an
// agent's control endpoint, for control_access_test, which runs it as
// another account through the harness's spawner.
//
//   control_call client <endpoint> <timeout-ms>  through ControlClient: prints
//                                                 "answered" or its status
//   control_call raw <endpoint>                   over a bare REQ socket: prints
//                                                 the serialized reply
//
// Exit 0 with the output; 2 without an answer; 64 on a usage error.
#include <iostream>
#include <iterator>
#include <string>
#include <zmq.hpp>

#include "control_client.h"
#include "weituo/v1/control.pb.h"

namespace {

// The reply's bytes over a REQ socket; empty if none came within 5 s.
std::string CallRaw(const std::string& endpoint, const std::string& request) {
  zmq::context_t context(1);
  zmq::socket_t req(context, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.set(zmq::sockopt::rcvtimeo, 5000);
  req.connect(endpoint);
  req.send(zmq::buffer(request), zmq::send_flags::none);
  zmq::message_t reply;
  if (!req.recv(reply, zmq::recv_flags::none)) return "";
  return reply.to_string();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (!((mode == "client" && argc == 4) || (mode == "raw" && argc == 3))) {
    std::cerr << "usage: control_call client <endpoint> <timeout-ms> | raw <endpoint>\n";
    return 64;
  }
  const std::string request(std::istreambuf_iterator<char>(std::cin), {});
  if (mode == "raw") {
    std::string reply = CallRaw(argv[2], request);
    std::cout << reply;
    return reply.empty() ? 2 : 0;
  }
  weituo::v1::ControlRequest parsed;
  if (!parsed.ParseFromString(request)) {
    std::cerr << "control_call: standard input is not a ControlRequest\n";
    return 64;
  }
  auto r = weituo::agent::ControlClient(argv[2]).Call(parsed, std::stoi(argv[3]));
  std::cout << (r.ok() ? "answered" : r.status().ToString());
  return 0;
}
