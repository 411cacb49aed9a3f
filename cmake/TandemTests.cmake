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
