# Run with cmake -P (see CMakeLists.txt here): installs admf-bus into a fresh prefix the way a
# user would, then builds and runs the find_package consumer against that prefix only.
#
# Inputs: ADMF_SOURCE_DIR, CONSUMER_SOURCE_DIR, WORK_DIR, GENERATOR, MAKE_PROGRAM,
#         CXX_COMPILER, BUILD_TYPE (may be empty).
cmake_minimum_required(VERSION 3.21)

foreach(var ADMF_SOURCE_DIR CONSUMER_SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "install_and_consume.cmake: -D${var}=... is required")
    endif()
endforeach()

set(admf_build ${WORK_DIR}/admf-build)
set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/consumer-build)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run step)
    message(STATUS "package.find_package: ${step}")
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "package.find_package: ${step} failed (${rc})")
    endif()
endfunction()

set(make_program)
if(MAKE_PROGRAM)
    set(make_program -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()

run("configure admf-bus"
    ${CMAKE_COMMAND} -S ${ADMF_SOURCE_DIR} -B ${admf_build} -G ${GENERATOR} ${make_program}
        -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
        -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
        -DCMAKE_INSTALL_PREFIX=${prefix}
        -DADMF_BUILD_TESTS=OFF -DADMF_BUILD_BENCHMARKS=OFF -DADMF_BUILD_EXAMPLES=OFF)
run("build admf-bus" ${CMAKE_COMMAND} --build ${admf_build})
run("install admf-bus into ${prefix}" ${CMAKE_COMMAND} --install ${admf_build})

# The install tree a user gets: headers and the package files.
foreach(file
        include/admf/version.hpp
        include/admf/ring/spsc_ring.hpp
        include/admf/ring/mpmc_ring.hpp
        share/cmake/admf/admfConfig.cmake
        share/cmake/admf/admfConfigVersion.cmake
        share/cmake/admf/admfTargets.cmake)
    if(NOT EXISTS ${prefix}/${file})
        message(FATAL_ERROR "package.find_package: ${prefix}/${file} was not installed")
    endif()
endforeach()

# The consumer sees only the install prefix: no build tree, no package registry.
run("build and run the consumer"
    ${CMAKE_CTEST_COMMAND} --build-and-test ${CONSUMER_SOURCE_DIR} ${consumer_build}
        --build-generator ${GENERATOR}
        --build-options
            -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
            -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
            -DCMAKE_PREFIX_PATH=${prefix}
            -DADMF_EXPECTED_PREFIX=${prefix}
            -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
        --test-command app)
