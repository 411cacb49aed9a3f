# cmake/TandemFuzz.cmake — coverage instrumentation for the libFuzzer targets (tests/fuzz).
#
# A fuzzer learns which inputs are interesting from the coverage of the code it drives, so in
# the clang sanitizer tree the libraries under test are compiled with
# -fsanitize=fuzzer-no-link (edge counters and comparison hooks, no libFuzzer main). Every
# other binary of that tree links them too and gets the hooks' no-op defaults from the ASan
# runtime: about 10 % more CPU for the rest of the ASan test run (docs/FUZZING.md).
# Elsewhere (gcc, the wasm build, a clang build without sanitizers or tests) it does nothing,
# whatever the option says, so a tree that changes compiler needs no cache edit.
option(TANDEM_FUZZ_COVERAGE "Instrument the core and server libraries for libFuzzer (clang sanitizer trees only)" ON)
if(TANDEM_FUZZ_COVERAGE AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND TANDEM_SANITIZE AND TANDEM_BUILD_TESTS
   AND NOT EMSCRIPTEN)
  set(TANDEM_FUZZ_INSTRUMENT ON)
else()
  set(TANDEM_FUZZ_INSTRUMENT OFF)
endif()

function(tandem_fuzz_coverage target)
  if(TANDEM_FUZZ_INSTRUMENT)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
endfunction()
