# cmake/TandemWarnings.cmake — the warning set for Tandem's own code. Warnings are errors.
# Third-party sources compiled from Debian source packages (wasm builds) do not use this.
function(tandem_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
    -Wimplicit-fallthrough -Wcast-qual -Wformat=2 -Werror)
endfunction()
