// The result files of `pdd mine`.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "pdd/mine.h"

namespace pdd {
namespace {

namespace fs = std::filesystem;

std::string Number(double v) {
  std::ostringstream out;
  out.precision(6);
  out << v;
  return out.str();
}

void Write(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) common::Throw<common::IoError>("cannot write '{}' (disk full?)", path.string());
}

std::vector<std::size_t> RecordNumbers(const Bitset& records) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (records.Test(i)) out.push_back(i + 1);
  }
  return out;
}

std::string KnowledgeBaseCsv(const MineResult& r) {
  std::string csv =
      "ds,group,subgroup,pattern,order,count,expected,residual,class_association,n_records\n";
  for (const Dsu& d : r.kb.dsus) {
    for (const Pattern& p : d.patterns) {
      csv += std::to_string(d.ds) + "," + std::to_string(d.group) + "," +
             std::to_string(d.subgroup) + "," + CsvField(PatternText(r.encoded, p.avs)) + "," +
             std::to_string(p.avs.size()) + "," + std::to_string(p.count) + "," +
             Number(p.expected) + "," + Number(p.residual) + "," + CsvField(p.class_association) +
             "," + std::to_string(p.count) + "\n";
    }
  }
  return csv;
}

nlohmann::json PatternJson(const MineResult& r, const Pattern& p) {
  return {{"pattern", PatternText(r.encoded, p.avs)},
          {"order", p.avs.size()},
          {"count", p.count},
          {"expected", p.expected},
          {"residual", p.residual},
          {"class_association", p.class_association},
          {"records", RecordNumbers(p.records)}};
}

std::string KnowledgeBaseJson(const MineResult& r) {
  nlohmann::json dsus = nlohmann::json::array();
  for (const Dsu& d : r.kb.dsus) {
    std::vector<std::string> avs;
    for (int a : d.avs) avs.push_back(r.encoded.avs[a].label);
    nlohmann::json patterns = nlohmann::json::array();
    for (const Pattern& p : d.patterns) patterns.push_back(PatternJson(r, p));
    nlohmann::json entry = {{"ds", d.ds},
                            {"group", d.group},
                            {"subgroup", d.subgroup},
                            {"avs", avs},
                            {"patterns", patterns}};
    entry["union_pattern"] = d.union_pattern ? PatternJson(r, *d.union_pattern) : nlohmann::json();
    dsus.push_back(entry);
  }
  return nlohmann::json({{"source", r.source},
                         {"records", r.encoded.records},
                         {"tau", r.tau},
                         {"record_numbering", "1 = the first data row of the input"},
                         {"dsus", dsus}})
             .dump(1) +
         "\n";
}

std::string SrMatrixCsv(const MineResult& r) {
  std::string csv = "av";
  for (const auto& av : r.encoded.avs) csv += "," + CsvField(av.label);
  csv += "\n";
  for (Eigen::Index i = 0; i < r.sr.rows(); ++i) {
    csv += CsvField(r.encoded.avs[i].label);
    for (Eigen::Index j = 0; j < r.sr.cols(); ++j) csv += "," + Number(r.sr(i, j));
    csv += "\n";
  }
  return csv;
}

std::string SpacesCsv(const MineResult& r) {
  std::string csv = "ds,eigenvalue,variance_share,significant_pairs,kept\n";
  for (const Space& s : r.spaces.spaces) {
    csv += std::to_string(s.component + 1) + "," + Number(s.eigenvalue) + "," +
           Number(s.variance_share) + "," + std::to_string(s.significant_pairs) + "," +
           (s.kept ? "yes" : "no") + "\n";
  }
  return csv;
}

std::string Summary(const MineResult& r, const MineOptions& o) {
  std::ostringstream s;
  std::size_t kept = 0;
  for (const Space& sp : r.spaces.spaces) kept += sp.kept;
  s << "source: " << r.source << "\n"
    << "records: " << r.encoded.records << ", attributes: " << r.encoded.attributes.size()
    << ", attribute values: " << r.encoded.avs.size() << "\n"
    << "class: " << (o.class_column.empty() ? "(none)" : o.class_column) << "\n"
    << "residual: "
    << (o.residual == ResidualKind::kAdjusted ? "adjusted (Haberman)" : "standardized")
    << ", variant " << (o.variant == Variant::kA ? "A" : "B") << ", tau " << Number(r.tau)
    << (o.bonferroni ? " (Bonferroni)" : "") << ", bins " << o.discretize.bins << ", max order "
    << o.patterns.max_order << "\n"
    << "spaces kept: " << kept << " of " << r.spaces.spaces.size() << "\n"
    << "DSUs: " << r.kb.dsus.size() << ", patterns: " << r.kb.PatternCount() << "\n";
  s << "seconds: read " << Number(r.seconds.read) << ", encode " << Number(r.seconds.encode)
    << ", count pairs " << Number(r.seconds.count) << ", residuals " << Number(r.seconds.residuals)
    << ", disentangle " << Number(r.seconds.disentangle) << ", patterns "
    << Number(r.seconds.patterns) << "\n";
  for (const auto& w : r.warnings) s << "warning: " << w << "\n";
  s << "significant AV pairs (SR > tau) that no kept space covers: " << r.spaces.uncovered.size()
    << "\n";
  for (const auto& [a, b] : r.spaces.uncovered) {
    s << "  " << r.encoded.avs[a].label << " & " << r.encoded.avs[b].label
      << "  SR=" << Number(r.sr(a, b)) << "\n";
  }
  return s.str();
}

}  // namespace

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void WriteResults(const MineResult& r, const MineOptions& o, const std::string& out_dir) {
  const fs::path target(out_dir);
  if (fs::exists(target) && !fs::is_directory(target)) {
    common::Throw<common::IoError>("--out '{}' exists and is not a folder", out_dir);
  }
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(parent)) {
    common::Throw<common::IoError>("cannot write '{}': folder '{}' does not exist", out_dir,
                                   parent.string());
  }
  const fs::path temp = target.string() + ".tmp" + std::to_string(::getpid());
  const fs::path old = target.string() + ".old" + std::to_string(::getpid());
  std::error_code ignored;
  try {
    fs::remove_all(temp, ignored);
    if (!fs::create_directory(temp))
      common::Throw<common::IoError>("cannot create folder '{}'", temp.string());
    Write(temp / "knowledge_base.csv", KnowledgeBaseCsv(r));
    Write(temp / "knowledge_base.json", KnowledgeBaseJson(r));
    Write(temp / "sr_matrix.csv", SrMatrixCsv(r));
    Write(temp / "spaces.csv", SpacesCsv(r));
    Write(temp / "summary.txt", Summary(r, o));
    if (fs::exists(target)) fs::rename(target, old);
    fs::rename(temp, target);
    fs::remove_all(old, ignored);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(temp, ignored);
    common::Throw<common::IoError>("cannot write results to '{}': {}", out_dir, e.what());
  } catch (...) {
    fs::remove_all(temp, ignored);
    throw;
  }
}

}  // namespace pdd
