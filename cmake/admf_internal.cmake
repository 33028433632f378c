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
