// Exceptions hub methods throw, and how their texts reach clients (signalr-protocol.md §7.3).
#pragma once

#include <stdexcept>
#include <string>

namespace hubcast {

// Its message always reaches the client ("... HubException: <message>"), like ASP.NET Core's.
class hub_exception : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An exception that names its .NET-style type for detailed errors ("<Type>: <message>").
class typed_exception : public std::runtime_error {
 public:
  typed_exception(std::string type_name, const std::string& message)
      : std::runtime_error(message), type_name_(std::move(type_name)) {}
  const std::string& type_name() const { return type_name_; }

 private:
  std::string type_name_;
};

class invalid_operation_exception : public typed_exception {
 public:
  explicit invalid_operation_exception(const std::string& message)
      : typed_exception("InvalidOperationException", message) {}
};

// Thrown into a server-to-client stream producer when the client cancelled the stream or the
// connection closed.
class stream_cancelled : public std::runtime_error {
 public:
  stream_cancelled() : std::runtime_error("The stream was canceled.") {}
};

// "<Type>: <message>" for an exception, as DetailedErrors writes it.
std::string describe_exception(const std::exception& e);

}  // namespace hubcast
