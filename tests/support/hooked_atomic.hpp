// SPDX-License-Identifier: MIT
// Test-only: an atomic that calls a hook right after each store, for admf's rings that
// take their atomic type as a template parameter (TESTING.md "Design prerequisites"). A
// single-threaded test uses the hook to run "the other thread" at an exact point inside a
// ring operation, e.g. a consumer popping between a producer's two stores.
#pragma once

#include <atomic>
#include <functional>

namespace admf_test {

/// The hook of every hooked_atomic: set it, run the operation, clear it. Not reentrant:
/// stores made by the hook itself (the "other thread") do not call it again.
struct store_hook {
    static inline std::function<void()> after_store;
    static inline bool running = false;
};

template <class T>
class hooked_atomic : public std::atomic<T> {
public:
    using std::atomic<T>::atomic;
    using std::atomic<T>::operator=;

    void store(T value, std::memory_order order = std::memory_order_seq_cst) noexcept {
        std::atomic<T>::store(value, order);
        if (store_hook::after_store && !store_hook::running) {
            store_hook::running = true;
            store_hook::after_store();
            store_hook::running = false;
        }
    }
};

/// Installs a hook for one scope.
class scoped_store_hook {
public:
    explicit scoped_store_hook(std::function<void()> hook) { store_hook::after_store = std::move(hook); }
    ~scoped_store_hook() { store_hook::after_store = nullptr; }
    scoped_store_hook(const scoped_store_hook&) = delete;
    scoped_store_hook& operator=(const scoped_store_hook&) = delete;
};

} // namespace admf_test
