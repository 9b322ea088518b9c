# `cmake --install`: the libraries, the public headers under include/hubcast/<layer>/, the export
# set hubcast::*, hubcastConfig.cmake + its version file, and hubcast.pc.
include(CMakePackageConfigHelpers)

# The headers a program on hubcast includes and everything they include (hubcast's internals,
# e.g. the WebSocket frame reader or OpenSSL sessions, stay out). tests/install checks that
# each one compiles on its own from the installed prefix.
set(HUBCAST_PUBLIC_HEADERS
  auth/base64url.hpp auth/bearer.hpp auth/claims_principal.hpp auth/jwt.hpp auth/policy.hpp
  client/blocking.hpp client/http_client.hpp client/hub_connection.hpp
  core/ascii.hpp core/error.hpp core/event.hpp core/log.hpp core/run_on.hpp core/shards.hpp
  dispatch/hub_dispatcher.hpp
  http/cors.hpp http/exchange.hpp http/forwarded_headers.hpp http/request.hpp http/router.hpp
  http/server.hpp http/static_files.hpp http/websocket.hpp
  hubs/cancellation.hpp hubs/clients.hpp hubs/errors.hpp hubs/hub.hpp hubs/hub_filter.hpp
  hubs/method_table.hpp hubs/stream_source.hpp hubs/streams.hpp
  lifetime/client_results_manager.hpp lifetime/connection_directory.hpp
  lifetime/default_hub_lifetime_manager.hpp
  lifetime/hub_lifetime_manager.hpp lifetime/hub_lifetime_manager_factory.hpp
  metrics/hot_metrics.hpp metrics/hub_metrics.hpp metrics/metrics.hpp
  protocol/hub_message.hpp protocol/hub_protocol.hpp protocol/json_parse.hpp
  protocol/msgpack_view.hpp protocol/msgpack_writer.hpp protocol/payload.hpp
  protocol/raw_value.hpp protocol/value_codec.hpp
  redis/redis_backplane.hpp redis/redis_channels.hpp redis/redis_client.hpp
  redis/redis_hub_lifetime_manager.hpp redis/redis_options.hpp redis/redis_protocol.hpp
  redis/redis_value.hpp redis/use_redis.hpp
  server/app.hpp
  session/client_result.hpp session/heartbeat.hpp session/hub_options.hpp
  transport/authentication_refresh.hpp transport/connection.hpp
  transport/connection_handler.hpp transport/connection_manager.hpp
  transport/http_dispatcher.hpp transport/outbound_queue.hpp)

foreach(h ${HUBCAST_PUBLIC_HEADERS})
  get_filename_component(dir ${h} DIRECTORY)
  install(FILES ${PROJECT_SOURCE_DIR}/src/hubcast/${h}
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/hubcast/${dir} COMPONENT dev)
endforeach()

set_target_properties(hubcast_asio PROPERTIES EXPORT_NAME asio)
install(TARGETS ${HUBCAST_LIBRARIES} hubcast_asio EXPORT hubcastTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(HUBCAST_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/hubcast)
install(EXPORT hubcastTargets NAMESPACE hubcast:: DESTINATION ${HUBCAST_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hubcastConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hubcastConfig.cmake INSTALL_DESTINATION ${HUBCAST_CMAKE_DIR})
# 0.x: a new minor version may change the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hubcastConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hubcastConfig.cmake
  ${PROJECT_BINARY_DIR}/hubcastConfigVersion.cmake
  DESTINATION ${HUBCAST_CMAKE_DIR} COMPONENT dev)

# pkg-config for builds without CMake: static libraries, in link order (dependants first).
set(HUBCAST_PC_LIBS "")
foreach(l server dispatch hubs lifetime session transport auth http websocket_frames
          protocol core metrics)
  string(APPEND HUBCAST_PC_LIBS " -lhubcast_${l}")
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/cmake/hubcast.pc.in ${PROJECT_BINARY_DIR}/hubcast.pc @ONLY)
foreach(pc hubcast-redis hubcast-client)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
endforeach()
install(FILES ${PROJECT_BINARY_DIR}/hubcast.pc ${PROJECT_BINARY_DIR}/hubcast-redis.pc
  ${PROJECT_BINARY_DIR}/hubcast-client.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# `cmake --install --strip` and the Debian package (CPACK_STRIP_FILES): static libraries lose
# their debug sections too (their symbols stay: they are for linking).
install(CODE "
  if(CMAKE_INSTALL_DO_STRIP)
    file(GLOB _hubcast_archives \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/libhubcast_*.a\")
    foreach(_a \${_hubcast_archives})
      execute_process(COMMAND ${CMAKE_STRIP} --strip-debug \${_a})
    endforeach()
  endif()" COMPONENT dev)
