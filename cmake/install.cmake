# cmake --install build [--prefix P]: molt, molt-bundle, the public headers
# (with the generated molt/version.h), molt.pc for modules built by hand,
# the CMake package (find_package(Molt), cmake/MoltConfig.cmake.in), the
# module test kit and the systemd unit. Everything installed finds the rest
# relative to itself: the prefix can move.
include(CMakePackageConfigHelpers)

install(TARGETS molt molt-bundle RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/runtime/include/molt/module.h ${CMAKE_SOURCE_DIR}/runtime/include/molt/actor.h
              ${CMAKE_SOURCE_DIR}/runtime/include/molt/tcp.h ${CMAKE_SOURCE_DIR}/runtime/include/molt/errno.h
              ${MOLT_GENERATED_INCLUDE}/molt/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/molt)

set(MOLT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Molt)
set(MOLT_PKGCONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# molt.pc names its prefix relative to its own directory (${pcfiledir}).
file(RELATIVE_PATH MOLT_PC_TO_PREFIX /prefix/${MOLT_PKGCONFIG_DIR} /prefix)
string(REGEX REPLACE "/$" "" MOLT_PC_TO_PREFIX "${MOLT_PC_TO_PREFIX}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/molt.pc.in ${CMAKE_BINARY_DIR}/molt.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/molt.pc DESTINATION ${MOLT_PKGCONFIG_DIR})

file(STRINGS ${CMAKE_SOURCE_DIR}/runtime/include/molt/module.h abi_line
     REGEX "^#define MOLT_ABI_VERSION [0-9]+u?$")
string(REGEX REPLACE "^#define MOLT_ABI_VERSION ([0-9]+)u?$" "\\1" MOLT_ABI_VERSION "${abi_line}")
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/MoltConfig.cmake.in
  ${CMAKE_BINARY_DIR}/MoltConfig.cmake
  INSTALL_DESTINATION ${MOLT_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_BINDIR CMAKE_INSTALL_LIBDIR)
# Modules built against 0.15 headers need a 0.15 molt: the module ABI may
# grow within a major version, so the minor version has to match too.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/MoltConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/MoltConfig.cmake ${CMAKE_BINARY_DIR}/MoltConfigVersion.cmake
              ${CMAKE_SOURCE_DIR}/runtime/exports.list
        DESTINATION ${MOLT_CMAKE_DIR})

# The module test kit: tests/support/module_harness.c on the whole runtime,
# as molt_add_module_test() builds it in this tree (Criterion: not under TSan).
if(TARGET molt_testkit)
  install(TARGETS molt_testkit ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(FILES ${CMAKE_SOURCE_DIR}/tests/support/module_harness.h
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/molt RENAME testkit.h)
endif()

# The unit's ExecStart names /usr/local/bin/molt; installed, it names the
# molt of the prefix installed to (/usr/bin/molt in the .deb, whose
# CMAKE_INSTALL_PREFIX is /usr at install time).
if(EXISTS ${CMAKE_SOURCE_DIR}/packaging/molt@.service)
  install(CODE "
    file(READ \"${CMAKE_SOURCE_DIR}/packaging/molt@.service\" unit)
    string(REPLACE \"ExecStart=/usr/local/bin/molt \" \"ExecStart=\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/molt \" unit \"\${unit}\")
    set(dest \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system/molt@.service\")
    message(STATUS \"Installing: \${dest}\")
    file(WRITE \"\${dest}\" \"\${unit}\")
    list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system/molt@.service\")")
endif()
