// The server's work queue: tasks of one key share a batch up to its size, other keys and keyless
// tasks never join, a full queue refuses, and stop() finishes every queued task before joining.
#include "mednet/serve/batch_queue.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

using namespace mednet;

namespace {
struct Task {
  std::string key;
  int id = 0;
};
}  // namespace

TEST(BatchQueue, BatchesQueuedTasksOfOneKey) {
  std::mutex m;
  std::vector<std::vector<Task>> batches;
  std::atomic<bool> release{false};
  serve::BatchQueue<Task> q(
      100, 1, 4, [](const Task& t) { return t.key; },
      [&](std::vector<Task>& b) {
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::lock_guard<std::mutex> lock(m);
        batches.push_back(b);
      });
  ASSERT_TRUE(q.push({"a", 0}));  // the worker takes this one alone and waits
  while (q.queued() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int i = 1; i <= 6; ++i) ASSERT_TRUE(q.push({"a", i}));
  ASSERT_TRUE(q.push({"b", 7}));
  ASSERT_TRUE(q.push({"", 8}));
  ASSERT_TRUE(q.push({"", 9}));
  release = true;
  q.stop();
  ASSERT_EQ(batches.size(), 6u);
  auto ids = [](const std::vector<Task>& b) {
    std::vector<int> v;
    for (const auto& t : b) v.push_back(t.id);
    return v;
  };
  EXPECT_EQ(ids(batches[0]), (std::vector<int>{0}));
  EXPECT_EQ(ids(batches[1]), (std::vector<int>{1, 2, 3, 4}));  // up to max_batch, oldest first
  EXPECT_EQ(ids(batches[2]), (std::vector<int>{5, 6}));
  EXPECT_EQ(ids(batches[3]), (std::vector<int>{7}));
  EXPECT_EQ(ids(batches[4]), (std::vector<int>{8}));  // no key: always alone
  EXPECT_EQ(ids(batches[5]), (std::vector<int>{9}));
}

TEST(BatchQueue, RefusesWhenFullAndAfterStop) {
  std::atomic<bool> release{false};
  std::atomic<int> done{0};
  serve::BatchQueue<Task> q(
      2, 1, 1, [](const Task&) { return std::string(); },
      [&](std::vector<Task>& b) {
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        done += static_cast<int>(b.size());
      });
  ASSERT_TRUE(q.push({"", 0}));
  while (q.queued() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(q.push({"", 1}));
  EXPECT_TRUE(q.push({"", 2}));
  EXPECT_FALSE(q.push({"", 3}));  // two waiting already
  release = true;
  q.stop();
  EXPECT_EQ(done.load(), 3);  // the queued ones were finished, not dropped
  EXPECT_FALSE(q.push({"", 4}));
}

TEST(BatchQueue, ManyProducersManyWorkersLoseNothing) {
  std::atomic<int> sum{0}, count{0};
  {
    serve::BatchQueue<Task> q(
        100000, 3, 8, [](const Task& t) { return t.key; },
        [&](std::vector<Task>& b) {
          EXPECT_LE(b.size(), 8u);
          for (const auto& t : b) {
            EXPECT_EQ(t.key, b.front().key);
            sum += t.id;
            ++count;
          }
        });
    std::vector<std::thread> producers;
    for (int p = 0; p < 4; ++p)
      producers.emplace_back([&q, p] {
        for (int i = 0; i < 500; ++i) EXPECT_TRUE(q.push({p % 2 ? "x" : "y", 1}));
      });
    for (auto& t : producers) t.join();
  }  // the destructor stops and drains
  EXPECT_EQ(count.load(), 2000);
  EXPECT_EQ(sum.load(), 2000);
}

TEST(BatchQueue, AFullQueueLetsGoOfStaleTasksFirst) {
  std::atomic<bool> release{false};
  std::vector<int> done;
  std::mutex m;
  serve::BatchQueue<Task> q(
      2, 1, 1, [](const Task&) { return std::string(); },
      [&](std::vector<Task>& b) {
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::lock_guard<std::mutex> lock(m);
        for (const auto& t : b) done.push_back(t.id);
      },
      [](const Task& t) { return t.key == "stale"; });
  ASSERT_TRUE(q.push({"", 0}));
  while (q.queued() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(q.push({"stale", 1}));
  ASSERT_TRUE(q.push({"", 2}));
  EXPECT_TRUE(q.push({"", 3}));  // task 1 is let go to make room
  EXPECT_EQ(q.queued(), 2u);
  EXPECT_FALSE(q.push({"", 4}));  // nothing stale left
  release = true;
  q.stop();
  EXPECT_EQ(done, (std::vector<int>{0, 2, 3}));
}
