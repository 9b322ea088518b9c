#include <hubcast/protocol/json_parse.hpp>

#include <charconv>
#include <string>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

namespace hubcast::protocol {

namespace bj = boost::json;
using boost::system::error_code;

bool exact_double(std::string_view number, double& out) {
  const char* first = number.data();
  const char* last = first + number.size();
  // from_chars takes no leading '+' (JSON has none either) and reads "-0.5" and "1e5" as JSON does.
  auto [end, ec] = std::from_chars(first, last, out, std::chars_format::general);
  return ec == std::errc() && end == last;
}

namespace {

// Builds the value as boost::json::parser does; numbers that are doubles are read again from
// their whole text.
struct exact_handler {
  static constexpr std::size_t max_object_size = bj::object::max_size();
  static constexpr std::size_t max_array_size = bj::array::max_size();
  static constexpr std::size_t max_key_size = bj::string::max_size();
  static constexpr std::size_t max_string_size = bj::string::max_size();

  exact_handler(bj::storage_ptr sp, unsigned char* temp, std::size_t size)
      : st(std::move(sp), temp, size) {}

  bj::value_stack st;
  std::string number;  // the parts of a number split across writes (not with one whole text)

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) { return true; }
  bool on_object_end(std::size_t n, error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(std::size_t n, error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(bj::string_view s, std::size_t, error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(bj::string_view s, std::size_t, error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(bj::string_view s, std::size_t, error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(bj::string_view s, std::size_t, error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(bj::string_view s, error_code&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, bj::string_view, error_code&) {
    number.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, bj::string_view, error_code&) {
    number.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, bj::string_view s, error_code&) {
    double exact = 0;
    bool ok;
    if (number.empty()) {
      ok = exact_double(std::string_view(s.data(), s.size()), exact);
    } else {
      number.append(s.data(), s.size());
      ok = exact_double(number, exact);
      number.clear();
    }
    // Past double's range (1e400, 1e-400) the parser's own answer stands (inf or 0).
    st.push_double(ok ? exact : d);
    return true;
  }
  bool on_bool(bool b, error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(bj::string_view, error_code&) { return true; }
  bool on_comment(bj::string_view, error_code&) { return true; }
};

}  // namespace

bj::value parse_json(std::string_view text, error_code& ec, const bj::parse_options& options) {
  unsigned char temp[512];
  bj::basic_parser<exact_handler> p(options, bj::storage_ptr(), temp, sizeof temp);
  p.handler().st.reset();
  std::size_t n = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = bj::error::extra_data;
  if (ec) return nullptr;
  return p.handler().st.release();
}

}  // namespace hubcast::protocol
