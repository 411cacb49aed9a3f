# cmake/TandemTests.cmake — how Tandem's test code is compiled (tests/**): the warning set, and
# quicker to build than the code under test. Test code is most of the build (GoogleTest macros,
# one executable per suite kind) and CI builds it twice (native, ASan), so:
#   - it is compiled without optimisation and with line tables only (-O0 -g1): backtraces keep
#     their file:line, and the code under test (libraries) keeps its own build type's flags;
#   - GoogleTest and the standard headers every test includes are precompiled once per target.
function(tandem_test_target target)
  tandem_warnings(${target})
  target_compile_options(${target} PRIVATE -O0 -g1)
  target_precompile_headers(${target} PRIVATE
    <gtest/gtest.h> <algorithm> <chrono> <cstdint> <functional> <map> <memory> <optional>
    <set> <string> <string_view> <thread> <vector>)
endfunction()

# How a GoogleTest unit binary becomes ctests. TANDEM_TEST_SHARDS = 0 (a developer's tree): one
# ctest per test (gtest_discover_tests; `ctest -R name` runs one). N > 0: N ctests per binary,
# each one GoogleTest shard (GTEST_TOTAL_SHARDS / GTEST_SHARD_INDEX: every test in exactly one
# shard). The asan preset shards: an ASan process takes 0.15 - 0.3 s to start, and a process per
# test cost the CI run ~80 s for ~750 unit tests that take a few seconds in all. Integration
# tests, each with its own servers, stay one per ctest everywhere.
#   tandem_unit_tests(target LABEL unit [PREFIX p.] [FILTER gtest-filter] [FIXTURE f] [ENVIRONMENT VAR=value])
set(TANDEM_TEST_SHARDS 0 CACHE STRING "GoogleTest unit binaries as this many sharded ctests each (0: one ctest per test)")
function(tandem_unit_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 T "" "LABEL;PREFIX;FILTER;FIXTURE;ENVIRONMENT" "")
  if(TANDEM_TEST_SHARDS GREATER 0)
    set(filter_arg)
    if(T_FILTER)
      set(filter_arg "--gtest_filter=${T_FILTER}")
    endif()
    set(part "")
    if(T_FILTER MATCHES "^-")
      set(part ".others")
    elseif(T_FILTER)
      set(part ".${T_FILTER}")
      string(REGEX REPLACE "[*_]+$" "" part "${part}")
    endif()
    math(EXPR last "${TANDEM_TEST_SHARDS} - 1")
    foreach(index RANGE ${last})
      math(EXPR shown "${index} + 1")
      set(name "${T_PREFIX}${target}${part}.shard-${shown}-of-${TANDEM_TEST_SHARDS}")
      add_test(NAME ${name} COMMAND ${target} ${filter_arg})
      set_tests_properties(${name} PROPERTIES LABELS ${T_LABEL}
                           ENVIRONMENT "GTEST_TOTAL_SHARDS=${TANDEM_TEST_SHARDS};GTEST_SHARD_INDEX=${index};${T_ENVIRONMENT}")
      if(T_FIXTURE)
        set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED ${T_FIXTURE})
      endif()
    endforeach()
    return()
  endif()
  set(args DISCOVERY_TIMEOUT 30)
  if(T_PREFIX)
    list(APPEND args TEST_PREFIX ${T_PREFIX})
  endif()
  if(T_FILTER)
    list(APPEND args TEST_FILTER ${T_FILTER})
  endif()
  # gtest_discover_tests splits lists given in PROPERTIES: one label, one variable, one fixture.
  list(APPEND args PROPERTIES LABELS ${T_LABEL})
  if(T_ENVIRONMENT)
    list(APPEND args ENVIRONMENT ${T_ENVIRONMENT})
  endif()
  if(T_FIXTURE)
    list(APPEND args FIXTURES_REQUIRED ${T_FIXTURE})
  endif()
  gtest_discover_tests(${target} ${args})
endfunction()
