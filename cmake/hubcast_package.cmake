# `cpack -G DEB` in a build folder: two Debian packages (docs/using-hubcast.md, tests/e2e/packages):
#   libhubcast-dev  the headers, static libraries, CMake package and pkg-config files (component dev)
#   stockhub        the service: /usr/bin/stockhub, /etc/stockhub/appsettings.json (a conffile),
#                   the dashboard under /usr/share/stockhub/wwwroot, the systemd unit (its user is
#                   systemd's DynamicUser) (component stockhub)
# Both with /usr/share/doc/<package>/copyright and changelog.gz. Binaries are stripped.
set(HUBCAST_PKG_DOC ${PROJECT_BINARY_DIR}/package-doc)
file(MAKE_DIRECTORY ${HUBCAST_PKG_DOC})
# changelog.gz as Debian wants it: gzip -9n (no name, no time stamp).
add_custom_command(OUTPUT ${HUBCAST_PKG_DOC}/changelog.gz
  COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/cmake/package/changelog > ${HUBCAST_PKG_DOC}/changelog.gz
  DEPENDS ${PROJECT_SOURCE_DIR}/cmake/package/changelog VERBATIM)
add_custom_target(hubcast-package-doc ALL DEPENDS ${HUBCAST_PKG_DOC}/changelog.gz)

foreach(component dev stockhub)
  if(component STREQUAL "dev")
    set(package libhubcast-dev)
  else()
    set(package stockhub)
  endif()
  install(FILES ${PROJECT_SOURCE_DIR}/cmake/package/copyright ${HUBCAST_PKG_DOC}/changelog.gz
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${package} COMPONENT ${component})
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hubcast)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "hubcast")
set(CPACK_PACKAGE_CONTACT "hubcast developers <hubcast@users.noreply.github.com>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL dev stockhub)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/hubcast/hubcast")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libhubcast-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION "C++20 real-time hub server speaking ASP.NET Core SignalR
hubcast serves the official SignalR clients (JavaScript, .NET) unchanged:
hubs, groups, streams, client results, JWT bearer authentication, the Redis
backplane of ASP.NET Core, and a C++ client. This package has the headers,
the static libraries, the CMake package (find_package(hubcast)) and the
pkg-config files.")
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libboost1.81-dev, libboost-json1.81-dev, libboost-url1.81-dev, libssl-dev (>= 3.0), libspdlog-dev, prometheus-cpp-dev, libhiredis-dev, pkg-config")

set(CPACK_DEBIAN_STOCKHUB_PACKAGE_NAME stockhub)
set(CPACK_DEBIAN_STOCKHUB_PACKAGE_SHLIBDEPS ON)
set(CPACK_COMPONENT_STOCKHUB_DESCRIPTION "stock prices streamed over SignalR, secured with JWT
stockhub streams stock prices to each user's subscriptions over ASP.NET Core
SignalR's protocol (WebSockets, Server-Sent Events, long polling; JSON and
MessagePack), with JWT bearer tokens and refresh, admin-only methods, a
dashboard, Prometheus metrics and scale-out on Redis. It runs as a systemd
service (stockhub.service).")
set(CPACK_DEBIAN_STOCKHUB_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/package/stockhub/conffiles)

include(CPack)
