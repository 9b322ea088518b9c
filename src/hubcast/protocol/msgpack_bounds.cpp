#include <hubcast/protocol/msgpack_bounds.hpp>

#include <cstdint>
#include <vector>

namespace hubcast::protocol {

namespace {

std::uint64_t read_be(const unsigned char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

bool check_msgpack_bounds(std::string_view bytes, std::string& error, std::size_t max_depth) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t size = bytes.size();
  std::size_t pos = 0;
  std::uint64_t pending = 1;        // objects still to read, the root included
  std::vector<std::uint64_t> open;  // elements left in each open container
  while (pending > 0) {
    if (pos >= size) {
      error = "truncated message";
      return false;
    }
    unsigned char b = data[pos++];
    std::uint64_t payload = 0;   // bytes of str/bin/ext data (or fixed-size value) after the head
    std::uint64_t children = 0;  // elements of an array (n) or map (2n)
    int len_bytes = 0;           // a big-endian length/count that follows the type byte
    enum { none, bytes_len, array_len, map_len } length_kind = none;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
    } else if (b <= 0x8f) {
      children = 2u * (b & 0x0f);
    } else if (b <= 0x9f) {
      children = b & 0x0f;
    } else if (b <= 0xbf) {
      payload = b & 0x1f;
    } else {
      switch (b) {
        case 0xc4:
        case 0xd9:
          len_bytes = 1;
          length_kind = bytes_len;
          break;
        case 0xc5:
        case 0xda:
          len_bytes = 2;
          length_kind = bytes_len;
          break;
        case 0xc6:
        case 0xdb:
          len_bytes = 4;
          length_kind = bytes_len;
          break;
        case 0xc7:
          len_bytes = 1;
          length_kind = bytes_len;
          payload = 1;
          break;  // + ext type
        case 0xc8:
          len_bytes = 2;
          length_kind = bytes_len;
          payload = 1;
          break;
        case 0xc9:
          len_bytes = 4;
          length_kind = bytes_len;
          payload = 1;
          break;
        case 0xca:
          payload = 4;
          break;
        case 0xcb:
          payload = 8;
          break;
        case 0xcc:
        case 0xd0:
          payload = 1;
          break;
        case 0xcd:
        case 0xd1:
          payload = 2;
          break;
        case 0xce:
        case 0xd2:
          payload = 4;
          break;
        case 0xcf:
        case 0xd3:
          payload = 8;
          break;
        case 0xd4:
          payload = 2;
          break;
        case 0xd5:
          payload = 3;
          break;
        case 0xd6:
          payload = 5;
          break;
        case 0xd7:
          payload = 9;
          break;
        case 0xd8:
          payload = 17;
          break;
        case 0xdc:
          len_bytes = 2;
          length_kind = array_len;
          break;
        case 0xdd:
          len_bytes = 4;
          length_kind = array_len;
          break;
        case 0xde:
          len_bytes = 2;
          length_kind = map_len;
          break;
        case 0xdf:
          len_bytes = 4;
          length_kind = map_len;
          break;
        default:  // 0xc1: never used
          error = "invalid type byte";
          return false;
      }
    }
    if (len_bytes) {
      if (size - pos < static_cast<std::size_t>(len_bytes)) {
        error = "truncated message";
        return false;
      }
      std::uint64_t n = read_be(data + pos, len_bytes);
      pos += static_cast<std::size_t>(len_bytes);
      if (length_kind == bytes_len) payload += n;
      if (length_kind == array_len) children = n;
      if (length_kind == map_len) children = 2 * n;
    }
    if (payload > size - pos) {
      error = "a length is larger than the rest of the message";
      return false;
    }
    pos += static_cast<std::size_t>(payload);
    --pending;
    // This object fills one slot of its container; close the containers it completes.
    if (!open.empty()) --open.back();
    if (children > 0) {
      if (open.size() + 1 > max_depth) {
        error = "nested too deeply";
        return false;
      }
      if (pending + children > size - pos) {
        error = "a count is larger than the rest of the message can hold";
        return false;
      }
      pending += children;
      open.push_back(children);
    }
    while (!open.empty() && open.back() == 0) open.pop_back();
  }
  if (pos != size) {
    error = "unexpected data after the message";
    return false;
  }
  return true;
}

}  // namespace hubcast::protocol
