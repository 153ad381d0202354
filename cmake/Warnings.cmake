# Warnings on Postern's own targets; third-party headers come in as SYSTEM. They are errors only
# with POSTERN_WERROR (the test script and CI turn it on), so a newer compiler's new warnings
# never break a user's build.
function(postern_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra
    $<$<BOOL:${POSTERN_WERROR}>:-Werror>
    $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>
    # GCC 12 at -O3 reports std::string concatenations as overlapping copies (GCC bug 105329).
    $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>
    $<$<CXX_COMPILER_ID:Clang>:-Wshadow-uncaptured-local>)
endfunction()
