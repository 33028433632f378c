# Settings shared by the project's own tests, benchmarks and examples (never by consumers).

# admf_internal: warnings and the optional sanitizer, linked by every internal executable.
add_library(admf_internal INTERFACE)
target_link_libraries(admf_internal INTERFACE admf::bus)
target_compile_options(admf_internal INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
    -Wno-sign-conversion $<$<CXX_COMPILER_ID:GNU>:-Wno-interference-size>)
if(ADMF_SANITIZE)
    target_compile_options(admf_internal INTERFACE -fsanitize=${ADMF_SANITIZE}
        -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(admf_internal INTERFACE -fsanitize=${ADMF_SANITIZE})
    target_compile_definitions(admf_internal INTERFACE ADMF_SANITIZE_BUILD=1)
endif()

# Optional third-party adapters: found here, used only by tests/benchmarks that ask for them.
set(admf_have_boost OFF)
if(ADMF_WITH_BOOST)
    find_package(Boost 1.74 QUIET)
    if(Boost_FOUND)
        set(admf_have_boost ON)
    endif()
endif()
set(admf_have_moodycamel OFF)
if(ADMF_WITH_MOODYCAMEL)
    find_path(ADMF_MOODYCAMEL_INCLUDE_DIR concurrentqueue/concurrentqueue.h)
    if(ADMF_MOODYCAMEL_INCLUDE_DIR)
        set(admf_have_moodycamel ON)
    endif()
endif()
message(STATUS "admf: Boost.Lockfree adapter: ${admf_have_boost}; moodycamel adapter: ${admf_have_moodycamel}")

# The NATS bridge (include/admf/bridge/nats.hpp) needs libnats (Debian: libnats-dev); its
# tests also need a nats-server binary (Debian: nats-server, installed to /usr/sbin).
# Debian 12's cnats-config.cmake names a static library the package does not ship (and
# fails), so the library is found directly and given the target name upstream uses.
set(admf_have_nats OFF)
if(ADMF_WITH_NATS)
    find_path(ADMF_NATS_INCLUDE_DIR nats/nats.h)
    find_library(ADMF_NATS_LIBRARY NAMES nats)
    if(ADMF_NATS_INCLUDE_DIR AND ADMF_NATS_LIBRARY)
        if(NOT TARGET cnats::nats)
            add_library(cnats::nats UNKNOWN IMPORTED)
            set_target_properties(cnats::nats PROPERTIES
                IMPORTED_LOCATION ${ADMF_NATS_LIBRARY}
                INTERFACE_INCLUDE_DIRECTORIES ${ADMF_NATS_INCLUDE_DIR})
        endif()
        set(admf_have_nats ON)
    endif()
endif()
find_program(ADMF_NATS_SERVER nats-server PATHS /usr/sbin /usr/local/sbin)
message(STATUS "admf: NATS bridge: ${admf_have_nats}; nats-server: ${ADMF_NATS_SERVER}")
