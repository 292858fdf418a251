# Every dependency comes from a Debian 12 package (scripts/install-deps.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(prometheus-cpp REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(CURL REQUIRED)  # webhooks: libcurl4-openssl-dev
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)
pkg_check_modules(USRSCTP REQUIRED IMPORTED_TARGET usrsctp)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)

# llhttp: Debian's node-llhttp ships the C sources; compile them in.
set(LLHTTP_SRC_DIR /usr/share/llhttp)
set(LLHTTP_INCLUDE_DIR /usr/share/include/llhttp)
if(NOT EXISTS ${LLHTTP_SRC_DIR}/llhttp.c OR NOT EXISTS ${LLHTTP_INCLUDE_DIR}/llhttp.h)
  message(FATAL_ERROR "llhttp sources not found: install node-llhttp (scripts/install-deps.sh)")
endif()
add_library(llhttp STATIC ${LLHTTP_SRC_DIR}/llhttp.c ${LLHTTP_SRC_DIR}/api.c ${LLHTTP_SRC_DIR}/http.c)
target_include_directories(llhttp SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
set_target_properties(llhttp PROPERTIES POSITION_INDEPENDENT_CODE ON)

include(cmake/Srtp.cmake)

add_library(medrelay_deps INTERFACE)
add_library(medrelay::deps ALIAS medrelay_deps)
target_link_libraries(medrelay_deps INTERFACE
  PkgConfig::LIBUV OpenSSL::SSL OpenSSL::Crypto medrelay::srtp PkgConfig::USRSCTP
  nlohmann_json::nlohmann_json spdlog::spdlog fmt::fmt yaml-cpp CLI11::CLI11
  prometheus-cpp::core SQLite::SQLite3 CURL::libcurl PkgConfig::HIREDIS llhttp Threads::Threads)
