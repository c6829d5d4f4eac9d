# GwTable.cmake - the C rows of a table kept as a data file (TSV) in src/.
#
# Some tables are data: the KLAS events (src/klas/events.tsv), the
# configuration keys (src/config/keys.tsv), the console's texts
# (src/http/console_text.tsv), the shared reads' SQL
# (src/store/shared_reads.tsv), the command-line options
# (src/cli/options.tsv). Each is written once, as a TSV file beside
# its code, and turned at build time into an X-macro list in the build
# folder, which the C code includes and expands as it needs (an enum, an
# array, struct fields):
#
#   #define MACRO(X) \
#       X(cell, cell, ...) \
#       ...
#
# The data file: lines starting with # are comments, blank lines are
# skipped; the first other line is the header, naming the columns, one
# per tab-separated cell; every further line is a row, its cells separated
# by one tab each (missing cells at the end are empty). A column's header
# says how its cells become C:
#
#   name      the cell is C text (a number, a name, an expression), as is;
#             empty: 0
#   "name"    the cell is a string, written as a C string literal
#             (backslashes and quotes escaped); empty: NULL
#   name(M)   the cell is words separated by spaces, each written M(word),
#             joined by " | " (a set of bits, or one enum value through
#             M); empty: 0
#
# Script mode, run by the build (gw_table below):
#   cmake -DIN=table.tsv -DOUT=rows.h -DMACRO=NAME -DNAME=src/... -P GwTable.cmake
# Included from CMakeLists.txt it defines gw_table(). The output depends
# only on the data file: the same file gives the same text.

if(CMAKE_SCRIPT_MODE_FILE)
    cmake_policy(VERSION 3.25) # lists keep their empty cells
    # Characters that CMake's lists would take for themselves stand in as
    # control characters until a cell is written out.
    string(ASCII 1 semi)
    string(ASCII 2 lbracket)
    string(ASCII 3 rbracket)
    string(ASCII 4 backslash)
    file(READ "${IN}" text)
    string(REPLACE "\r" "" text "${text}")
    string(REPLACE "\\" "${backslash}" text "${text}")
    string(REPLACE ";" "${semi}" text "${text}")
    string(REPLACE "[" "${lbracket}" text "${text}")
    string(REPLACE "]" "${rbracket}" text "${text}")
    string(REPLACE "\n" ";" lines "${text}")

    set(out "/* Generated from ${NAME} by cmake/GwTable.cmake: edit that file. */\n")
    string(APPEND out "#define ${MACRO}(X)")
    set(header "")
    set(lineno 0)
    foreach(line IN LISTS lines)
        math(EXPR lineno "${lineno} + 1")
        if(line STREQUAL "" OR line MATCHES "^#")
            continue()
        endif()
        string(REPLACE "\t" ";" cells "${line}")
        if(NOT header)
            set(header "${cells}")
            list(LENGTH header ncols)
            continue()
        endif()
        list(LENGTH cells n)
        if(n GREATER ncols)
            message(FATAL_ERROR "${NAME}:${lineno}: ${n} cells, the header names ${ncols}")
        endif()
        while(n LESS ncols)
            list(APPEND cells "")
            math(EXPR n "${n} + 1")
        endwhile()
        set(row "")
        set(i 0)
        foreach(col IN LISTS header)
            list(GET cells ${i} cell)
            math(EXPR i "${i} + 1")
            string(STRIP "${cell}" cell)
            if(col MATCHES "^\"[^\"]+\"$")
                if(cell STREQUAL "")
                    set(c "NULL")
                else()
                    string(REPLACE "\"" "\\\"" cell "${cell}")
                    string(REPLACE "${backslash}" "\\\\" cell "${cell}")
                    set(c "\"${cell}\"")
                endif()
            elseif(cell STREQUAL "")
                set(c "0")
            elseif(col MATCHES "^[A-Za-z_][A-Za-z0-9_]*\\(([A-Za-z_][A-Za-z0-9_]*)\\)$")
                set(m "${CMAKE_MATCH_1}")
                string(REGEX REPLACE "[ ]+" ";" words "${cell}")
                set(c "")
                foreach(w IN LISTS words)
                    if(c)
                        string(APPEND c " | ")
                    endif()
                    string(APPEND c "${m}(${w})")
                endforeach()
            elseif(col MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
                string(REPLACE "${backslash}" "\\" c "${cell}")
            else()
                message(FATAL_ERROR "${NAME}: column header \"${col}\": "
                        "expected name, \"name\" or name(MACRO)")
            endif()
            if(i GREATER 1)
                string(APPEND row ", ")
            endif()
            string(APPEND row "${c}")
        endforeach()
        string(APPEND out " \\\n    X(${row})")
    endforeach()
    if(NOT header)
        message(FATAL_ERROR "${NAME}: no header row")
    endif()
    string(APPEND out "\n")
    string(REPLACE "${semi}" ";" out "${out}")
    string(REPLACE "${lbracket}" "[" out "${out}")
    string(REPLACE "${rbracket}" "]" out "${out}")
    file(WRITE "${OUT}" "${out}")
    return()
endif()

# gw_table(TARGET DATA MACRO): the rows of src/DATA as MACRO(X), in
# build/gen/<DATA without .tsv>_rows.h (included as "<same>_rows.h"),
# made before TARGET compiles and again whenever the data file changes.
function(gw_table target data macro)
    string(REGEX REPLACE "\\.tsv$" "_rows.h" rel "${data}")
    set(out ${PROJECT_BINARY_DIR}/gen/${rel})
    get_filename_component(dir ${out} DIRECTORY)
    add_custom_command(OUTPUT ${out}
        COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
        COMMAND ${CMAKE_COMMAND} -DIN=${PROJECT_SOURCE_DIR}/src/${data}
                -DOUT=${out} -DMACRO=${macro} -DNAME=src/${data}
                -P ${PROJECT_SOURCE_DIR}/cmake/GwTable.cmake
        DEPENDS ${PROJECT_SOURCE_DIR}/src/${data}
                ${PROJECT_SOURCE_DIR}/cmake/GwTable.cmake
        COMMENT "table: src/${data}"
        VERBATIM)
    target_sources(${target} PRIVATE ${out})
    target_include_directories(${target} PUBLIC ${PROJECT_BINARY_DIR}/gen)
endfunction()
