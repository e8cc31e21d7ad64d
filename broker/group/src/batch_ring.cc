#include "replication.h"

namespace weituo::group {

void BatchRing::Append(uint64_t number, uint64_t term, std::string_view data, int64_t at_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!batches_.empty() && batches_.back().number() + 1 != number) {
    batches_.clear();
    bytes_ = 0;
  }
  weituo::v1::ReplBatch& b = batches_.emplace_back();
  b.set_number(number);
  b.set_term(term);
  b.set_data(std::string(data));
  b.set_committed_at_ms(at_ms);
  bytes_ += data.size();
  while (bytes_ > max_bytes_ && batches_.size() > 1) {
    bytes_ -= batches_.front().data().size();
    batches_.pop_front();
  }
}

std::optional<uint64_t> BatchRing::TermOf(uint64_t number) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (batches_.empty() || number < batches_.front().number() || number > batches_.back().number())
    return std::nullopt;
  return batches_[number - batches_.front().number()].term();
}

std::vector<weituo::v1::ReplBatch> BatchRing::From(uint64_t from, size_t max_bytes) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<weituo::v1::ReplBatch> out;
  if (batches_.empty() || from < batches_.front().number() || from > batches_.back().number())
    return out;
  size_t bytes = 0;
  for (size_t i = from - batches_.front().number(); i < batches_.size(); ++i) {
    if (!out.empty() && bytes + batches_[i].data().size() > max_bytes) break;
    bytes += batches_[i].data().size();
    out.push_back(batches_[i]);
  }
  return out;
}

uint64_t BatchRing::first() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_.empty() ? 0 : batches_.front().number();
}

uint64_t BatchRing::last() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_.empty() ? 0 : batches_.back().number();
}

size_t BatchRing::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

}  // namespace weituo::group
