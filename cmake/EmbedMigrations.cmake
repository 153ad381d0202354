# Turns migrations/NNNN_name.sql into a generated C++ table, so the binaries carry their schema.
# Call from the directory of the target that compiles the output (a CMake rule).
function(postern_embed_migrations out_var)
  file(GLOB files CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/migrations/[0-9][0-9][0-9][0-9]_*.sql")
  list(SORT files)
  set(out "${CMAKE_BINARY_DIR}/generated/embedded_migrations.cpp")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} "-DFILES=${files}"
            -P "${CMAKE_SOURCE_DIR}/cmake/embed_migrations_script.cmake"
    DEPENDS ${files} "${CMAKE_SOURCE_DIR}/cmake/embed_migrations_script.cmake"
    COMMENT "Embedding SQL migrations"
    VERBATIM)
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()
