// SPDX-License-Identifier: MIT
// admf::bridge::nats_bridge: forwards local bus events to NATS subjects and injects remote ones.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include <nats/nats.h>

#include <admf/bridge/detail/nats_envelope.hpp>
#include <admf/bridge/detail/nats_sequence.hpp>
#include <admf/bridge/nats_stats.hpp>
#include <admf/bus/basic_bus.hpp>
#include <admf/core/domain.hpp>
#include <admf/core/event_traits.hpp>
#include <admf/core/publish_result.hpp>

namespace admf::detail {
enum class nats_counter : std::size_t {
    forwarded,
    published,
    publish_errors,
    js_acks,
    js_retries,
    js_publish_errors,
    received,
    injected,
    rejected_version,
    rejected_size,
    rejected_type,
    rejected_checksum,
    duplicates,
    gaps,
    slow_consumer_drops,
    slow_consumer_errors,
    bus_full,
    bus_stopped,
    bus_timed_out,
    js_naks,
    disconnects,
    reconnects,
    async_errors,
    counter_count
};

template <class E>
consteval bool subject_token_ok() {
    for (const char c : event_name_v<E>) {
        if (c == ' ' || c == '*' || c == '>' || c == '\t' || c == '\r' || c == '\n') {
            return false;
        }
    }
    return !event_name_v<E>.empty();
}

// The event types of a bus, for forward_domain / inject_domain.
template <class Bus>
struct bus_events;
template <class Traits, class... Events>
struct bus_events<basic_bus<Traits, Events...>> {
    template <class Fn>
    static void for_each(Fn&& fn) {
        (fn(static_cast<Events*>(nullptr)), ...);
    }
};
} // namespace admf::detail

namespace admf::bridge {

// Design: one NATS connection per bridge, shared by both directions.
// Out (forward<E>): a subscription on the local bus; its handler, on E's partition workers,
// wraps the event in the envelope (detail/nats_envelope.hpp) under E's own mutex, which
// keeps sequence order equal to wire order when several workers run E's lanes. Core path:
// natsConnection_Publish (buffered by libnats, also while reconnecting). JetStream path:
// js_Publish with the message id <origin>:<sequence>, waiting for the ack and retrying the
// same id until js_retry_for, so a retry after a lost ack is dropped by the server.
// In (inject<E>): a NATS subscription whose callback runs on libnats' delivery thread for
// it (one callback at a time per subscription, so its sequence windows need no lock). It
// decodes, drops duplicates, and hands the event to bus.publish, which must not block:
// inject<E> refuses a partition configured to block without a block_timeout. JetStream
// messages are acked once injected (or found duplicate) and nak'ed if the bus refused.
// Counters are relaxed atomics: they are statistics, read by stats() with no ordering
// needed against the events themselves.
// Lifetime: stop() (also the destructor) ends the local subscriptions first (the bus
// guarantees no handler runs after unsubscribe), then closes the connection, which closes
// every NATS subscription, and waits for the closed callback and each subscription's
// on-complete callback, after which libnats never calls ours again; only then are the
// subscriptions and the bridge's state released. The bus must outlive the bridge.
template <class Bus>
class nats_bridge {
public:
    /// Connects to cfg.url (reconnecting on its own afterwards). Throws nats_error if the
    /// server cannot be reached within connect_timeout.
    nats_bridge(Bus& bus, nats_config cfg)
        : bus_(bus), cfg_(std::move(cfg)), origin_(make_origin()) {
        natsOptions* opts = nullptr;
        check(natsOptions_Create(&opts), "natsOptions_Create");
        std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> guard(opts,
                                                                           &natsOptions_Destroy);
        check(natsOptions_SetURL(opts, cfg_.url.c_str()), "natsOptions_SetURL " + cfg_.url);
        check(natsOptions_SetName(opts, cfg_.name.c_str()), "natsOptions_SetName");
        check(natsOptions_SetTimeout(opts, cfg_.connect_timeout.count()), "natsOptions_SetTimeout");
        check(natsOptions_SetAllowReconnect(opts, true), "natsOptions_SetAllowReconnect");
        check(natsOptions_SetMaxReconnect(opts, cfg_.max_reconnect), "natsOptions_SetMaxReconnect");
        check(natsOptions_SetReconnectWait(opts, cfg_.reconnect_wait.count()),
              "natsOptions_SetReconnectWait");
        check(natsOptions_SetReconnectJitter(opts, 10, 10), "natsOptions_SetReconnectJitter");
        check(natsOptions_SetReconnectBufSize(opts, cfg_.reconnect_buffer_bytes),
              "natsOptions_SetReconnectBufSize");
        check(natsOptions_SetSendAsap(opts, cfg_.send_asap), "natsOptions_SetSendAsap");
        check(natsOptions_SetErrorHandler(opts, &on_error, this), "natsOptions_SetErrorHandler");
        check(natsOptions_SetDisconnectedCB(opts, &on_disconnected, this),
              "natsOptions_SetDisconnectedCB");
        check(natsOptions_SetReconnectedCB(opts, &on_reconnected, this),
              "natsOptions_SetReconnectedCB");
        check(natsOptions_SetClosedCB(opts, &on_closed, this), "natsOptions_SetClosedCB");
        check(natsConnection_Connect(&nc_, opts), "cannot connect to NATS at " + cfg_.url);
    }

    nats_bridge(const nats_bridge&) = delete;
    nats_bridge& operator=(const nats_bridge&) = delete;

    ~nats_bridge() { stop(); }

    /// Sends every local E to its subject. Call before bus.start() or while it runs; not
    /// after stop(). Allocates (a bus subscription). Throws nats_error if the JetStream
    /// stream cannot be set up.
    template <class E>
    void forward() {
        static_assert(
            std::is_trivially_copyable_v<E>,
            "admf::bridge: events cross the wire as their bytes: E must be trivially copyable");
        static_assert(admf::detail::subject_token_ok<E>(),
                      "admf::bridge: E's name must be a NATS subject token");
        refuse_echo(detail_direction::out, admf::detail::envelope_type_hash(event_name_v<E>));
        auto& out = outbound_.emplace_back();
        out.subject = subject_of<E>();
        out.jetstream = on_jetstream<E>();
        if (out.jetstream) {
            ensure_stream();
        }
        out.sub = bus_.template subscribe<E>([this, o = &out](const E& e) { send(*o, e); });
    }

    /// Injects every E published on its subject into the local bus. Throws
    /// std::invalid_argument if E's partition would block a publish without a deadline
    /// (configure backpressure::reject, drop_oldest, conflate or a block_timeout), or
    /// nats_error if the subscription fails.
    template <class E>
    void inject() {
        static_assert(
            std::is_trivially_copyable_v<E>,
            "admf::bridge: events cross the wire as their bytes: E must be trivially copyable");
        static_assert(admf::detail::subject_token_ok<E>(),
                      "admf::bridge: E's name must be a NATS subject token");
        const auto& pc = bus_.config()[event_domain_v<E>];
        if (pc.on_full == backpressure::block && pc.block_timeout.count() == 0) {
            throw std::invalid_argument(
                "admf::bridge: inject<" + std::string(event_name_v<E>) + ">: partition '" +
                std::string(domain_name(event_domain_v<E>)) +
                "' blocks without a block_timeout, which would stall the NATS delivery thread; "
                "set on_full = backpressure::reject (or a block_timeout)");
        }
        refuse_echo(detail_direction::in, admf::detail::envelope_type_hash(event_name_v<E>));
        auto in = std::make_unique<inbound>();
        in->owner = this;
        in->subject = subject_of<E>();
        in->jetstream = on_jetstream<E>();
        in->type_hash = detail::envelope_type_hash(event_name_v<E>);
        in->payload_size = sizeof(E);
        in->deliver = [](Bus& bus, const std::byte* payload) noexcept {
            E e;
            std::memcpy(static_cast<void*>(&e), payload, sizeof(E));
            return bus.publish(e);
        };
        try {
            subscribe_nats(*in);
        } catch (...) {
            if (in->leaked) {
                (void)in.release();
            }
            throw;
        }
        std::lock_guard lock(subs_mutex_);
        inbound_.push_back(std::move(in));
    }

    /// forward<E>() / inject<E>() for every event type of the bus in domain D.
    template <auto D>
    void forward_domain() {
        admf::detail::bus_events<Bus>::for_each([this](auto* tag) {
            using E = std::remove_pointer_t<decltype(tag)>;
            if constexpr (event_domain_v<E> == D) {
                forward<E>();
            }
        });
    }
    template <auto D>
    void inject_domain() {
        admf::detail::bus_events<Bus>::for_each([this](auto* tag) {
            using E = std::remove_pointer_t<decltype(tag)>;
            if constexpr (event_domain_v<E> == D) {
                inject<E>();
            }
        });
    }

    /// Waits (up to `timeout`) until the server has processed everything this bridge sent,
    /// subscriptions included. Returns false on timeout or while disconnected.
    bool flush(std::chrono::milliseconds timeout = std::chrono::milliseconds{2000}) {
        return nc_ != nullptr && natsConnection_FlushTimeout(nc_, timeout.count()) == NATS_OK;
    }

    /// Ends forwarding and injection, then closes the connection. Idempotent; any thread but
    /// the bus's workers and libnats' callbacks. After it returns no callback of this bridge
    /// runs (unless a libnats callback exceeded stop_timeout: then its state is kept, leaked).
    void stop() {
        if (stopping_.exchange(true, std::memory_order_acq_rel)) { // pairs with itself: one stopper
            return;
        }
        for (auto& out : outbound_) {
            out.sub.unsubscribe();
        }
        std::vector<std::unique_ptr<inbound>> closing;
        {
            std::lock_guard lock(subs_mutex_);
            for (auto& in : inbound_) {
                add_dropped(*in);
            }
            closing.swap(inbound_);
        }
        // The subscriptions end with the connection, not one by one: libnats 3.4's read loop
        // may still hold a subscription it looked up when natsSubscription_Destroy drops the
        // last reference (a use-after-free we hit under load, cf. nats.c #637/#659). Closing
        // the connection closes every subscription without an UNSUB (so durable JetStream
        // consumers stay, and a restarted bridge resumes at its ack floor) and stops the read
        // loop; our own references keep each subscription alive until the closed callback.
        const auto deadline = std::chrono::steady_clock::now() + cfg_.stop_timeout;
        bool closed = true;
        if (nc_ != nullptr) {
            (void)natsConnection_FlushTimeout(nc_, 500);
            natsConnection_Close(nc_);
            std::unique_lock lock(closed_mutex_);
            closed = closed_cv_.wait_until(lock, deadline, [&] { return closed_; });
        }
        for (auto& in : closing) {
            std::unique_lock lock(in->done_mutex);
            if (!closed || !in->done_cv.wait_until(lock, deadline, [&] { return in->done; })) {
                std::fprintf(stderr,
                             "admf::bridge: %s: libnats did not complete in time; state kept\n",
                             in->subject.c_str());
                lock.unlock();
                (void)in.release(); // a late callback must still find it
                closed = false;
                continue;
            }
            lock.unlock();
            natsSubscription_Destroy(in->sub); // closed: no UNSUB, only our reference goes
        }
        if (js_ != nullptr) {
            jsCtx_Destroy(js_);
            js_ = nullptr;
        }
        if (nc_ != nullptr) {
            if (closed) {
                natsConnection_Destroy(nc_);
            } // else: leaked with its callbacks still pointing at us; reported above
            nc_ = nullptr;
        }
    }

    /// The counters now (see nats_stats). Any thread.
    [[nodiscard]] nats_stats stats() const {
        std::array<std::uint64_t,
                   static_cast<std::size_t>(admf::detail::nats_counter::counter_count)>
            v{};
        for (std::size_t i = 0; i != v.size(); ++i) {
            v[i] = counters_[i].load(std::memory_order_relaxed); // statistics only, no ordering
        }
        {
            std::lock_guard lock(subs_mutex_);
            for (const auto& in : inbound_) {
                int64_t dropped = 0;
                if (natsSubscription_GetDropped(in->sub, &dropped) == NATS_OK) {
                    v[static_cast<std::size_t>(admf::detail::nats_counter::slow_consumer_drops)] +=
                        static_cast<std::uint64_t>(dropped);
                }
            }
        }
        const auto at = [&](admf::detail::nats_counter c) {
            return v[static_cast<std::size_t>(c)];
        };
        using enum admf::detail::nats_counter;
        nats_stats s;
        s.forwarded = at(forwarded), s.published = at(published),
        s.publish_errors = at(publish_errors);
        s.js_acks = at(js_acks), s.js_retries = at(js_retries),
        s.js_publish_errors = at(js_publish_errors);
        s.received = at(received), s.injected = at(injected),
        s.rejected_version = at(rejected_version);
        s.rejected_size = at(rejected_size), s.rejected_type = at(rejected_type);
        s.rejected_checksum = at(rejected_checksum), s.duplicates = at(duplicates),
        s.gaps = at(gaps);
        s.slow_consumer_drops = at(slow_consumer_drops),
        s.slow_consumer_errors = at(slow_consumer_errors);
        s.bus_full = at(bus_full), s.bus_stopped = at(bus_stopped),
        s.bus_timed_out = at(bus_timed_out);
        s.js_naks = at(js_naks), s.disconnects = at(disconnects), s.reconnects = at(reconnects);
        s.async_errors = at(async_errors);
        return s;
    }

    /// The subject of E: <prefix>.<domain>.<name>, e.g. "admf.order.ORDER.NEW".
    template <class E>
    [[nodiscard]] std::string subject_of() const {
        return cfg_.subject_prefix + "." + std::string(domain_name(event_domain_v<E>)) + "." +
               std::string(event_name_v<E>);
    }

    /// The path E's domain takes (nats_config::jetstream_domains).
    template <class E>
    [[nodiscard]] bool on_jetstream() const {
        const auto& js = cfg_.jetstream_domains;
        return std::find(js.begin(), js.end(), domain_name(event_domain_v<E>)) != js.end();
    }

    /// This bridge's id in every envelope it sends (random per bridge instance).
    [[nodiscard]] std::uint64_t origin() const noexcept { return origin_; }

    /// The libnats connection, for tests and tools (e.g. a raw natsConnection_Publish).
    [[nodiscard]] natsConnection* connection() const noexcept { return nc_; }

private:
    struct outbound {
        std::string subject;
        bool jetstream = false;
        std::mutex mutex; // sequence order == wire order (see Design)
        std::uint64_t last_sequence = 0;
        subscription sub;
    };

    struct inbound {
        nats_bridge* owner = nullptr;
        natsSubscription* sub = nullptr;
        std::string subject;
        bool jetstream = false;
        std::uint64_t type_hash = 0;
        std::size_t payload_size = 0;
        publish_result (*deliver)(Bus&, const std::byte*) noexcept = nullptr;
        // Only the delivery thread of this subscription touches the windows.
        std::unordered_map<std::uint64_t, std::unique_ptr<admf::detail::sequence_window>> senders;
        std::mutex done_mutex;
        std::condition_variable done_cv;
        bool done = false;
        bool leaked = false; // set-up failed after subscribing (see subscribe_nats)
    };

    void count(admf::detail::nats_counter c, std::uint64_t n = 1) noexcept {
        counters_[static_cast<std::size_t>(c)].fetch_add(
            n, std::memory_order_relaxed); // statistics only (see Design)
    }

    static void check(natsStatus s, const std::string& what) {
        if (s != NATS_OK) {
            throw nats_error("admf::bridge: " + what + ": " + natsStatus_GetText(s),
                             static_cast<int>(s));
        }
    }

    static std::uint64_t make_origin() {
        std::random_device rd;
        const auto t =
            static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
        const std::uint64_t o =
            ((static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^ (t * 0x9e37'79b9'7f4a'7c15ULL));
        return o == 0 ? 1 : o;
    }

    enum class detail_direction : unsigned char { out, in };

    // A type both forwarded and injected by one bridge would come back to its own bus and
    // go out again, forever: refused at set-up.
    void refuse_echo(detail_direction d, std::uint64_t type_hash) {
        auto& mine = d == detail_direction::out ? forwarded_types_ : injected_types_;
        const auto& other = d == detail_direction::out ? injected_types_ : forwarded_types_;
        if (std::find(other.begin(), other.end(), type_hash) != other.end()) {
            throw std::invalid_argument(
                "admf::bridge: one bridge cannot both forward and inject an "
                "event type: its own events would loop back");
        }
        mine.push_back(type_hash);
    }

    void ensure_stream() {
        std::lock_guard lock(js_mutex_);
        if (js_ != nullptr) {
            return;
        }
        jsCtx* js = nullptr;
        check(natsConnection_JetStream(&js, nc_, nullptr), "natsConnection_JetStream");
        std::vector<std::string> subjects;
        for (const auto& d : cfg_.jetstream_domains) {
            subjects.push_back(cfg_.subject_prefix + "." + d + ".>");
        }
        std::vector<const char*> subject_ptrs;
        for (const auto& s : subjects) {
            subject_ptrs.push_back(s.c_str());
        }
        jsStreamConfig sc;
        jsStreamConfig_Init(&sc);
        sc.Name = cfg_.stream.c_str();
        sc.Subjects = subject_ptrs.data();
        sc.SubjectsLen = static_cast<int>(subject_ptrs.size());
        sc.Storage = js_FileStorage;
        jsStreamInfo* si = nullptr;
        jsErrCode ec = static_cast<jsErrCode>(0);
        const natsStatus s = js_AddStream(&si, js, &sc, nullptr, &ec);
        if (si != nullptr) {
            jsStreamInfo_Destroy(si);
        }
        if (s != NATS_OK && ec != JSStreamNameExistErr) {
            jsCtx_Destroy(js);
            check(s,
                  "JetStream stream " + cfg_.stream + " (error code " + std::to_string(ec) + ")");
        }
        js_ = js;
    }

    template <class E>
    void send(outbound& out, const E& e) noexcept {
        count(admf::detail::nats_counter::forwarded);
        std::array<std::byte, detail_header_size + sizeof(E)> buf;
        std::lock_guard lock(out.mutex);
        const std::uint64_t seq = ++out.last_sequence;
        const std::size_t n = admf::detail::encode_envelope(
            admf::detail::envelope_type_hash(event_name_v<E>), origin_, seq,
            std::as_bytes(std::span(&e, 1)), buf.data());
        if (!out.jetstream) {
            // A refused publish still used its sequence: the receiver counts it as a gap.
            const natsStatus s =
                natsConnection_Publish(nc_, out.subject.c_str(), buf.data(), static_cast<int>(n));
            count(s == NATS_OK ? admf::detail::nats_counter::published
                               : admf::detail::nats_counter::publish_errors);
            return;
        }
        char id[48];
        std::snprintf(id, sizeof id, "%016llx:%llu", static_cast<unsigned long long>(origin_),
                      static_cast<unsigned long long>(seq));
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MsgId = id;
        po.MaxWait = cfg_.js_publish_timeout.count();
        const auto give_up = std::chrono::steady_clock::now() + cfg_.js_retry_for;
        for (;;) {
            jsPubAck* ack = nullptr;
            jsErrCode ec = static_cast<jsErrCode>(0);
            const auto started = std::chrono::steady_clock::now();
            const natsStatus s = js_Publish(&ack, js_, out.subject.c_str(), buf.data(),
                                            static_cast<int>(n), &po, &ec);
            if (ack != nullptr) {
                jsPubAck_Destroy(ack);
            }
            if (s == NATS_OK) {
                count(admf::detail::nats_counter::js_acks);
                count(admf::detail::nats_counter::published);
                return;
            }
            const auto now = std::chrono::steady_clock::now();
            if (now >= give_up ||
                stopping_.load(std::memory_order_relaxed)) { // a flag, no data behind it
                count(admf::detail::nats_counter::js_publish_errors);
                return;
            }
            count(admf::detail::nats_counter::js_retries);
            if (now - started < std::chrono::milliseconds{10}) {
                // Failed at once (disconnected, no responders while the stream recovers):
                // back off instead of spinning until the reconnect.
                std::this_thread::sleep_for(std::chrono::milliseconds{10});
            }
        }
    }

    void subscribe_nats(inbound& in) {
        natsStatus s;
        if (in.jetstream) {
            ensure_stream();
            std::string durable = cfg_.name + "_" + std::to_string(in.type_hash);
            std::replace_if(
                durable.begin(), durable.end(),
                [](char c) { return c == '.' || c == '*' || c == '>' || c == ' '; }, '_');
            jsSubOptions so;
            jsSubOptions_Init(&so);
            so.ManualAck = true;
            so.Config.Durable = durable.c_str();
            so.Config.AckPolicy = js_AckExplicit;
            so.Config.DeliverPolicy = js_DeliverAll;
            so.Config.AckWait = std::chrono::nanoseconds(cfg_.js_ack_wait).count();
            so.Config.MaxAckPending = cfg_.js_max_ack_pending;
            jsErrCode ec = static_cast<jsErrCode>(0);
            s = js_Subscribe(&in.sub, js_, in.subject.c_str(), &on_message, &in, nullptr, &so, &ec);
            check(s, "js_Subscribe " + in.subject + " (error code " + std::to_string(ec) + ")");
        } else {
            s = natsConnection_Subscribe(&in.sub, nc_, in.subject.c_str(), &on_message, &in);
            check(s, "natsConnection_Subscribe " + in.subject);
        }
        s = natsSubscription_SetOnCompleteCB(in.sub, &on_complete, &in);
        if (s == NATS_OK) {
            s = natsSubscription_SetPendingLimits(in.sub, cfg_.pending_msgs_limit,
                                                  cfg_.pending_bytes_limit);
        }
        if (s != NATS_OK) {
            // Live already, and without an on-complete signal we cannot know when its last
            // callback ends: stop deliveries and keep `in` (leaked) for a late callback.
            (void)natsSubscription_Unsubscribe(in.sub);
            in.leaked = true;
            check(s, "natsSubscription_SetPendingLimits " + in.subject);
        }
    }

    void add_dropped(inbound& in) noexcept { // subs_mutex_ held
        int64_t dropped = 0;
        if (natsSubscription_GetDropped(in.sub, &dropped) == NATS_OK) {
            count(admf::detail::nats_counter::slow_consumer_drops,
                  static_cast<std::uint64_t>(dropped));
        }
    }

    void receive(inbound& in, natsMsg* msg) noexcept {
        count(admf::detail::nats_counter::received);
        const auto* data = reinterpret_cast<const std::byte*>(natsMsg_GetData(msg));
        const std::span<const std::byte> bytes(
            data, static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
        admf::detail::nats_envelope_header h;
        const auto err = admf::detail::decode_envelope(bytes, in.type_hash, in.payload_size, h);
        if (err != admf::detail::envelope_error::ok) {
            using admf::detail::envelope_error;
            count(err == envelope_error::version ? admf::detail::nats_counter::rejected_version
                  : err == envelope_error::size  ? admf::detail::nats_counter::rejected_size
                  : err == envelope_error::type  ? admf::detail::nats_counter::rejected_type
                                                 : admf::detail::nats_counter::rejected_checksum);
            if (in.jetstream) {
                (void)natsMsg_Term(msg, nullptr); // never valid: no redelivery
            }
            return;
        }
        auto& window = in.senders[h.origin]; // allocates once per sender
        if (!window) {
            window = std::make_unique<admf::detail::sequence_window>();
        }
        if (window->seen(h.sequence)) {
            count(admf::detail::nats_counter::duplicates);
            if (in.jetstream) {
                (void)natsMsg_Ack(msg, nullptr);
            }
            return;
        }
        if (!in.jetstream) {
            // Core: marked whatever the bus says, so a refused event is counted once (below),
            // not again as a gap by the next one.
            count(admf::detail::nats_counter::gaps, window->mark(h.sequence));
        }
        const publish_result r = in.deliver(bus_, data + admf::detail::nats_envelope_header_size);
        switch (r) {
        case publish_result::accepted:
            count(admf::detail::nats_counter::injected);
            if (in.jetstream) {
                (void)window->mark(h.sequence);
                (void)natsMsg_Ack(msg, nullptr);
            }
            return;
        case publish_result::full:
            count(admf::detail::nats_counter::bus_full);
            break;
        case publish_result::stopped:
            count(admf::detail::nats_counter::bus_stopped);
            break;
        case publish_result::timed_out:
            count(admf::detail::nats_counter::bus_timed_out);
            break;
        }
        if (in.jetstream) {
            count(admf::detail::nats_counter::js_naks);
            (void)natsMsg_Nak(msg, nullptr);
        }
    }

    static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
        auto& in = *static_cast<inbound*>(closure);
        in.owner->receive(in, msg);
        natsMsg_Destroy(msg);
    }
    static void on_complete(void* closure) {
        auto& in = *static_cast<inbound*>(closure);
        std::lock_guard lock(in.done_mutex);
        in.done = true;
        in.done_cv.notify_all();
    }
    static void on_error(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
        static_cast<nats_bridge*>(closure)->count(
            err == NATS_SLOW_CONSUMER ? admf::detail::nats_counter::slow_consumer_errors
                                      : admf::detail::nats_counter::async_errors);
    }
    static void on_disconnected(natsConnection*, void* closure) {
        static_cast<nats_bridge*>(closure)->count(admf::detail::nats_counter::disconnects);
    }
    static void on_reconnected(natsConnection*, void* closure) {
        static_cast<nats_bridge*>(closure)->count(admf::detail::nats_counter::reconnects);
    }
    static void on_closed(natsConnection*, void* closure) {
        auto* self = static_cast<nats_bridge*>(closure);
        std::lock_guard lock(self->closed_mutex_);
        self->closed_ = true;
        self->closed_cv_.notify_all();
    }

    static constexpr std::size_t detail_header_size = admf::detail::nats_envelope_header_size;

    Bus& bus_;
    const nats_config cfg_;
    const std::uint64_t origin_;
    natsConnection* nc_ = nullptr;
    jsCtx* js_ = nullptr;
    std::mutex js_mutex_;
    std::vector<std::uint64_t> forwarded_types_; // set-up only (forward/inject callers)
    std::vector<std::uint64_t> injected_types_;
    std::list<outbound> outbound_;  // stable addresses: the bus handlers point at their entry
    mutable std::mutex subs_mutex_; // inbound_ against stats() and stop()
    std::vector<std::unique_ptr<inbound>> inbound_;
    std::atomic<bool> stopping_{false};
    std::mutex closed_mutex_;
    std::condition_variable closed_cv_;
    bool closed_ = false;
    std::array<std::atomic<std::uint64_t>,
               static_cast<std::size_t>(admf::detail::nats_counter::counter_count)>
        counters_{};
};

} // namespace admf::bridge
