# Warnings are errors on Postern's own targets; third-party headers come in as SYSTEM.
function(postern_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror
    $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>
    # GCC 12 at -O3 reports std::string concatenations as overlapping copies (GCC bug 105329).
    $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>
    $<$<CXX_COMPILER_ID:Clang>:-Wshadow-uncaptured-local>)
endfunction()
