// Hub protocol codec costs: parse one invocation, write one broadcast invocation.
#include <benchmark/benchmark.h>

#include <hubcast/protocol/hub_protocol.hpp>

using namespace hubcast::protocol;

namespace {

void BM_JsonParseInvocation(benchmark::State& state) {
  std::string rec =
      "{\"type\":1,\"invocationId\":\"12\",\"target\":\"Subscribe\",\"arguments\":[\"MSFT\"]}\x1e";
  for (auto _ : state) {
    std::string_view v(rec);
    auto step = json_protocol().parse_next(v, 32768);
    benchmark::DoNotOptimize(step);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_JsonWriteInvocation(benchmark::State& state) {
  auto args = payload::arguments(std::string("MSFT"), 412.25, std::int64_t(1732800000000));
  for (auto _ : state) {
    std::string out;
    json_protocol().write_invocation(out, "PriceUpdate", args, std::nullopt, {});
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_JsonParseInvocation);
BENCHMARK(BM_JsonWriteInvocation);
