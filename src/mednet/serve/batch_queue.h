#pragma once
// The server's work queue: a bounded queue and a fixed pool of workers. A worker takes the oldest task
// and, with it, the queued tasks of the same key (one model, no map) up to a batch size, so requests
// that arrive together share one forward pass. A full queue first lets go of the tasks nobody waits for
// any more (stale), then refuses new tasks (the caller answers 503); stop() lets the workers finish
// what is queued and joins them.
#include <condition_variable>
#include <deque>
#include <functional>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mednet::serve {

template <typename Task>
class BatchQueue {
 public:
  /// key: tasks with equal non-empty keys may be processed together; empty: always alone.
  using KeyFn = std::function<std::string(const Task&)>;
  using ProcessFn = std::function<void(std::vector<Task>&)>;
  using StaleFn = std::function<bool(const Task&)>;

  BatchQueue(size_t capacity, int workers, size_t max_batch, KeyFn key, ProcessFn process, StaleFn stale = {})
      : capacity_(capacity),
        max_batch_(max_batch),
        key_(std::move(key)),
        process_(std::move(process)),
        stale_(std::move(stale)) {
    for (int w = 0; w < workers; ++w) threads_.emplace_back([this] { work(); });
  }
  ~BatchQueue() { stop(); }
  BatchQueue(const BatchQueue&) = delete;
  BatchQueue& operator=(const BatchQueue&) = delete;

  /// False when the queue holds capacity tasks already, or is stopping.
  bool push(Task t) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (queue_.size() >= capacity_ && stale_)
        for (auto it = queue_.begin(); it != queue_.end();)
          it = stale_(*it) ? queue_.erase(it) : std::next(it);
      if (stopping_ || queue_.size() >= capacity_) return false;
      queue_.push_back(std::move(t));
    }
    ready_.notify_one();
    return true;
  }

  /// Workers finish every queued task, then end; idempotent.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  size_t queued() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return queue_.size();
  }

 private:
  void work() {
    for (;;) {
      std::vector<Task> batch;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
        const std::string key = key_(batch.front());
        if (!key.empty()) {
          for (auto it = queue_.begin(); it != queue_.end() && batch.size() < max_batch_;) {
            if (key_(*it) == key) {
              batch.push_back(std::move(*it));
              it = queue_.erase(it);
            } else {
              ++it;
            }
          }
        }
      }
      process_(batch);
    }
  }

  const size_t capacity_, max_batch_;
  KeyFn key_;
  ProcessFn process_;
  StaleFn stale_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace mednet::serve
