// SPDX-License-Identifier: MIT
// Test-only: a linearizability checker for histories of try_push / try_pop on a bounded FIFO.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace admf_test::lincheck {

// Design: Wing & Gong's search with Lowe's memoisation, the algorithm porcupine implements
// (written here from the papers, not from porcupine). Every call and return is an entry of
// one time-ordered list. Walking it from the front, a call entry is an operation that may
// take effect next (no operation still in the list returned before it was invoked): apply
// it to the sequential model, and if that is allowed and the pair (set of operations taken,
// model state) was never seen, take it, unlink its call and return and start again from the
// front. Reaching a return entry means that operation should have taken effect already:
// undo the last choice and try the entry after it. An empty list is a linearization; an
// empty undo stack at a return is a proof that none exists. The memo makes each (set,
// state) pair explored once, so the search is exponential only in the overlap.

enum class op_kind : std::uint8_t { push, pop };

/// One completed call. `invoke` is stamped just before the call and `ret` just after it
/// returned, from one clock shared by all threads: the call took effect within the two.
/// Equal stamps count as overlapping.
struct operation {
    int thread = 0;
    op_kind kind = op_kind::push;
    std::uint64_t value = 0; // push: the value offered (unique); pop: the value returned if ok
    bool ok = false;         // push: accepted (false: "full"); pop: got a value (false: "empty")
    std::uint64_t invoke = 0;
    std::uint64_t ret = 0;
};
using history = std::vector<operation>;

/// How far the model may bend. `none`: a FIFO queue of `capacity` elements, try_push
/// fails iff it is full and try_pop fails iff it is empty. `in_flight_hand_over`, what a
/// ring that hands slots over through a per-slot turn does (mpmc_ring, mpsc_ring): also
/// (a) try_pop may report empty while the oldest queued element's push has not yet returned
/// when the pop is invoked (its producer claimed the position but has not published it), and
/// (b) try_push may report full while the pop that emptied the slot one lap back
/// (position pushed - capacity) has not yet returned (its consumer has not handed it back).
enum class relaxation : std::uint8_t { none, in_flight_hand_over };

struct queue_model {
    std::size_t capacity = 1;
    relaxation relax = relaxation::none;
};

struct verdict {
    bool linearizable = false;
    std::vector<std::size_t> order; // a linearization (history indices) when linearizable
    std::size_t relaxed_steps = 0;  // failed calls in `order` that needed the relaxation
    std::string report;             // when not: the history, the longest prefix, why it stops
    explicit operator bool() const noexcept { return linearizable; }
};

/// Whether two calls' intervals overlap (neither returned before the other was invoked).
inline bool overlapping(const operation& a, const operation& b) noexcept {
    return a.invoke <= b.ret && b.invoke <= a.ret;
}

/// Pairs of calls from different threads that overlap.
inline std::size_t overlapping_pairs(const history& h) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < h.size(); ++i) {
        for (std::size_t j = i + 1; j < h.size(); ++j) {
            n += h[i].thread != h[j].thread && overlapping(h[i], h[j]) ? 1 : 0;
        }
    }
    return n;
}

/// The label of call i in reports: 0-9, a-z, A-Z (then '?').
inline char label(std::size_t i) noexcept {
    constexpr char labels[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    return i < sizeof(labels) - 1 ? labels[i] : '?';
}

/// "T1 try_push(5) -> false (full)" and the like.
inline std::string describe(const operation& op) {
    std::ostringstream s;
    s << 'T' << op.thread << ' ';
    if (op.kind == op_kind::push) {
        s << "try_push(" << op.value << ") -> " << (op.ok ? "true" : "false (full)");
    } else {
        s << "try_pop() -> ";
        if (op.ok) {
            s << op.value;
        } else {
            s << "false (empty)";
        }
    }
    return s.str();
}

/// The history as a table ordered by invoke, stamps replaced by their rank among all
/// stamps, and, for small histories, one timeline row per thread (op k drawn as its label
/// over the ranks it spans).
inline std::string describe(const history& h) {
    std::vector<std::uint64_t> stamps;
    for (const auto& op : h) {
        stamps.push_back(op.invoke);
        stamps.push_back(op.ret);
    }
    std::sort(stamps.begin(), stamps.end());
    stamps.erase(std::unique(stamps.begin(), stamps.end()), stamps.end());
    auto rank = [&](std::uint64_t t) {
        return static_cast<std::size_t>(std::lower_bound(stamps.begin(), stamps.end(), t) -
                                        stamps.begin());
    };
    std::vector<std::size_t> by_invoke(h.size());
    for (std::size_t i = 0; i < h.size(); ++i) {
        by_invoke[i] = i;
    }
    std::stable_sort(by_invoke.begin(), by_invoke.end(),
                     [&](std::size_t a, std::size_t b) { return h[a].invoke < h[b].invoke; });
    std::ostringstream s;
    s << "  op  [invoke, return]  call (times are ranks of the stamps)\n";
    for (std::size_t i : by_invoke) {
        s << "  #" << label(i) << "  [" << rank(h[i].invoke) << ", " << rank(h[i].ret) << "]  "
          << describe(h[i]) << '\n';
    }
    if (stamps.size() <= 160) {
        int threads = 0;
        for (const auto& op : h) {
            threads = std::max(threads, op.thread + 1);
        }
        for (int t = 0; t < threads; ++t) {
            std::string row(stamps.size(), ' ');
            for (std::size_t i = 0; i < h.size(); ++i) {
                if (h[i].thread == t) {
                    std::fill(row.begin() + static_cast<std::ptrdiff_t>(rank(h[i].invoke)),
                              row.begin() + static_cast<std::ptrdiff_t>(rank(h[i].ret)) + 1,
                              label(i));
                }
            }
            s << "  T" << t << " |" << row << "|\n";
        }
    }
    return s.str();
}

namespace detail {

struct model_state {
    std::vector<std::uint64_t> items;    // queued values, oldest first
    std::vector<std::uint32_t> lap_pops; // relaxed only: pops of positions [pushed - cap, head)
};

struct search_context {
    const history& h;
    const queue_model& model;
    std::unordered_map<std::uint64_t, std::size_t> pusher; // value -> index of its push
};

// Applies h[i] to `s`; false (and why) when the model does not allow its result now.
inline bool apply(const search_context& c, std::size_t i, model_state& s, bool& relaxed,
                  std::string& why) {
    const operation& op = c.h[i];
    const std::size_t cap = c.model.capacity;
    const bool relax = c.model.relax == relaxation::in_flight_hand_over;
    auto queue_text = [&] {
        std::ostringstream q;
        q << '[';
        for (std::size_t k = 0; k < s.items.size(); ++k) {
            q << (k == 0 ? "" : ", ") << s.items[k];
        }
        q << ']';
        return q.str();
    };
    relaxed = false;
    if (op.kind == op_kind::push && op.ok) {
        if (s.items.size() >= cap) {
            why = "the queue is full " + queue_text();
            return false;
        }
        s.items.push_back(op.value);
    } else if (op.kind == op_kind::push) {
        if (s.items.size() < cap) {
            // (b): the slot one lap back is emptied by a pop that had not returned yet.
            relaxed = relax && !s.lap_pops.empty() && s.lap_pops.size() == cap - s.items.size() &&
                      c.h[s.lap_pops.front()].ret > op.invoke;
            if (!relaxed) {
                why = "the queue is not full " + queue_text();
                return false;
            }
        }
    } else if (op.ok) {
        if (s.items.empty() || s.items.front() != op.value) {
            why = "the queue is " + queue_text();
            return false;
        }
        s.items.erase(s.items.begin());
        if (relax) {
            s.lap_pops.push_back(static_cast<std::uint32_t>(i));
        }
    } else if (!s.items.empty()) {
        // (a): the oldest element's push had not returned when this pop was invoked.
        relaxed = relax && c.h[c.pusher.at(s.items.front())].ret > op.invoke;
        if (!relaxed) {
            why = "the queue is not empty " + queue_text();
            return false;
        }
    }
    while (s.lap_pops.size() > cap - s.items.size()) {
        s.lap_pops.erase(s.lap_pops.begin());
    }
    return true;
}

inline std::string memo_key(std::uint64_t taken, const model_state& s) {
    std::string key(reinterpret_cast<const char*>(&taken), sizeof taken);
    key.append(reinterpret_cast<const char*>(s.items.data()),
               s.items.size() * sizeof(std::uint64_t));
    key.push_back('|');
    key.append(reinterpret_cast<const char*>(s.lap_pops.data()),
               s.lap_pops.size() * sizeof(std::uint32_t));
    return key;
}

} // namespace detail

/// Checks `h` (at most 64 calls, unique pushed values, invoke <= ret) against `model`.
inline verdict check(const history& h, const queue_model& model) {
    if (h.size() > 64) {
        throw std::invalid_argument("lincheck::check: at most 64 operations per history");
    }
    if (model.capacity == 0) {
        throw std::invalid_argument("lincheck::check: capacity must be at least 1");
    }
    detail::search_context c{h, model, {}};
    for (std::size_t i = 0; i < h.size(); ++i) {
        if (h[i].ret < h[i].invoke) {
            throw std::invalid_argument("lincheck::check: op " + std::to_string(i) +
                                        " returns before it is invoked");
        }
        if (h[i].kind == op_kind::push && !c.pusher.emplace(h[i].value, i).second) {
            throw std::invalid_argument("lincheck::check: value " + std::to_string(h[i].value) +
                                        " pushed twice");
        }
    }
    // The entry list: node 0 is the head sentinel, node 1 + 2i the call of h[i], 2 + 2i its
    // return. Calls sort before returns at equal stamps (overlap).
    const std::size_t nodes = 2 * h.size() + 1;
    std::vector<std::size_t> order;
    for (std::size_t k = 1; k < nodes; ++k) {
        order.push_back(k);
    }
    auto stamp = [&](std::size_t k) {
        const operation& op = h[(k - 1) / 2];
        return std::pair{k % 2 == 1 ? op.invoke : op.ret, k % 2 == 1 ? 0 : 1};
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return stamp(a) < stamp(b); });
    constexpr std::size_t end = SIZE_MAX;
    std::vector<std::size_t> next(nodes, end), prev(nodes, end);
    std::size_t last = 0;
    for (std::size_t k : order) {
        next[last] = k;
        prev[k] = last;
        last = k;
    }
    auto unlink = [&](std::size_t k) {
        next[prev[k]] = next[k];
        if (next[k] != end) {
            prev[next[k]] = prev[k];
        }
    };
    auto relink = [&](std::size_t k) {
        next[prev[k]] = k;
        if (next[k] != end) {
            prev[next[k]] = k;
        }
    };
    struct choice {
        std::size_t call;
        detail::model_state before;
        bool relaxed;
    };
    std::vector<choice> stack;
    std::vector<std::size_t> best; // longest prefix linearized
    detail::model_state best_state;
    std::unordered_set<std::string> seen;
    detail::model_state state;
    std::uint64_t taken = 0;
    std::string why;
    std::size_t entry = next[0];
    while (next[0] != end) {
        if (entry % 2 == 1) {
            const std::size_t i = (entry - 1) / 2;
            detail::model_state after = state;
            bool relaxed = false;
            if (detail::apply(c, i, after, relaxed, why) &&
                seen.insert(detail::memo_key(taken | (std::uint64_t{1} << i), after)).second) {
                stack.push_back({entry, std::move(state), relaxed});
                state = std::move(after);
                taken |= std::uint64_t{1} << i;
                unlink(entry);
                unlink(entry + 1);
                entry = next[0];
                if (stack.size() > best.size()) {
                    best.clear();
                    for (const auto& ch : stack) {
                        best.push_back((ch.call - 1) / 2);
                    }
                    best_state = state;
                }
            } else {
                entry = next[entry];
            }
        } else {
            if (stack.empty()) {
                break;
            }
            choice ch = std::move(stack.back());
            stack.pop_back();
            state = std::move(ch.before);
            taken &= ~(std::uint64_t{1} << ((ch.call - 1) / 2));
            relink(ch.call + 1);
            relink(ch.call);
            entry = next[ch.call];
        }
    }
    verdict v;
    if (next[0] == end) {
        v.linearizable = true;
        for (const auto& ch : stack) {
            v.order.push_back((ch.call - 1) / 2);
            v.relaxed_steps += ch.relaxed ? 1 : 0;
        }
        return v;
    }
    // Not linearizable: say how far it got and why each possible next call is refused.
    std::ostringstream r;
    r << "history of " << h.size() << " calls is NOT linearizable (FIFO, capacity "
      << model.capacity << (model.relax == relaxation::none ? "" : ", in-flight hand-over allowed")
      << "):\n"
      << describe(h) << "  longest linearizable prefix (" << best.size() << " calls):";
    std::uint64_t in_best = 0;
    for (std::size_t i : best) {
        r << " #" << label(i);
        in_best |= std::uint64_t{1} << i;
    }
    r << "\n  then no remaining call can take effect next:\n";
    std::uint64_t min_ret = UINT64_MAX;
    for (std::size_t i = 0; i < h.size(); ++i) {
        if ((in_best >> i & 1) == 0) {
            min_ret = std::min(min_ret, h[i].ret);
        }
    }
    for (std::size_t i = 0; i < h.size(); ++i) {
        if ((in_best >> i & 1) == 0 && h[i].invoke <= min_ret) {
            detail::model_state s = best_state;
            bool relaxed = false;
            const bool ok = detail::apply(c, i, s, relaxed, why);
            r << "    #" << label(i) << ' ' << describe(h[i]) << ": "
              << (ok ? "allowed, but every continuation fails" : why) << '\n';
        }
    }
    v.report = r.str();
    return v;
}

} // namespace admf_test::lincheck
