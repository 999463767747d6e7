// The mednet program as a user runs it: usage errors, missing and hostile files, info.
#include "app/cli_fixture.h"

using namespace mednet::testing;
namespace fs = std::filesystem;

namespace {

TEST_F(Cli, NoSubcommandIsAUsageError) {
  auto [rc, out] = mednet("", home_);
  EXPECT_EQ(rc, 2) << out;
}

TEST_F(Cli, UnknownOptionIsAUsageError) {
  auto [rc, out] = mednet("train --bogus 1", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, "--bogus")) << out;
}

TEST_F(Cli, UnknownDatasetListsValidFlags) {
  auto [rc, out] = mednet("info adrenal", home_);
  EXPECT_EQ(rc, 2);
  EXPECT_TRUE(contains(out, "unknown dataset 'adrenal'")) << out;
  EXPECT_TRUE(contains(out, "adrenalmnist3d")) << out;
  std::tie(rc, out) = mednet("train --dataset nosuchmnist --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 2) << out;
}

TEST_F(Cli, MissingDataFileIsARuntimeErrorWithAHint) {
  auto [rc, out] =
      mednet("train --dataset nodulemnist3d --root " + home_ + "/none --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(contains(out, "cannot find nodulemnist3d.npz")) << out;
  EXPECT_TRUE(contains(out, "mednet fetch nodulemnist3d")) << out;
}

TEST_F(Cli, MissingConfigAndCorruptFile) {
  auto [rc, out] = mednet("train --config " + home_ + "/nope.json --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, "cannot open config")) << out;
  const std::string root = temp_dir("root");
  std::ofstream(root + "/nodulemnist3d.npz") << "truncated";
  std::tie(rc, out) = mednet("info nodulemnist3d --root " + root, home_);
  EXPECT_EQ(rc, 1) << out;  // the listing goes on, and the damaged file makes it fail
  EXPECT_TRUE(contains(out, "unreadable")) << out;
  EXPECT_TRUE(contains(out, "mednet: error: " + root + "/nodulemnist3d.npz is unreadable")) << out;
}

TEST_F(Cli, HostileConfigsAndOutFoldersAreRefusedWithTheirNames) {
  // A pipe as --config would block for ever; a config nested 100,000 deep would overflow the stack.
  const std::string fifo = home_ + "/pipe.json";
  ASSERT_EQ(system(("mkfifo " + fifo).c_str()), 0);
  auto [rc, out] = mednet("train --config " + fifo + " --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, fifo + " is not a regular file")) << out;
  const std::string deep = home_ + "/deep.json";
  std::ofstream(deep) << std::string(100000, '[') << std::string(100000, ']');
  std::tie(rc, out) = mednet("train --config " + deep + " --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, deep + ": nested deeper than 64 levels")) << out;
  const std::string cfg = home_ + "/mine/config.json";
  fs::create_directories(home_ + "/mine");
  std::ofstream(cfg) << R"({"dataset": "nodulemnist3d", "epochs": 4294967297})";
  std::tie(rc, out) = mednet("train --config " + cfg + " --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, cfg + ": config key 'epochs' is out of range: 4294967297")) << out;
  // --out on the folder that holds the person's own config: refused, the file untouched.
  std::ofstream(cfg) << R"({"dataset": "nodulemnist3d", "epochs": 2})";
  expect_usage_error("train --config " + cfg + " --out " + home_ + "/mine",
                     "/mine is not empty and holds no finished epoch");
  EXPECT_EQ(read_file(cfg), R"({"dataset": "nodulemnist3d", "epochs": 2})");
  expect_usage_error("train --dataset nodulemnist3d --seed -3 --out " + home_ + "/r",
                     "--seed must be >= 0, got -3");
}

TEST_F(Cli, FileThatIsNotTheOfficialReleaseIsRefused) {
  const std::string root = fake_medmnist_root("nodulemnist3d", 4, 2, 2);
  auto [rc, out] = mednet("train --dataset nodulemnist3d --root " + root + " --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(contains(out, "but the official file has 8755a7e9e05a4d9ce80a24c3e7a256f3")) << out;
  EXPECT_FALSE(fs::exists(home_ + "/r/state.json"));
}

TEST_F(Cli, InfoPrintsTheCatalogAndFileCounts) {
  auto [rc, out] = mednet("info", home_);
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(contains(out, "18 datasets")) << out;
  const std::string root = fake_medmnist_root("nodulemnist3d", 7, 3, 2);
  std::tie(rc, out) = mednet("info nodulemnist3d --root " + root, home_);
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(contains(out, "found: " + root + "/nodulemnist3d.npz")) << out;
  EXPECT_TRUE(contains(out, "train      7 samples  (catalog says 1158)")) << out;
  // The published rows of the dataset, the best of each column starred.
  EXPECT_TRUE(contains(out, "v2 auto-sklearn            0.914*   0.874*")) << out;
  EXPECT_TRUE(contains(out, "v2 ResNet-18+3D            0.863    0.844 ")) << out;
}

}  // namespace
