// The instruments of ASP.NET Core's meters, under the names an OpenTelemetry Prometheus
// exporter gives them (docs/metrics.md), and hubcast's own that are not per message.
#pragma once

#include <chrono>
#include <string_view>

namespace hubcast::metrics {

// Creates the families now (a scrape before the first connection shows the gauges at 0).
void register_server_instruments();

// signalr_server_active_connections{signalr_transport} and, at the end,
// signalr_server_connection_duration_seconds{signalr_connection_status, signalr_transport}.
// `transport`: web_sockets | server_sent_events | long_polling;
// `status`: normal_closure | timeout | app_shutdown.
void connection_started(std::string_view transport);
void connection_ended(std::string_view transport, std::string_view status,
                      std::chrono::steady_clock::duration lasted);

// http_server_request_duration_seconds{http_request_method, http_route,
// http_response_status_code}; `route` empty when no route matched (the label is left out).
void http_request(std::string_view method, std::string_view route, int status,
                  std::chrono::steady_clock::duration took);

// hubcast_jwt_validation_failures_total{reason}.
void jwt_rejected(std::string_view reason);

// hubcast_authentication_refreshes_total{outcome}: POST {hub}/refresh answers. `outcome`:
// refreshed | missing_connection_token | invalid_token | forbidden | connection_not_found |
// user_mismatch | refused (the application's hook).
void authentication_refresh(std::string_view outcome);

}  // namespace hubcast::metrics
