#include "bench.h"

#include <fmt/format.h>
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "pdd/mine.h"
#include "pdd/synth.h"

namespace pdd::cli {
namespace {

double Seconds(const std::function<void()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double PeakMemoryMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace

void Bench(const BenchOptions& o) {
  nlohmann::json result = {{"threads", omp_get_max_threads()}};

  // Mushroom, read to knowledge base, best of the repeats.
  MineOptions mushroom;
  mushroom.class_column = "class";
  double best = 1e300;
  std::size_t patterns = 0;
  for (int i = 0; i < o.repeats; ++i) {
    best =
        std::min(best, Seconds([&] { patterns = Mine(o.mushroom, mushroom).kb.PatternCount(); }));
  }
  fmt::print("mushroom: read to knowledge base {:.3f} s ({} patterns)\n", best, patterns);
  result["mushroom_s"] = best;
  result["mushroom_patterns"] = patterns;

  // Synthetic records streamed to a temporary CSV (not timed), then read, encoded, counted,
  // turned into residuals and disentangled.
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("pdd_bench_" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  SynthOptions synth;
  synth.rows = o.rows;
  synth.noise_attributes = o.noise;
  const SynthTable table = WriteSynth(synth, dir + "/synth.csv", dir + "/truth.json");
  const double memory_before = PeakMemoryMb();
  Table t;
  Encoded e;
  PairCounts counts;
  Eigen::MatrixXd sr;
  const double read_s = Seconds([&] { t = ReadTable(dir + "/synth.csv"); });
  const double encode_s = Seconds([&] {
    e = Encode(t, {});
    t = Table();
  });
  const double count_s = Seconds([&] { counts = CountPairs(e); });
  const double residual_s =
      Seconds([&] { sr = ResidualMatrix(e, counts, ResidualKind::kAdjusted); });
  const double disentangle_s = Seconds([&] { Disentangle(sr, e, Variant::kA, 1.96); });
  const double peak_mb = PeakMemoryMb();
  const double total = read_s + encode_s + count_s + residual_s + disentangle_s;
  fmt::print(
      "synthetic {} records x {} attributes ({} AVs): read {:.2f} s, encode {:.2f} s, count {:.3f} "
      "s, "
      "residuals {:.3f} s, disentangle {:.3f} s; total {:.2f} s; peak memory {:.0f} MB\n",
      table.rows, table.header.size() - 1, e.avs.size(), read_s, encode_s, count_s, residual_s,
      disentangle_s, total, std::max(peak_mb, memory_before));

  // Pair counting: AND + popcount on all threads against one thread walking each record's AVs.
  const auto record_avs = RecordAvs(e);
  PairCounts plain;
  const double plain_s = Seconds([&] { plain = CountPairsPlain(e, record_avs); });
  if (plain.counts != counts.counts)
    throw std::logic_error("pair counts disagree with the plain loop");
  const double pairs =
      static_cast<double>(e.avs.size()) * static_cast<double>(e.avs.size() - 1) / 2.0;
  fmt::print(
      "pair counting: bitsets {:.3f} s vs plain single-threaded loop {:.3f} s: {:.1f}x "
      "({:.2f} G record-pairs/s vs {:.2f})\n",
      count_s, plain_s, plain_s / count_s, pairs * static_cast<double>(e.records) / count_s * 1e-9,
      pairs * static_cast<double>(e.records) / plain_s * 1e-9);
  std::filesystem::remove_all(dir);

  result["synthetic_rows"] = table.rows;
  result["synthetic_attributes"] = table.header.size() - 1;
  result["synthetic_avs"] = e.avs.size();
  result["read_s"] = read_s;
  result["encode_s"] = encode_s;
  result["count_s"] = count_s;
  result["residuals_s"] = residual_s;
  result["disentangle_s"] = disentangle_s;
  result["synthetic_total_s"] = total;
  result["peak_memory_mb"] = std::max(peak_mb, memory_before);
  result["plain_count_s"] = plain_s;
  result["count_speedup"] = plain_s / count_s;
  if (o.json) fmt::print("{}\n", result.dump());
}

}  // namespace pdd::cli
