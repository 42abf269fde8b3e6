# Helpers shared by every target: warnings, sanitizers, test registration.

# nmar_target_defaults(<target>): warnings and (optionally) sanitizers for a target we own.
function(nmar_target_defaults target)
  # -fPIC everywhere (executables too: they link as PIE): one precompiled header fits all targets.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter -fPIC)
  if(NMAR_ENABLE_SANITIZERS)
    # -g1: line tables only. Reports keep file:line; the whole core's tests under the sanitizers
    # stay a few GB instead of tens (full debug info in every statically linked test).
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -g1)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# Run-time options of the sanitizer build's tests: leaks are errors, undefined behaviour stops the
# test with a stack trace (UBSan only prints by default), and the suppression files name what
# belongs to uninstrumented third-party code (LibTorch).
set(NMAR_SANITIZER_ENV
  "ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1"
  "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=${CMAKE_CURRENT_LIST_DIR}/sanitizers/ubsan.supp"
  "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_LIST_DIR}/sanitizers/lsan.supp")

# nmar_torch_pch(<target>): compile <torch/torch.h> once (target nmar_torch_pch, made in core/) and
# reuse it in every target whose sources include Torch. Parsing the Torch headers is most of the
# compile time of a core file; with the shared PCH a file compiles in seconds on a 2-core machine.
function(nmar_torch_pch target)
  if(NMAR_USE_PCH AND TARGET nmar_torch_pch)
    target_precompile_headers(${target} REUSE_FROM nmar_torch_pch)
  endif()
endfunction()

# nmar_qt_defaults(<target>): Qt targets never see the keywords 'slots'/'signals' (Torch uses them).
function(nmar_qt_defaults target)
  set_target_properties(${target} PROPERTIES AUTOMOC ON AUTORCC ON)
  target_compile_definitions(${target} PRIVATE QT_NO_KEYWORDS QT_NO_CONTEXTLESS_CONNECT)
endfunction()

# nmar_add_test(NAME <name> SOURCES <...> LIBS <...> LABELS <...> [QT])
# One executable per test class, registered with ctest under its labels.
function(nmar_add_test)
  cmake_parse_arguments(T "QT" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  nmar_target_defaults(${T_NAME})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS})
  # NMAR_FIXTURES_DIR and NMAR_SOURCE_DIR come from the generated nmar_test_paths.h
  target_include_directories(${T_NAME} PRIVATE ${PROJECT_BINARY_DIR}/generated)
  if(T_QT)
    nmar_qt_defaults(${T_NAME})
    target_link_libraries(${T_NAME} PRIVATE Qt6::Test)
    add_test(NAME ${T_NAME} COMMAND ${T_NAME} -platform offscreen)
    set_tests_properties(${T_NAME} PROPERTIES ENVIRONMENT "QT_QPA_PLATFORM=offscreen")
  else()
    nmar_torch_pch(${T_NAME})
    target_link_libraries(${T_NAME} PRIVATE GTest::gtest GTest::gtest_main)
    add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  endif()
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT 900)
  if(NMAR_ENABLE_SANITIZERS)
    set_property(TEST ${T_NAME} APPEND PROPERTY ENVIRONMENT ${NMAR_SANITIZER_ENV})
  endif()
endfunction()
