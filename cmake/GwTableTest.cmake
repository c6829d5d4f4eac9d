# GwTableTest.cmake - the table generator (GwTable.cmake) on cells that
# CMake's lists and strings would take for their own: semicolons,
# brackets, backslashes, quotes, ${...}, @...@, empty and missing cells.
# ctest table_generator:
#   cmake -DGEN=cmake/GwTable.cmake -DDIR=<scratch folder> -P GwTableTest.cmake
cmake_policy(VERSION 3.25)
file(MAKE_DIRECTORY "${DIR}")
set(in "${DIR}/t.tsv")
set(out "${DIR}/t_rows.h")

# Tabs and backslashes spelled out with file(CONFIGURE) would be read by
# CMake first; the fixture is built from pieces instead.
string(ASCII 9 tab)
string(ASCII 92 bs)
set(fixture "# a comment; [with] list characters\n\n")
string(APPEND fixture "id${tab}n${tab}\"text\"${tab}set(M)\n")
string(APPEND fixture "A${tab}1L << 30${tab}a; b [c] \"d\" ${bs}n \${X} @Y@ åäö${tab}P Q\n")
string(APPEND fixture "# a comment between rows\n")
string(APPEND fixture "B${tab}${tab}${tab}\n")
string(APPEND fixture "C\n")
file(WRITE "${in}" "${fixture}")

execute_process(COMMAND ${CMAKE_COMMAND} -DIN=${in} -DOUT=${out} -DMACRO=ROWS
                        -DNAME=t.tsv -P ${GEN}
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the generator failed: ${err}")
endif()
file(READ "${out}" got)
set(want "/* Generated from t.tsv by cmake/GwTable.cmake: edit that file. */\n")
string(APPEND want "#define ROWS(X) ${bs}\n")
string(APPEND want "    X(A, 1L << 30, \"a; b [c] ${bs}\"d${bs}\" ${bs}${bs}n \${X} @Y@ åäö\", M(P) | M(Q)) ${bs}\n")
string(APPEND want "    X(B, 0, NULL, 0) ${bs}\n")
string(APPEND want "    X(C, 0, NULL, 0)\n")
if(NOT got STREQUAL want)
    message(FATAL_ERROR "generated:\n${got}\nexpected:\n${want}")
endif()

# A row with more cells than the header names is refused, naming its line.
file(WRITE "${in}" "a${tab}b\n1${tab}2${tab}3\n")
execute_process(COMMAND ${CMAKE_COMMAND} -DIN=${in} -DOUT=${out} -DMACRO=ROWS
                        -DNAME=t.tsv -P ${GEN}
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "t.tsv:2: 3 cells")
    message(FATAL_ERROR "a row too long was not refused: ${err}")
endif()
message(STATUS "table generator: ok")
