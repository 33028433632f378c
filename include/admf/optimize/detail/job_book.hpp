// SPDX-License-Identifier: MIT
// admf::detail::job_book: the coordinator's ledger of which attempt of which job is queued,
// done or failed (retry and duplicate rules of admf::optimize::run_parallel).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace admf::detail {

// Design: plain bookkeeping, no processes and no clock, so its rules are unit-tested on their
// own (tests/unit/optimize/optimizer.test.cpp). One thread (the coordinator) owns it.
// - Each job is queued once at the start; next() hands out the front job with a new attempt
//   number (1, 2, ...) and skips jobs already done (a late result of a failed attempt may
//   finish a job while its retry waits in the queue).
// - fail(index, attempt) counts one failed attempt, once per (job, attempt) however many
//   ways it is reported (a worker can send an exception frame and then be found dead), and
//   re-queues the job at the front (it is retried before fresh jobs) until max_attempts
//   attempts have failed: then it reports exhausted.
// - unsend(index) takes back an attempt sent but never started (queued behind the running
//   job of a worker that died): no failure, and the retry reuses its attempt number.
// - complete(index) accepts the first result of a job, whichever attempt sent it; a later one
//   is a duplicate, dropped and counted (a worker that finished just as it was declared dead,
//   then the retry's result).
class job_book {
public:
    struct dispatch {
        std::size_t index;
        std::uint32_t attempt; // 1 for the first try
    };
    enum class completion { accepted, duplicate };
    enum class failure { retry, exhausted, stale };

    /// All `jobs` queued in index order. max_attempts is in [1, 64].
    job_book(std::size_t jobs, std::uint32_t max_attempts)
        : attempts_(jobs), failures_(jobs), failed_mask_(jobs), done_(jobs),
          max_attempts_(max_attempts) {
        for (std::size_t i = 0; i != jobs; ++i) {
            queue_.push_back(i);
        }
    }

    /// The next attempt to send to a worker, or nullopt when nothing is queued.
    [[nodiscard]] std::optional<dispatch> next() {
        while (!queue_.empty()) {
            const std::size_t i = queue_.front();
            queue_.pop_front();
            if (done_[i]) {
                continue;
            }
            ++sent_;
            return dispatch{i, ++attempts_[i]};
        }
        return std::nullopt;
    }

    /// Puts back an attempt that was sent but never started (queued behind the running job
    /// of a worker that died): not a failure; the job goes to the front, its number reused.
    void unsend(std::size_t index) {
        if (done_[index]) {
            return;
        }
        --attempts_[index];
        --sent_;
        queue_.push_front(index);
    }

    /// A success frame for job `index`: the first is accepted, later ones are duplicates.
    [[nodiscard]] completion complete(std::size_t index) {
        if (done_[index]) {
            ++duplicates_;
            return completion::duplicate;
        }
        done_[index] = true;
        ++done_count_;
        return completion::accepted;
    }

    /// A failed attempt (crash, timeout, exception). stale: the job is done or this attempt's
    /// failure was already counted; retry: re-queued; exhausted: max_attempts failures.
    [[nodiscard]] failure fail(std::size_t index, std::uint32_t attempt) {
        const std::uint64_t bit = attempt >= 1 && attempt <= 64 ? std::uint64_t{1} << (attempt - 1)
                                                                : 0;
        if (done_[index] || bit == 0 || (failed_mask_[index] & bit) != 0) {
            return failure::stale;
        }
        failed_mask_[index] |= bit;
        ++failed_;
        if (++failures_[index] >= max_attempts_) {
            return failure::exhausted;
        }
        queue_.push_front(index);
        ++retries_;
        return failure::retry;
    }

    [[nodiscard]] bool all_done() const noexcept { return done_count_ == done_.size(); }
    [[nodiscard]] std::size_t done_count() const noexcept { return done_count_; }
    [[nodiscard]] std::uint32_t attempts_of(std::size_t index) const { return attempts_[index]; }
    [[nodiscard]] std::size_t attempts_sent() const noexcept { return sent_; }
    [[nodiscard]] std::size_t retries() const noexcept { return retries_; }
    [[nodiscard]] std::size_t failed_attempts() const noexcept { return failed_; }
    [[nodiscard]] std::size_t duplicates() const noexcept { return duplicates_; }

private:
    std::deque<std::size_t> queue_;
    std::vector<std::uint32_t> attempts_;    // attempts handed out, per job
    std::vector<std::uint32_t> failures_;    // failed attempts counted, per job
    std::vector<std::uint64_t> failed_mask_; // bit a-1: attempt a's failure is counted
    std::vector<bool> done_;
    std::size_t done_count_ = 0, sent_ = 0, retries_ = 0, failed_ = 0, duplicates_ = 0;
    std::uint32_t max_attempts_;
};

} // namespace admf::detail
