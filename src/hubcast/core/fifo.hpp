// A first-in first-out queue that holds no memory while it has never been used, unlike
// std::deque (which allocates a map and a 512-byte block when it is constructed: one per idle
// connection adds up). A vector read from `head_`: the consumed prefix is dropped once it is
// more than half of the vector, and the storage is given back when the queue drains after a
// burst.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace hubcast {

template <class T>
class fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }

  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }

  void push_back(T v) { items_.push_back(std::move(v)); }
  template <class... Args>
  T& emplace_back(Args&&... args) {
    return items_.emplace_back(std::forward<Args>(args)...);
  }

  void pop_front() {
    items_[head_] = T();  // release what the element holds now, not at the next compaction
    ++head_;
    if (head_ == items_.size()) {
      clear();
    } else if (head_ >= compact_at && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  void clear() {
    items_.clear();
    head_ = 0;
    if (items_.capacity() > keep_capacity) std::vector<T>().swap(items_);
  }

  auto begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() const { return items_.end(); }

 private:
  static constexpr std::size_t compact_at = 32;
  static constexpr std::size_t keep_capacity = 4;
  std::vector<T> items_;
  std::size_t head_ = 0;
};

}  // namespace hubcast
