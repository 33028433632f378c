// SPDX-License-Identifier: MIT
// Forward declarations of admf's public class templates, for headers that only name them.
#pragma once

#include <memory>

namespace admf {

enum class domain : unsigned char;
enum class priority : unsigned char;
enum class publish_result : unsigned char;
enum class backpressure : unsigned char;
enum class stop_mode : unsigned char;
enum class wait_kind : unsigned char;
enum class producers;
enum class consumers;

template <class E>
struct event_traits;
template <class Domain>
struct domain_traits;
struct event_info;
struct partition_config;
struct partition_stats;
struct handler_error;
class subscription;
struct default_bus_traits;

template <class Traits, class... Events>
class basic_bus;
template <class Traits, class... Events>
class basic_sync_bus;

template <class... Events>
using bus = basic_bus<default_bus_traits, Events...>;
template <class... Events>
using sync_bus = basic_sync_bus<default_bus_traits, Events...>;

} // namespace admf
