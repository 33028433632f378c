// SPDX-License-Identifier: MIT
// Umbrella header: everything a user needs for admf::bus and admf::sync_bus.
#pragma once

#include <admf/bus/basic_bus.hpp>
#include <admf/bus/bus_config.hpp>
#include <admf/bus/bus_stats.hpp>
#include <admf/bus/bus_traits.hpp>
#include <admf/bus/handler_error.hpp>
#include <admf/bus/handler_for.hpp>
#include <admf/bus/subscription.hpp>
#include <admf/bus/sync_bus.hpp>
#include <admf/core/clock.hpp>
#include <admf/core/domain.hpp>
#include <admf/core/event_info.hpp>
#include <admf/core/event_traits.hpp>
#include <admf/core/priority.hpp>
#include <admf/core/publish_result.hpp>
#include <admf/version.hpp>
