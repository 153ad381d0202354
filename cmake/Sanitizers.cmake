# ASan + UBSan for the whole build when POSTERN_SANITIZE is on. A fuzz build instruments every
# library for libFuzzer's coverage and also runs under ASan + UBSan.
if(POSTERN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "POSTERN_FUZZ needs clang++ (libFuzzer)")
  endif()
  set(POSTERN_SANITIZE ON)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
if(POSTERN_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
