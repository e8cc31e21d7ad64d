#pragma once

// Commissions: a court's submission, its updates, a forward's child, and
// the delivery receipt when the target's agent acknowledges one.
//
// A submission is checked (its origin is the sending court, its content
// valid), answered again with the very same receipt if it was submitted
// before with the same content (CONFLICT if not), routed to the court it
// names or the one serving the debtor's region (UNKNOWN_TARGET if none),
// refused with STORAGE_FULL when the disk is at its reserve, and stored with
// its EV_SUBMITTED event and queued for its target. An update is a
// lifecycle step by the origin or the target, under a request id whose
// first outcome answers every resend of it. Everything is written through
// the turn; replies go out after its commit.
//
// Owns: the latency from submission to delivery. Uses the trail (steps),
// delivery (outbox) and the storage guard; takes the directory and the
// broker's wall clock (`now`) with each call.
//
// Threading: the broker's loop thread only.

#include <cstdint>
#include <string>

#include "counters.h"
#include "delivery.h"
#include "latency_histogram.h"
#include "replies.h"
#include "storage_guard.h"
#include "trail.h"
#include "turn.h"
#include "weituo/common/directory.h"

namespace weituo::broker {

class Commissions {
 public:
  Commissions(const BrokerOptions& options, Turn& turn, TrailWriter& trail, Delivery& delivery,
              const StorageGuard& storage, Replies& replies, Counters& counters)
      : options_(options),
        turn_(turn),
        trail_(trail),
        delivery_(delivery),
        storage_(storage),
        replies_(replies),
        counters_(counters) {}

  // `court` (bound to `routing_id`) submits the commission it takes out of
  // `submit`. Answers a receipt or a refusal; true if a new commission was
  // stored in this turn.
  bool Submit(const std::string& routing_id, const std::string& court, weituo::v1::Submit* submit,
              const CourtDirectory& directory, int64_t now);
  // `court`'s agent acknowledged these deliveries: a commission among them
  // is delivered (EV_DELIVERED).
  void Ack(const std::string& court, const weituo::v1::Ack& ack, int64_t now);
  // `court` asks for a lifecycle step. Answers an update receipt (the
  // first one again for a resent request id) or a refusal.
  void Update(const std::string& routing_id, const std::string& court,
              const weituo::v1::SendUpdate& request, const CourtDirectory& directory, int64_t now);

  const LatencyHistogram& submit_to_delivered() const { return submit_to_delivered_; }

 private:
  // The court the commission goes to, or nullptr once refused.
  const CourtEntry* Route(const std::string& routing_id, const std::string& court,
                          const weituo::v1::Commission& commission,
                          const CourtDirectory& directory);
  // A submission seen before: true once answered (again, or refused).
  bool AnswerSubmittedBefore(const std::string& routing_id, const std::string& court,
                             weituo::v1::Commission& commission);
  // A request id seen before: true once answered (again, or refused).
  bool AnswerRequestedBefore(const std::string& routing_id, const std::string& court,
                             const weituo::v1::SendUpdate& request);
  // A forward's new target, checked: false once refused.
  bool CheckForward(const std::string& routing_id, const std::string& court,
                    const weituo::v1::Commission& commission, const std::string& request_id,
                    const std::string& to, const CourtDirectory& directory);
  // The submission receipt of `record`: the same bytes for the first answer
  // and for every duplicate.
  void ReplySubmitReceipt(const std::string& routing_id, const weituo::v1::CommissionRecord& record,
                          bool duplicate);
  // The update's first outcome, kept under its request id, and its receipt.
  void ReplyUpdateReceipt(const std::string& routing_id, const std::string& court,
                          const std::string& request_id, const weituo::v1::Event& event);
  // Stores a new commission (target resolved) with its EV_SUBMITTED event,
  // queues its delivery and its first deadline review.
  const weituo::v1::CommissionRecord& StoreNew(weituo::v1::Commission commission,
                                               weituo::v1::Event* submitted, int64_t now);
  void Forward(const weituo::v1::CommissionRecord& parent, const std::string& to_court,
               const std::string& from_court, const std::string& child_id, int64_t now);
  StatusOr<weituo::v1::CommissionRecord> LoadRecord(const std::string& id) {
    return turn_.Record(id);
  }
  // Applies the action if the lifecycle allows it; `child_id` names the
  // child of a forward.
  StatusOr<weituo::v1::Event> ApplyStep(weituo::v1::CommissionRecord& record, Action action,
                                        Role role, const std::string& actor,
                                        const weituo::v1::Update* update,
                                        const std::string& child_id, int64_t now) {
    return trail_.Apply(record, action, role, actor, update, child_id, now);
  }

  const BrokerOptions& options_;
  Turn& turn_;
  TrailWriter& trail_;
  Delivery& delivery_;
  const StorageGuard& storage_;
  Replies& replies_;
  Counters& counters_;
  LatencyHistogram submit_to_delivered_;
};

}  // namespace weituo::broker
