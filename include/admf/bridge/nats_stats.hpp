// SPDX-License-Identifier: MIT
// admf::bridge::nats_stats, nats_config, nats_path and nats_error: the NATS bridge's vocabulary.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace admf::bridge {

/// Thrown when libnats refuses a connect, a subscribe or a stream set-up; what() names the
/// operation, the URL or subject, and libnats' status text.
class nats_error : public std::runtime_error {
public:
    nats_error(const std::string& what, int status) : std::runtime_error(what), status_(status) {}
    /// The natsStatus value (an int here, so this header needs no <nats/nats.h>).
    [[nodiscard]] int status() const noexcept { return status_; }

private:
    int status_;
};

/// How a domain's events travel. core: NATS publish, at-most-once (a restart or a slow
/// consumer loses messages; the receiver counts the gaps). jetstream: stored in a stream,
/// published with Nats-Msg-Id = origin:sequence and acked (the server drops a retried
/// duplicate), consumed with explicit acks (redelivered until acked; the receiver drops
/// duplicates by sequence): each event reaches the receiving bus once.
enum class nats_path : unsigned char { core, jetstream };

/// A bridge's settings; the defaults suit a loopback or LAN nats-server.
struct nats_config {
    std::string url = "nats://127.0.0.1:4222";
    /// Connection name; also names the bridge's durable JetStream consumers, so two bridges
    /// that receive the same subjects need different names (the same name shares one queue).
    std::string name = "admf-bridge";
    /// Subjects are <prefix>.<domain>.<event name>.
    std::string subject_prefix = "admf";
    /// Domains (by domain_name) on the jetstream path; all others go core.
    std::vector<std::string> jetstream_domains = {"order", "fill"};
    /// The JetStream stream holding the jetstream-path subjects (created if missing, file
    /// storage so a server restart keeps it).
    std::string stream = "ADMF";
    /// Reconnect: attempts (-1: forever), wait between attempts, and the bytes of
    /// publishes libnats buffers while disconnected (beyond it a core publish fails, counted).
    int max_reconnect = -1;
    std::chrono::milliseconds reconnect_wait{50};
    int reconnect_buffer_bytes = 8 << 20;
    std::chrono::milliseconds connect_timeout{2000};
    /// libnats buffers core publishes and a flusher thread sends them: good throughput, but
    /// a lone message waits for that thread (ms on a busy 2-core box). true writes each
    /// publish at once (a syscall each): lower latency, lower throughput (docs/bridge.md).
    bool send_asap = false;
    /// Per subscription: messages and bytes libnats queues for the callback before it drops
    /// (counted as slow_consumer_drops).
    int pending_msgs_limit = 65536;
    int pending_bytes_limit = 64 << 20;
    /// JetStream: how long one publish waits for its ack; how long a publish keeps retrying
    /// (same message id) before it is given up and counted in js_publish_errors.
    std::chrono::milliseconds js_publish_timeout{2000};
    std::chrono::milliseconds js_retry_for{30000};
    /// JetStream consumer: redelivery of an unacked message after ack_wait; at most
    /// max_ack_pending unacked (kept far below the duplicate window of 65536 sequences).
    std::chrono::milliseconds js_ack_wait{2000};
    int js_max_ack_pending = 1024;
    /// stop(): how long it waits for libnats to finish the callbacks and close.
    std::chrono::milliseconds stop_timeout{5000};
};

/// A snapshot of a bridge's counters (each read relaxed, so the set is approximate while
/// traffic flows and exact once it stopped). Every event the bridge takes and every message
/// it receives ends in exactly one outcome counter:
///   forwarded == published + publish_errors + js_publish_errors
///   received  == injected + rejected() + duplicates + bus_full + bus_stopped + bus_timed_out
/// On the core path a message lost in transit (restart, slow consumer) is counted by the
/// receiver in gaps (from the sequence); slow_consumer_drops counts those of them that
/// libnats dropped locally. A jetstream message the bus refused is nak'ed and comes again.
struct nats_stats {
    // local bus -> NATS
    std::uint64_t forwarded = 0;         ///< events taken from the local bus to send
    std::uint64_t published = 0;         ///< of them handed to NATS (core) or acked (jetstream)
    std::uint64_t publish_errors = 0;    ///< core publishes libnats refused (buffer full)
    std::uint64_t js_acks = 0;           ///< jetstream publishes acked by the server
    std::uint64_t js_retries = 0;        ///< jetstream publish attempts repeated (no ack in time)
    std::uint64_t js_publish_errors = 0; ///< jetstream publishes given up (js_retry_for, stop)
    // NATS -> local bus
    std::uint64_t received = 0;             ///< messages libnats handed to the bridge
    std::uint64_t injected = 0;             ///< of them accepted by the local bus
    std::uint64_t rejected_version = 0;     ///< not an admf envelope, or another version
    std::uint64_t rejected_size = 0;        ///< length or sizes do not match the event type
    std::uint64_t rejected_type = 0;        ///< another type's name hash on this subject
    std::uint64_t rejected_checksum = 0;    ///< corrupted header or payload
    std::uint64_t duplicates = 0;           ///< a sequence already delivered: not dispatched
    std::uint64_t gaps = 0;                 ///< core: sequences never received (lost in transit)
    std::uint64_t slow_consumer_drops = 0;  ///< messages libnats dropped (pending limits)
    std::uint64_t slow_consumer_errors = 0; ///< NATS_SLOW_CONSUMER reports (episodes)
    std::uint64_t bus_full = 0;             ///< the local bus answered full
    std::uint64_t bus_stopped = 0;          ///< the local bus was stopped
    std::uint64_t bus_timed_out = 0;        ///< the local bus's block_timeout passed
    std::uint64_t js_naks = 0; ///< jetstream messages nak'ed for redelivery (bus refused)
    // connection
    std::uint64_t disconnects = 0;
    std::uint64_t reconnects = 0;
    std::uint64_t async_errors = 0; ///< other errors libnats reported asynchronously

    [[nodiscard]] std::uint64_t rejected() const noexcept {
        return rejected_version + rejected_size + rejected_type + rejected_checksum;
    }
};

} // namespace admf::bridge
