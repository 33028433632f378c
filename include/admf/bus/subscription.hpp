// SPDX-License-Identifier: MIT
// admf::subscription: the RAII handle subscribe() returns.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

namespace admf {

namespace detail {
/// What a subscription talks to: a bus's subscriber registry. Shared ownership, so a
/// subscription that outlives its bus is harmless (unsubscribing it does nothing).
class subscription_owner {
public:
    virtual void unsubscribe(std::uint64_t id) noexcept = 0;
    [[nodiscard]] virtual std::uint64_t handler_errors(std::uint64_t id) const noexcept = 0;

protected:
    ~subscription_owner() = default;
};
} // namespace detail

/// One handler's registration on a bus. Move-only; destroying it or calling unsubscribe()
/// ends the registration.
/// Guarantee: once unsubscribe() (or the destructor) returns, the handler is not running on
/// any thread and is never called again. Exceptions: a handler ending its own subscription
/// from inside its call (that call completes), and a handler that is itself blocked in
/// unsubscribe() or in a publish waiting for room at that moment (it counts as not running,
/// so handlers waiting on each other's workers cannot deadlock).
class subscription {
public:
    subscription() noexcept = default;
    subscription(std::shared_ptr<detail::subscription_owner> owner, std::uint64_t id) noexcept
        : owner_(std::move(owner)), id_(id) {}

    subscription(subscription&& other) noexcept
        : owner_(std::move(other.owner_)), id_(std::exchange(other.id_, 0)) {}
    subscription& operator=(subscription&& other) noexcept {
        if (this != &other) {
            unsubscribe();
            owner_ = std::move(other.owner_);
            id_ = std::exchange(other.id_, 0);
        }
        return *this;
    }
    subscription(const subscription&) = delete;
    subscription& operator=(const subscription&) = delete;
    ~subscription() { unsubscribe(); }

    /// Ends the registration (see the class guarantee). Blocks until no other thread runs
    /// the handler. Safe from any thread, including from inside any handler. Idempotent.
    void unsubscribe() noexcept {
        if (auto owner = std::exchange(owner_, nullptr)) {
            owner->unsubscribe(id_);
        }
    }

    /// Whether this handle still holds a registration.
    [[nodiscard]] bool active() const noexcept { return owner_ != nullptr; }
    explicit operator bool() const noexcept { return active(); }

    /// Unique (per bus) id of the registration; 0 for an empty handle. The error sink
    /// reports it.
    [[nodiscard]] std::uint64_t id() const noexcept { return owner_ ? id_ : 0; }

    /// Exceptions the handler has thrown so far (each caught by the bus).
    [[nodiscard]] std::uint64_t handler_errors() const noexcept {
        return owner_ ? owner_->handler_errors(id_) : 0;
    }

private:
    std::shared_ptr<detail::subscription_owner> owner_;
    std::uint64_t id_ = 0;
};

} // namespace admf
