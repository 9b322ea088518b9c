#include <hubcast/transport/outbound_queue.hpp>

#include <utility>

namespace hubcast::transport {

namespace {
// A ring this large or larger is freed when it drains; smaller ones are kept for the next burst.
constexpr std::size_t keep_capacity = 16;
}  // namespace

bool outbound_queue::push(shared_bytes bytes) {
  if (!bytes) return true;
  if (count_ >= limits_.max_messages || bytes->size() > limits_.max_bytes ||
      bytes_ > limits_.max_bytes - bytes->size())
    return false;
  if (count_ == capacity_) grow();
  bytes_ += bytes->size();
  ring_[(head_ + count_) & (capacity_ - 1)] = std::move(bytes);
  ++count_;
  return true;
}

void outbound_queue::grow() {
  std::size_t cap = capacity_ == 0 ? 4 : capacity_ * 2;
  auto next = std::make_unique<shared_bytes[]>(cap);
  for (std::size_t i = 0; i < count_; ++i)
    next[i] = std::move(ring_[(head_ + i) & (capacity_ - 1)]);
  ring_ = std::move(next);
  capacity_ = cap;
  head_ = 0;
}

void outbound_queue::pop(std::size_t n) {
  if (n > count_) n = count_;
  for (std::size_t i = 0; i < n; ++i) {
    auto& slot = ring_[head_];
    bytes_ -= slot->size();
    slot.reset();
    head_ = (head_ + 1) & (capacity_ - 1);
  }
  count_ -= n;
  release_if_drained();
}

shared_bytes outbound_queue::take_front() {
  if (count_ == 0) return nullptr;
  shared_bytes b = std::move(ring_[head_]);
  bytes_ -= b->size();
  head_ = (head_ + 1) & (capacity_ - 1);
  --count_;
  release_if_drained();
  return b;
}

std::string outbound_queue::take_joined() {
  std::string out;
  out.reserve(bytes_);
  for (std::size_t i = 0; i < count_; ++i) out += at(i);
  clear();
  return out;
}

void outbound_queue::clear() {
  pop(count_);
}

void outbound_queue::release_if_drained() {
  if (count_ != 0) return;
  head_ = 0;
  bytes_ = 0;
  if (capacity_ > keep_capacity) {
    ring_.reset();
    capacity_ = 0;
  }
}

}  // namespace hubcast::transport
