// The `pdd` program as a user runs it: result files, exit codes, messages, no partial output.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/mapped_file.h"
#include "common/shared_dir.h"
#include "run_command.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;

using CliRun = common::testing::CommandResult;

CliRun Pdd(const std::string& args) {
  return common::testing::RunCommand(std::string(PDD_CLI_PATH) + " " + args,
                                     (pdd::test::TempDir() / "stderr.txt").string());
}

std::string Q(const std::string& s) { return "'" + s + "'"; }

TEST(PddCli, MineWritesEveryResultTable) {
  const fs::path out = pdd::test::TempDir() / "mushroom";
  const CliRun run = Pdd("mine " + Q(common::SharedFile("datasets/cba_Mushroom.csv")) +
                         " --class class --out " + Q(out.string()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const char* f : {"knowledge_base.csv", "knowledge_base.json", "sr_matrix.csv", "spaces.csv",
                        "summary.txt"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  const std::string kb = common::ReadFile((out / "knowledge_base.csv").string());
  EXPECT_EQ(kb.substr(0, kb.find('\n')),
            "ds,group,subgroup,pattern,order,count,expected,residual,class_association,n_records");
  EXPECT_NE(run.err.find("warning: column 'veil-type' has one value only"), std::string::npos)
      << run.err;
  EXPECT_NE(run.out.find("odor="), std::string::npos);
  // Running again replaces the folder whole.
  EXPECT_EQ(Pdd("mine " + Q(common::SharedFile("datasets/vote.arff")) + " --class Class --out " +
                Q(out.string()))
                .exit_code,
            0);
  EXPECT_NE(common::ReadFile((out / "summary.txt").string()).find("vote.arff"), std::string::npos);
}

TEST(PddCli, SynthWritesDataAndTruth) {
  const fs::path dir = pdd::test::TempDir();
  const CliRun run = Pdd("synth --rows 500 --seed 3 --out " + Q((dir / "s.csv").string()) +
                         " --truth " + Q((dir / "t.json").string()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string csv = common::ReadFile((dir / "s.csv").string());
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 501);
  EXPECT_NE(common::ReadFile((dir / "t.json").string()).find("\"frequent\""), std::string::npos);
}

TEST(PddCli, UserErrorsLeaveNoOutputFolder) {
  const fs::path dir = pdd::test::TempDir();
  const fs::path out = dir / "never";
  struct Case {
    std::string data, args, message;
  };
  std::ofstream(dir / "ragged.csv") << "a,b\n1,2\n3\n";
  std::ofstream(dir / "quote.csv") << "a,b\n1,\"2\n";
  std::ofstream(dir / "empty.csv") << "";
  std::ofstream(dir / "dup.csv") << "a,a\n1,2\n";
  std::ofstream(dir / "ok.csv") << "a,b\nx,y\nz,w\n";
  const Case cases[] = {
      {"ragged.csv", "", "line 3: the row has 1 fields but the header has 2"},
      {"quote.csv", "", "line 2, column 3: the quoted field that starts here is never closed"},
      {"empty.csv", "", "is empty"},
      {"dup.csv", "", "'a' appears more than once"},
      {"ok.csv", "--class outcome", "has no column 'outcome'"},
      {"ok.csv", "--ignore zz", "has no column 'zz'"},
      {"ok.csv", "--bins 1", "--bins must be at least 2"},
      {"ok.csv", "--cuts 'a=x'", "'x' is not a number"},
      {"missing.csv", "", "cannot open"},
  };
  for (const Case& c : cases) {
    const CliRun run =
        Pdd("mine " + Q((dir / c.data).string()) + " " + c.args + " --out " + Q(out.string()));
    EXPECT_EQ(run.exit_code, 1) << c.data << " " << c.args;
    EXPECT_NE(run.err.find("pdd: error: "), std::string::npos) << run.err;
    EXPECT_NE(run.err.find(c.message), std::string::npos) << run.err;
    EXPECT_FALSE(fs::exists(out)) << c.data;
  }
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().filename().string().find("never"), std::string::npos)
        << entry.path();  // No temp folders.
  }
  EXPECT_NE(Pdd("mine").exit_code, 0);
  EXPECT_EQ(
      Pdd("mine " + Q((dir / "ok.csv").string()) + " --out " + Q((dir / "no/such/folder").string()))
          .exit_code,
      1);
}

}  // namespace
