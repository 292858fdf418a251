# libsrtp2. Placeholder: the system package (built on NSS). Replaced by the OpenSSL build from
# Debian's source package (see the media issue).
pkg_check_modules(SRTP REQUIRED IMPORTED_TARGET libsrtp2)
add_library(medrelay_srtp INTERFACE)
add_library(medrelay::srtp ALIAS medrelay_srtp)
target_link_libraries(medrelay_srtp INTERFACE PkgConfig::SRTP)
