# Audit test (ctest audit_no_code_loading): no source file may load code or pickles from a file,
# because checkpoints, tokenizers and traces come from other people. Run as
#   cmake -DNMAR_SOURCE_DIR=<root> -P cmake/check_no_code_loading.cmake
# There is no allowed use (the optimizer state is safetensors + JSON metadata, see
# core/train/optimizer_state.h); any hit fails the test with its place.
set(patterns "torch::jit::load" "jit::load" "torch::load" "_load_for_mobile" "InputArchive"
             "import_ir_module" "unpickle" "Unpickler" "dlopen")
set(allowed "")
file(GLOB_RECURSE sources RELATIVE ${NMAR_SOURCE_DIR}
     ${NMAR_SOURCE_DIR}/core/*.cpp ${NMAR_SOURCE_DIR}/core/*.h
     ${NMAR_SOURCE_DIR}/app/*.cpp ${NMAR_SOURCE_DIR}/app/*.h
     ${NMAR_SOURCE_DIR}/widgets/*.cpp ${NMAR_SOURCE_DIR}/widgets/*.h
     ${NMAR_SOURCE_DIR}/viz/*.cpp ${NMAR_SOURCE_DIR}/viz/*.h)
set(found "")
foreach(source ${sources})
  file(STRINGS ${NMAR_SOURCE_DIR}/${source} lines)
  foreach(pattern ${patterns})
    foreach(line IN LISTS lines)
      string(FIND "${line}" "${pattern}" at)
      string(REGEX MATCH "^[ \t]*//" comment "${line}")
      if(at GREATER -1 AND NOT comment)
        list(FIND allowed "${source}:${pattern}" ok)
        if(ok EQUAL -1)
          string(APPEND found "\n  ${source}: '${pattern}' in: ${line}")
        endif()
      endif()
    endforeach()
  endforeach()
endforeach()
if(found)
  message(FATAL_ERROR "code or pickle loading outside the allowed place:${found}")
endif()
list(LENGTH sources n)
message(STATUS "audit_no_code_loading: ${n} files, no code or pickle loading")
