# gw_add_cmocka_test(NAME SOURCES...): one cmocka program per module,
# linked with gw_core and registered with ctest (after libssh's
# AddCMockaTest.cmake). Tests find their fixtures through GW_SOURCE_DIR.
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)

function(gw_add_cmocka_test name)
    add_executable(${name} ${ARGN})
    target_link_libraries(${name} PRIVATE gw_core PkgConfig::CMOCKA)
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES
        LABELS unit
        TIMEOUT 300
        ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout;GW_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
