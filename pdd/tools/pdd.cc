// The `pdd` command line: Pattern Discovery and Disentanglement on tables of records.
#include <fmt/format.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <new>
#include <sstream>

#include "bench.h"
#include "common/cli_main.h"
#include "common/error.h"
#include "common/shared_dir.h"
#include "pdd/mine.h"
#include "pdd/synth.h"

namespace {

std::set<std::string> SplitList(const std::string& text) {
  std::set<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.insert(item);
  }
  return out;
}

// Prints the strongest pattern of each DSU (by residual), in the order of the spaces, so that the
// structure of the knowledge base shows at a glance.
void PrintStrongest(const pdd::MineResult& r, std::size_t top) {
  fmt::print("{:<12} {:>8} {:>10} {:>9}  {}\n", "DSU", "count", "expected", "residual",
             "strongest pattern of the DSU [class association] (+ how many more)");
  std::size_t shown = 0;
  for (const auto& d : r.kb.dsus) {
    if (d.patterns.empty() || shown == top) continue;
    const pdd::Pattern& p = d.patterns.front();  // Sorted by residual.
    fmt::print("{:<12} {:>8} {:>10.1f} {:>9.2f}  {}{}{}\n",
               fmt::format("[{},{},{}]", d.ds, d.group, d.subgroup), p.count, p.expected,
               p.residual, pdd::PatternText(r.encoded, p.avs),
               p.class_association.empty() ? "" : "  [" + p.class_association + "]",
               d.patterns.size() > 1 ? fmt::format("  (+{})", d.patterns.size() - 1) : "");
    ++shown;
  }
}

double PeakMemoryMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pdd: Pattern Discovery and Disentanglement for tables of records"};
  app.require_subcommand(1);

  pdd::MineOptions options;
  std::string data, out_dir, categorical, numeric, ignore, missing = ",NA,?", cuts, variant = "A",
                                                           residual = "adjusted";
  std::size_t top = 15;
  auto* mine = app.add_subcommand(
      "mine", "Find significant, disentangled patterns and write a knowledge base");
  mine->add_option("DATA", data, "CSV, TSV or ARFF file")->required();
  mine->add_option("--out", out_dir, "Folder for the result tables")->required();
  mine->add_option("--class", options.class_column,
                   "Class column (patterns get their class association)");
  mine->add_option("--bins", options.discretize.bins, "Equal-frequency bins for numeric columns")
      ->capture_default_str();
  mine->add_option("--cuts", cuts, "Cut points per column, e.g. 'age=30,50;bmi=25,30'");
  mine->add_option("--tau", options.tau, "Significance threshold for residuals")
      ->capture_default_str();
  mine->add_flag("--bonferroni", options.bonferroni,
                 "Derive tau from alpha 0.05 / number of AV pairs");
  mine->add_option("--max-order", options.patterns.max_order, "Largest pattern order")
      ->capture_default_str();
  mine->add_option("--min-count", options.patterns.min_count,
                   "Fewest records a pattern can be tested on")
      ->capture_default_str();
  mine->add_option("--min-loading", options.patterns.min_loading,
                   "AVs in a space's group need this share of the group's largest projection")
      ->capture_default_str();
  mine->add_flag(
      "--all-patterns", [&](std::int64_t) { options.patterns.maximal_only = false; },
      "Report every significant pattern, not only maximal ones");
  mine->add_option("--variant", variant, "Disentanglement: A (centred PCA) or B (eigen of SR)")
      ->check(CLI::IsMember({"A", "B"}))
      ->capture_default_str();
  mine->add_option("--residual", residual, "adjusted (Haberman) or standardized")
      ->check(CLI::IsMember({"adjusted", "standardized"}))
      ->capture_default_str();
  mine->add_option("--categorical", categorical,
                   "Columns to treat as categories (comma-separated)");
  mine->add_option("--numeric", numeric, "Columns to treat as numbers (comma-separated)");
  mine->add_option("--ignore", ignore, "Columns to drop (comma-separated)");
  mine->add_option(
          "--missing", missing,
          "Tokens that mean missing (comma-separated; empty field included by a leading comma)")
      ->capture_default_str();
  mine->add_option("--top", top, "DSUs to print")->capture_default_str();

  pdd::SynthOptions synth_options;
  std::string synth_out, truth_out;
  auto* synth =
      app.add_subcommand("synth", "Write synthetic data with planted patterns and its truth");
  synth->add_option("--rows", synth_options.rows, "Records")->capture_default_str();
  synth->add_option("--seed", synth_options.seed, "Random seed")->capture_default_str();
  synth->add_option("--noise", synth_options.noise_attributes, "Attributes without patterns")
      ->capture_default_str();
  synth->add_option("--out", synth_out, "CSV file to write")->required();
  synth->add_option("--truth", truth_out, "JSON file for the planted patterns")->required();

  pdd::cli::BenchOptions bench_options;
  auto* bench =
      app.add_subcommand("bench", "Time Mushroom end to end and a large synthetic table by stage");
  bench->add_option("--mushroom", bench_options.mushroom,
                    "Mushroom CSV (default: the shared data set)");
  bench->add_option("--rows", bench_options.rows, "Synthetic records")->capture_default_str();
  bench
      ->add_option("--noise", bench_options.noise,
                   "Synthetic noise attributes (14 more carry patterns)")
      ->capture_default_str();
  bench->add_option("--repeats", bench_options.repeats, "Mushroom runs (best is kept)")
      ->capture_default_str();
  bench->add_flag("--json", bench_options.json, "End with one JSON line");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return common::RunReportingErrors("pdd", [&] {
    if (*mine) {
      options.read.categorical = SplitList(categorical);
      options.read.numeric = SplitList(numeric);
      options.read.ignore = SplitList(ignore);
      options.read.missing = SplitList(missing);
      if (!missing.empty() && missing[0] == ',') options.read.missing.insert("");
      options.discretize.cuts = pdd::ParseCuts(cuts);
      options.variant = variant == "A" ? pdd::Variant::kA : pdd::Variant::kB;
      options.residual =
          residual == "adjusted" ? pdd::ResidualKind::kAdjusted : pdd::ResidualKind::kStandardized;
      const auto start = std::chrono::steady_clock::now();
      const pdd::MineResult result = pdd::Mine(data, options);
      for (const auto& w : result.warnings) fmt::print(stderr, "pdd: warning: {}\n", w);
      pdd::WriteResults(result, options, out_dir);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::size_t kept = 0;
      for (const auto& s : result.spaces.spaces) kept += s.kept;
      fmt::print("{}: {} records, {} attributes, {} attribute values\n", data,
                 result.encoded.records, result.encoded.attributes.size(),
                 result.encoded.avs.size());
      fmt::print(
          "{} spaces kept, {} DSUs, {} patterns, {} significant pairs outside every kept space "
          "(tau {:.3f})\n",
          kept, result.kb.dsus.size(), result.kb.PatternCount(), result.spaces.uncovered.size(),
          result.tau);
      PrintStrongest(result, top);
      fmt::print("results in {}/ ({:.2f} s, peak memory {:.0f} MB)\n", out_dir, seconds,
                 PeakMemoryMb());
    }
    if (*bench) {
      if (bench_options.mushroom.empty())
        bench_options.mushroom = common::SharedFile("datasets/cba_Mushroom.csv");
      pdd::cli::Bench(bench_options);
    }
    if (*synth) {
      const pdd::SynthTable table = pdd::WriteSynth(synth_options, synth_out, truth_out);
      fmt::print("wrote {} ({} records, {} columns) and {}\n", synth_out, table.rows,
                 table.header.size(), truth_out);
    }
  });
}
