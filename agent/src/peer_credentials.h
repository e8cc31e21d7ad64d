// Who is at the other end of a local (ipc://) ZeroMQ connection: the
// account the kernel reported (SO_PEERCRED) when the connection was
// accepted. The agent's control socket answers only its own account by it.
//
// Threading: pure functions of their arguments; safe from any thread.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string_view>
#include <zmq.hpp>

namespace weituo::agent {

struct PeerCredentials {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
};

// The credentials libzmq took with SO_PEERCRED when it accepted the
// connection `message` came in on, read from the message's Peer-Address
// property ("localhost:UID:GID:PID" for a unix socket on Linux, libzmq
// 4.2 and later). They belong to that connection for its whole life, so a
// message cannot be judged by another connection's credentials, as it can
// be with SO_PEERCRED on the message's ZMQ_SRCFD: that descriptor may be
// closed and reused by a newer connection by the time the message is read.
// nullopt for a message that came over anything else (tcp, inproc).
std::optional<PeerCredentials> PeerCredentialsOf(const zmq::message_t& message);

// The credentials at the end of a Peer-Address value: exactly four
// colon-separated fields, a host and three decimal numbers. nullopt for
// anything else, an IPv4 or IPv6 address in particular (no IPv6 address has
// four fields of which none is empty).
std::optional<PeerCredentials> ParsePeerAddress(std::string_view peer_address);

}  // namespace weituo::agent
