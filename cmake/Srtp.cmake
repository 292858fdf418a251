# libsrtp2 for medrelay::srtp.
#
# Debian's libsrtp2-1 is built on NSS: AES-CM is ~4x slower and srtp_create ~250x slower than the
# same 2.5.0 source built on OpenSSL (docs/srtp.md). With MEDRELAY_SRTP_FROM_SOURCE (default) the
# configure step builds it once per checkout from Debian's source package into build/_deps, shared
# by every preset (scripts/build-libsrtp.sh); the system package is the fallback.
option(MEDRELAY_SRTP_FROM_SOURCE
  "Build libsrtp2 on OpenSSL from Debian's source package (else use the system libsrtp2)" ON)

add_library(medrelay_srtp INTERFACE)
add_library(medrelay::srtp ALIAS medrelay_srtp)

set(MEDRELAY_SRTP_BACKEND "")
if(MEDRELAY_SRTP_FROM_SOURCE)
  set(_srtp_prefix ${CMAKE_SOURCE_DIR}/build/_deps/libsrtp-openssl)
  set(_srtp_lib ${_srtp_prefix}/lib/libsrtp2.a)
  # The script is a no-op when the prefix already holds its build; run it every configure so a
  # changed recipe is picked up.
  execute_process(
    COMMAND ${CMAKE_SOURCE_DIR}/scripts/build-libsrtp.sh ${_srtp_prefix}
    RESULT_VARIABLE _srtp_rc
    ERROR_VARIABLE _srtp_err
    OUTPUT_VARIABLE _srtp_out)
  if(_srtp_rc EQUAL 0 AND EXISTS ${_srtp_lib})
    add_library(medrelay_srtp_openssl STATIC IMPORTED GLOBAL)
    set_target_properties(medrelay_srtp_openssl PROPERTIES IMPORTED_LOCATION ${_srtp_lib})
    # SYSTEM: its headers are not ours to warn about; listed before /usr/include so they win over
    # a system libsrtp2-dev.
    target_include_directories(medrelay_srtp SYSTEM BEFORE INTERFACE ${_srtp_prefix}/include)
    target_link_libraries(medrelay_srtp INTERFACE medrelay_srtp_openssl OpenSSL::Crypto)
    target_compile_definitions(medrelay_srtp INTERFACE MEDRELAY_SRTP_OPENSSL=1)
    set(MEDRELAY_SRTP_BACKEND openssl)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
      ${CMAKE_SOURCE_DIR}/scripts/build-libsrtp.sh)
  else()
    message(WARNING
      "libsrtp2 on OpenSSL could not be built (scripts/build-libsrtp.sh exited ${_srtp_rc}):\n"
      "${_srtp_err}\n"
      "Falling back to the system libsrtp2 (NSS): AES-CM protect ~4x slower, srtp_create ~250x "
      "slower. Fix the build or configure with -DMEDRELAY_SRTP_FROM_SOURCE=OFF to silence this.")
  endif()
endif()

if(NOT MEDRELAY_SRTP_BACKEND)
  pkg_check_modules(SRTP REQUIRED IMPORTED_TARGET libsrtp2)
  target_link_libraries(medrelay_srtp INTERFACE PkgConfig::SRTP)
  target_compile_definitions(medrelay_srtp INTERFACE MEDRELAY_SRTP_OPENSSL=0)
  set(MEDRELAY_SRTP_BACKEND system)
endif()
message(STATUS "libsrtp2: ${MEDRELAY_SRTP_BACKEND}")
