// The whole PDD pipeline: read -> encode -> count -> SR matrix -> disentangle -> knowledge base,
// and the files it writes.
#pragma once

#include <Eigen/Dense>
#include <string>
#include <vector>

#include "pdd/disentangle.h"
#include "pdd/encoding.h"
#include "pdd/knowledge_base.h"
#include "pdd/statistics.h"
#include "pdd/table.h"

namespace pdd {

struct MineOptions {
  ReadOptions read;
  DiscretizeOptions discretize;
  std::string class_column;
  double tau = 1.96;
  bool bonferroni = false;  // tau from alpha = 0.05 / (number of AV pairs tested).
  Variant variant = Variant::kA;
  ResidualKind residual = ResidualKind::kAdjusted;
  PatternOptions patterns;
};

struct StageTimes {
  double read = 0, encode = 0, count = 0, residuals = 0, disentangle = 0, patterns = 0;
};

struct MineResult {
  std::string source;
  std::vector<std::string> warnings;
  Encoded encoded;
  Eigen::MatrixXd sr;
  Disentanglement spaces;
  KnowledgeBase kb;
  double tau = 1.96;  // The threshold used (after Bonferroni when asked).
  StageTimes seconds;
};

MineResult Mine(const std::string& path, const MineOptions& options);

// Writes knowledge_base.csv, knowledge_base.json, sr_matrix.csv, spaces.csv and summary.txt into
// `out_dir`. The folder appears complete or not at all: files go to a temporary folder beside it,
// which then replaces it.
void WriteResults(const MineResult& result, const MineOptions& options, const std::string& out_dir);

// Quotes a CSV field when it needs it (RFC 4180).
std::string CsvField(const std::string& text);

}  // namespace pdd
