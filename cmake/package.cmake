# cpack -G DEB (from the build directory): molt_<version>_<arch>.deb, the
# tree `cmake --install` writes (cmake/install.cmake) under /usr: molt,
# molt-bundle, the headers, molt.pc, the CMake package, the test kit, the
# man pages, bash completion and the systemd unit, in one package.
# Depends comes from dpkg-shlibdeps (dpkg-dev) on the installed programs;
# the tools a module's author builds with are Recommends.
set(CPACK_PACKAGE_NAME molt)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "molt")
set(CPACK_PACKAGE_CONTACT "molt maintainers <molt@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "service container for C with Erlang/OTP-style hot code upgrade")
set(CPACK_PACKAGE_DESCRIPTION
    "molt runs C services as actors in .so modules under supervisors and upgrades them in place, with state kept. This package holds molt, molt-bundle, the module headers, molt.pc, the CMake package (find_package(Molt)) and the module test kit.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # molt_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Building modules and their tests against the test kit (Molt::testkit).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "cmake, pkg-config, gcc | c-compiler, libcriterion-dev, libuv1-dev, libcjson-dev, libsodium-dev, libunwind-dev, libsystemd-dev, libhttp-parser-dev")
set(CPACK_STRIP_FILES OFF)
set(CPACK_SOURCE_IGNORE_FILES "/build/;/\\\\.git/")
include(CPack)
