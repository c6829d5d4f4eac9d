# gSOAP code for the contracts in wsdl/, generated at build time into the
# build tree (never committed): wsdl2h turns every WSDL into one header,
# soapcpp2 turns it into C serialisers, client stubs and a dispatcher.
#
#   gw_soapgen   static library: the generated serialisers and client
#                stubs, one namespace table and gSOAP's libcurl plugin
#                (outbound calls go through libcurl). Linked whole: libgsoap
#                itself calls into the generated code (soap_getfault,
#                soap_getheader, namespaces, ...), which a plain archive
#                would not supply.
#   GW_SOAPGEN_SERVER  the generated dispatcher (soap_serve), compiled only
#                into the klasgw binary with the simulators that implement
#                its operations.
#
# Users: outbound/hsa.c and outbound/lv.c (clients), src/sim/ (servers and
# the LV simulator's calls back), tests/tools/soapclient.c (contract test).
# Generated code is compiled without our warning flags: it is not ours to
# fix, and -Werror must not trip on it.
find_program(GW_WSDL2H wsdl2h REQUIRED)
find_program(GW_SOAPCPP2 soapcpp2 REQUIRED)
find_path(GW_GSOAP_SHARE plugin/curlapi.c PATHS /usr/share/gsoap REQUIRED)
find_path(GW_GSOAP_IMPORT soap12.h PATHS /usr/share/gsoap/import REQUIRED)

# RIV-TA layout: wsdl/schemas/interactions/<Name>Interaction/ (the WSDL and
# its Responder XSD), wsdl/schemas/core_components/ (shared XSDs).
file(GLOB GW_WSDL_FILES CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/wsdl/schemas/interactions/*/*.wsdl)
file(GLOB_RECURSE GW_XSD_FILES CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/wsdl/schemas/*.xsd)
set(GW_SOAPGEN_DIR ${PROJECT_BINARY_DIR}/gsoap)
set(GW_SOAPGEN_OUT
    ${GW_SOAPGEN_DIR}/gwsoapC.c ${GW_SOAPGEN_DIR}/gwsoapClient.c
    ${GW_SOAPGEN_DIR}/gwsoapServer.c ${GW_SOAPGEN_DIR}/gwsoapH.h
    ${GW_SOAPGEN_DIR}/gwsoapStub.h
    ${GW_SOAPGEN_DIR}/SubmitLicenseMotivationResponderBinding.nsmap)
add_custom_command(
    OUTPUT ${GW_SOAPGEN_OUT}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${GW_SOAPGEN_DIR}
    COMMAND ${GW_WSDL2H} -c -W -t ${PROJECT_SOURCE_DIR}/cmake/gsoap-typemap.dat
            -o ${GW_SOAPGEN_DIR}/klas.h ${GW_WSDL_FILES}
    COMMAND ${GW_SOAPCPP2} -c -x -L -w -p gwsoap -d ${GW_SOAPGEN_DIR}
            -I${GW_GSOAP_IMPORT} ${GW_SOAPGEN_DIR}/klas.h
    DEPENDS ${GW_WSDL_FILES} ${GW_XSD_FILES}
            ${PROJECT_SOURCE_DIR}/cmake/gsoap-typemap.dat
    COMMENT "gSOAP: wsdl2h + soapcpp2 over wsdl/"
    VERBATIM)

# The one namespace table a gSOAP program must define.
file(WRITE ${PROJECT_BINARY_DIR}/gsoap-nsmap.c.in
     "#include \"gwsoapH.h\"\n#include \"SubmitLicenseMotivationResponderBinding.nsmap\"\n")
configure_file(${PROJECT_BINARY_DIR}/gsoap-nsmap.c.in
               ${GW_SOAPGEN_DIR}/gwsoap_nsmap.c COPYONLY)

add_library(gw_soapgen STATIC ${GW_SOAPGEN_DIR}/gwsoapC.c
            ${GW_SOAPGEN_DIR}/gwsoapClient.c ${GW_SOAPGEN_DIR}/gwsoap_nsmap.c
            ${GW_GSOAP_SHARE}/plugin/curlapi.c)
set(GW_SOAPGEN_SERVER ${GW_SOAPGEN_DIR}/gwsoapServer.c)
set_source_files_properties(${GW_SOAPGEN_SERVER} PROPERTIES
    GENERATED TRUE COMPILE_OPTIONS "-w")
set_source_files_properties(${GW_SOAPGEN_DIR}/gwsoap_nsmap.c
    PROPERTIES OBJECT_DEPENDS "${GW_SOAPGEN_OUT}")
target_include_directories(gw_soapgen SYSTEM PUBLIC ${GW_SOAPGEN_DIR}
                           ${GW_GSOAP_SHARE}/plugin)
target_compile_options(gw_soapgen PRIVATE -w -Wno-error)
target_link_libraries(gw_soapgen PUBLIC PkgConfig::GSOAP PkgConfig::CURL)
