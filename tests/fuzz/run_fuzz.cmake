# cmake -DFUZZER= -DSEEDS= -DWORK= -DARTIFACTS= -DSECONDS= [-DEXTRA=args] -P run_fuzz.cmake
# Copies the committed seeds into WORK (kept between runs, so the build-dir
# corpus grows) and fuzzes for SECONDS; fails if the fuzzer reports anything.
foreach(v FUZZER SEEDS WORK ARTIFACTS SECONDS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_fuzz.cmake: ${v} not set")
  endif()
endforeach()
file(MAKE_DIRECTORY ${WORK} ${ARTIFACTS})
file(GLOB seeds ${SEEDS}/*)
if(NOT seeds)
  message(FATAL_ERROR "no seeds in ${SEEDS}")
endif()
file(COPY ${seeds} DESTINATION ${WORK})
execute_process(COMMAND ${FUZZER} ${EXTRA} -max_total_time=${SECONDS} -rss_limit_mb=2048
                        -timeout=10 -print_final_stats=1
                        -artifact_prefix=${ARTIFACTS}/ ${WORK}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found ${ARTIFACTS}/*)
  message(FATAL_ERROR "${FUZZER} failed (exit ${rc}); reproducers: ${found}")
endif()
