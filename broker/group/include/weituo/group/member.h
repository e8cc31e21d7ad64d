// One member of a broker group (weituo-broker --group FILE --member NAME;
// docs/group.md), for its whole life: it follows the leader (applying its
// commits, redirecting courts to it) until etcd makes it the leader; then
// it runs the broker over its store, every commit replicated before
// anything of it is sent, until it stops or its lease no longer holds, and
// then follows again.
//
// Threading: Run() blocks the calling thread; Stop() is safe from any thread
// and from a signal handler (an atomic flag).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "weituo/broker/broker.h"
#include "weituo/common/directory.h"
#include "weituo/common/status.h"
#include "weituo/group/group_config.h"

namespace weituo::group {

using broker::Broker;
using broker::BrokerOptions;

struct MemberOptions {
  GroupConfig group;
  std::string member;
  // The broker's options when it leads (endpoint, data_dir, keys, ...);
  // `endpoint` must be the member's `courts` in the group file.
  BrokerOptions broker;
  CourtDirectory directory;
  // Called each time this member leads, with its broker (e.g. to reload
  // its directory on SIGHUP); returns what to call when it stops leading.
  std::function<std::function<void()>(Broker& broker)> on_lead;
  std::string replication_secret_key;  // Z85; empty: plaintext replication
};

class Member {
 public:
  explicit Member(MemberOptions options);
  ~Member();
  // Until Stop(); an error if it cannot go on (etcd's client cannot start,
  // the store cannot be opened).
  Status Run();
  void Stop() { stop_.store(true); }
  // The operator API to serve on the member's --http address for its whole
  // life (a StatusServer over it): the leader's broker while it leads, reads
  // from its own replica while it follows (docs/group.md). Valid from
  // construction; UNAVAILABLE until Run() has opened the store.
  broker::OperatorApi& api();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
};

}  // namespace weituo::group
