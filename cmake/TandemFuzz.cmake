# cmake/TandemFuzz.cmake — coverage instrumentation for the libFuzzer targets (tests/fuzz).
#
# A fuzzer learns which inputs are interesting from the coverage of the code it drives, so in
# the clang sanitizer tree the libraries under test are compiled with
# -fsanitize=fuzzer-no-link (edge counters and comparison hooks, no libFuzzer main). Every
# other binary of that tree links them too and gets the hooks' no-op defaults from the ASan
# runtime; docs/FUZZING.md gives what that costs the rest of the ASan test run.
# Elsewhere (gcc, the wasm build, a clang build without sanitizers) this does nothing.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND TANDEM_SANITIZE AND TANDEM_BUILD_TESTS AND NOT EMSCRIPTEN)
  set(_tandem_fuzz_default ON)
else()
  set(_tandem_fuzz_default OFF)
endif()
option(TANDEM_FUZZ_COVERAGE "Instrument the core and server libraries for libFuzzer (clang sanitizer trees)"
       ${_tandem_fuzz_default})

function(tandem_fuzz_coverage target)
  if(TANDEM_FUZZ_COVERAGE)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
endfunction()
