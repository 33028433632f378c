# Shared by tests/unit and tests/stress (included by both; defines things once).
#   admf_test_support   Catch2 (v2 from Debian 12, or v3 where found) + its main(), the
#                       tests/support headers, admf_internal (warnings, sanitizer) and the
#                       third-party ring adapters this build found (ADMF_TEST_HAVE_BOOST,
#                       ADMF_TEST_HAVE_MOODYCAMEL).
#   admf_test_launcher  (global property) what runs a test executable: under TSan, `setarch <arch> -R`
#                       (TSan aborts on hosts with high mmap ASLR entropy, TESTING.md), else
#                       nothing. catch_discover_tests reads it from CROSSCOMPILING_EMULATOR,
#                       so test discovery at build time works under TSan too.
include_guard(GLOBAL)

find_package(Catch2 3 QUIET)
if(Catch2_FOUND)
    set(admf_catch_major 3)
else()
    find_package(Catch2 2 REQUIRED)
    set(admf_catch_major 2)
endif()
list(APPEND CMAKE_MODULE_PATH ${Catch2_DIR})
include(Catch)

if(admf_catch_major EQUAL 3)
    add_library(admf_test_support INTERFACE)
    target_link_libraries(admf_test_support INTERFACE Catch2::Catch2WithMain)
    target_compile_definitions(admf_test_support INTERFACE ADMF_TEST_CATCH3=1)
    set(admf_test_scope INTERFACE)
else()
    add_library(admf_test_support STATIC ${CMAKE_CURRENT_LIST_DIR}/catch_main.cpp)
    # Catch2's own implementation: GCC 12 -O1 with sanitizers reports false
    # -Wmaybe-uninitialized inside <regex> there; it is not our code to warn about.
    set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/catch_main.cpp PROPERTIES COMPILE_OPTIONS -w)
    target_link_libraries(admf_test_support PUBLIC Catch2::Catch2)
    set(admf_test_scope PUBLIC)
endif()
target_link_libraries(admf_test_support ${admf_test_scope} admf_internal)
target_include_directories(admf_test_support ${admf_test_scope} ${CMAKE_CURRENT_LIST_DIR})
if(admf_have_boost)
    target_compile_definitions(admf_test_support ${admf_test_scope} ADMF_TEST_HAVE_BOOST=1)
    if(TARGET Boost::headers)
        target_link_libraries(admf_test_support ${admf_test_scope} Boost::headers)
    else()
        target_include_directories(admf_test_support SYSTEM ${admf_test_scope} ${Boost_INCLUDE_DIRS})
    endif()
endif()
if(admf_have_moodycamel)
    target_compile_definitions(admf_test_support ${admf_test_scope} ADMF_TEST_HAVE_MOODYCAMEL=1)
    target_include_directories(admf_test_support SYSTEM ${admf_test_scope} ${ADMF_MOODYCAMEL_INCLUDE_DIR})
endif()

set(admf_test_launcher)
if(ADMF_SANITIZE MATCHES "thread")
    find_program(ADMF_SETARCH setarch)
    if(ADMF_SETARCH)
        # Only where the kernel lets us turn ASLR off (container seccomp may refuse).
        execute_process(COMMAND ${ADMF_SETARCH} ${CMAKE_HOST_SYSTEM_PROCESSOR} -R true
            RESULT_VARIABLE admf_setarch_result OUTPUT_QUIET ERROR_QUIET)
        if(admf_setarch_result EQUAL 0)
            set(admf_test_launcher ${ADMF_SETARCH} ${CMAKE_HOST_SYSTEM_PROCESSOR} -R)
        endif()
    endif()
endif()
# Global: the file is included once, by whichever test directory comes first.
set_property(GLOBAL PROPERTY admf_test_launcher "${admf_test_launcher}")

# admf_add_catch_test(<target> <source>... [PROPERTIES ...]): a Catch2 executable linked
# with admf_test_support, each test case registered as its own ctest.
function(admf_add_catch_test target)
    cmake_parse_arguments(arg "" "" "SOURCES;PROPERTIES" ${ARGN})
    add_executable(${target} ${arg_SOURCES})
    target_link_libraries(${target} PRIVATE admf_test_support)
    get_property(launcher GLOBAL PROPERTY admf_test_launcher)
    if(launcher)
        set_target_properties(${target} PROPERTIES CROSSCOMPILING_EMULATOR "${launcher}")
    endif()
    # -w NoTests: a ctest whose filter matches no test case fails (Catch2 exits 2) instead
    # of passing having run nothing. Test names must not contain ';' (CMake's list
    # separator): discovery would split one case into two ctests that match nothing.
    catch_discover_tests(${target} EXTRA_ARGS -w NoTests PROPERTIES ${arg_PROPERTIES})
endfunction()
