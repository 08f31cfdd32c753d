# `cmake --install`: the binary (src/cli), and for programs that link modelsign: the
# static libraries, the public headers, a CMake package (find_package(modelsign) gives
# modelsign::modelsign) and a pkg-config file (modelsign.pc). CPack: a Debian package.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Link order: the registry, the providers it names, then the core they all use.
set(MODELSIGN_INSTALLED_LIBS modelsign ${MODELSIGN_PROVIDER_LIBS} modelsign_core)
install(TARGETS ${MODELSIGN_INSTALLED_LIBS} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/modelsign DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(MODELSIGN_LINK_NAMES "")
set(MODELSIGN_PC_LIBS "")
foreach(lib ${MODELSIGN_INSTALLED_LIBS})
  list(APPEND MODELSIGN_LINK_NAMES "lib${lib}.a")
  string(APPEND MODELSIGN_PC_LIBS " -l${lib}")
endforeach()

# The core links liburing when the build found it (src/CMakeLists.txt): consumers need it too.
set(MODELSIGN_PC_REQUIRES_EXTRA "")
if(MODELSIGN_HAVE_LIBURING)
  set(MODELSIGN_PC_REQUIRES_EXTRA ", liburing")
endif()

set(MODELSIGN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/modelsign)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/modelsignConfig.cmake.in
  ${PROJECT_BINARY_DIR}/modelsignConfig.cmake
  INSTALL_DESTINATION ${MODELSIGN_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/modelsignConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/modelsignConfig.cmake ${PROJECT_BINARY_DIR}/modelsignConfigVersion.cmake
        DESTINATION ${MODELSIGN_CMAKE_DIR})

# pkg-config: prefix relative to the .pc file, so an install under any --prefix works.
set(MODELSIGN_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH MODELSIGN_PC_TO_PREFIX /${MODELSIGN_PC_DIR} /)
string(REGEX REPLACE "/$" "" MODELSIGN_PC_TO_PREFIX "${MODELSIGN_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/modelsign.pc.in ${PROJECT_BINARY_DIR}/modelsign.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/modelsign.pc DESTINATION ${MODELSIGN_PC_DIR})

# Debian package: modelsign_<version>_amd64.deb. Depends is computed by dpkg-shlibdeps
# from what the binary links; the TPM connection modules are loaded at run time, so they
# are named here.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME modelsign)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Sign and verify ML models (OpenSSF Model Signing format)")
set(CPACK_PACKAGE_CONTACT "modelsign maintainers <modelsign@users.noreply.github.com>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libtss2-tcti-device0, ca-certificates")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libtss2-tcti-swtpm0, libtss2-tcti-tabrmd0, softhsm2, libssl-dev, libfmt-dev, libp11-kit-dev, libtss2-dev")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# With the Python package: a second package, python3-modelsign (the install component
# "python", python/CMakeLists.txt), for the interpreter it was built for; modelsign keeps
# everything else.
if(MODELSIGN_PYTHON)
  set(CPACK_DEB_COMPONENT_INSTALL ON)
  set(CPACK_COMPONENTS_ALL Unspecified python)
  set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_NAME modelsign)
  set(CPACK_DEBIAN_UNSPECIFIED_FILE_NAME DEB-DEFAULT)
  set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-modelsign)
  set(CPACK_DEBIAN_PYTHON_FILE_NAME DEB-DEFAULT)
  set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
  set(CPACK_DEBIAN_PYTHON_DESCRIPTION "Sign and verify ML models from Python (modelsign)")
  math(EXPR modelsign_py_next "${Python3_VERSION_MINOR} + 1")
  set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS
      "python3 (>= ${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}~), python3 (<< ${Python3_VERSION_MAJOR}.${modelsign_py_next}), modelsign (= ${PROJECT_VERSION})")
endif()
include(CPack)
