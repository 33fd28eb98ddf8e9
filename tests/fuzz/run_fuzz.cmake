# Runs the loader fuzzer for the fuzz.loader test (see CMakeLists.txt):
#   MODE=libfuzzer: FUZZER for FUZZ_SECONDS on SEEDS, new inputs kept in WORK
#   MODE=replay:    FUZZER replays SEEDS, then RUNS random mutations of them
# Any crash, sanitizer report or broken invariant makes the test fail.
file(GLOB _seeds "${SEEDS}/*")
if(NOT _seeds)
  message(FATAL_ERROR "no seed corpus in ${SEEDS}: build the loader_fuzz target first")
endif()
file(MAKE_DIRECTORY ${WORK}/corpus)

if(MODE STREQUAL "libfuzzer")
  set(_cmd ${FUZZER} -max_total_time=${FUZZ_SECONDS} -timeout=10 -rss_limit_mb=2048
      -print_final_stats=1 -artifact_prefix=${WORK}/ ${WORK}/corpus ${SEEDS})
elseif(MODE STREQUAL "replay")
  set(_cmd ${FUZZER} -runs=${RUNS} -artifact_prefix=${WORK}/ ${SEEDS})
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()

list(JOIN _cmd " " _shown)
message(STATUS "running: ${_shown}")
execute_process(COMMAND ${_cmd} RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "loader fuzzer failed (${_rc}); crash inputs, if any, are in ${WORK}")
endif()
