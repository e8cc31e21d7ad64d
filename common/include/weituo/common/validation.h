// Field-level validation of what courts send, shared by the broker (which
// refuses) and the agent (which refuses before queuing). Each failure names
// the field.
#pragma once

#include "weituo/common/status.h"
#include "weituo/v1/commission.pb.h"

namespace weituo {

// Size limits of a commission's text fields and lists.
inline constexpr size_t kMaxFieldBytes = 4096;
inline constexpr size_t kMaxListItems = 64;
// A commission or update must fit well inside one wire frame (256 KiB).
inline constexpr size_t kMaxMessageBytes = 128 * 1024;

// INVALID_ARGUMENT naming the first bad field: id not a ULID, missing case
// number, origin court, debtor name or payload, a date not YYYY-MM-DD, a
// sha256 not 64 hex digits, a text over kMaxFieldBytes, a list over
// kMaxListItems, or the whole commission over kMaxMessageBytes. The target court may be empty
// (route by region code).
Status ValidateCommission(const weituo::v1::Commission& commission);

// INVALID_ARGUMENT naming the field: no commission id, no action, accept
// without handler, return without reason, complete without result or with a
// result whose kind does not match `kind`.
Status ValidateUpdate(const weituo::v1::Update& update, weituo::v1::Kind kind);

// The kind of a commission from its payload.
weituo::v1::Kind KindOf(const weituo::v1::Commission& commission);

}  // namespace weituo
