#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "mednet/core/error.h"
#include "mednet/data/catalog.h"

using namespace mednet::data;

TEST(Catalog, HasAllEighteenDatasetsWithTheirSizes) {
  ASSERT_EQ(catalog().size(), 18u);
  int two_d = 0, three_d = 0;
  std::set<std::string> flags;
  const std::regex md5(R"([0-9a-f]{32})");
  for (const auto& d : catalog()) {
    flags.insert(d.flag);
    if (d.volumetric) {
      ++three_d;
      EXPECT_EQ(d.sizes(), (std::vector<int>{28, 64})) << d.flag;
    } else {
      ++two_d;
      EXPECT_EQ(d.sizes(), (std::vector<int>{28, 64, 128, 224})) << d.flag;
    }
    for (const auto& f : d.files) EXPECT_TRUE(std::regex_match(f.md5, md5)) << d.flag << " " << f.size;
    EXPECT_GE(d.labels.size(), 2u) << d.flag;
    EXPECT_GT(d.n_train, d.n_val) << d.flag;
  }
  EXPECT_EQ(two_d, 12);
  EXPECT_EQ(three_d, 6);
  EXPECT_EQ(flags.size(), 18u);
}

TEST(Catalog, KnownRows) {
  const auto& a = find_dataset("adrenalmnist3d");
  EXPECT_EQ(a.task, Task::BinaryClass);
  EXPECT_EQ(a.channels, 1);
  EXPECT_EQ(a.spatial_dims(), 3);
  EXPECT_EQ(a.n_train, 1188);
  EXPECT_EQ(a.n_val, 98);
  EXPECT_EQ(a.n_test, 298);
  EXPECT_EQ(a.file(28).md5, "bbd3c5a5576322bc4cdfea780653b1ce");
  EXPECT_EQ(a.file_name(28), "adrenalmnist3d.npz");
  EXPECT_EQ(a.file_name(64), "adrenalmnist3d_64.npz");
  EXPECT_EQ(a.url(64), "https://zenodo.org/records/10519652/files/adrenalmnist3d_64.npz?download=1");

  const auto& r = find_dataset("RetinaMNIST");  // case-insensitive
  EXPECT_EQ(r.task, Task::OrdinalRegression);
  EXPECT_EQ(r.channels, 3);
  EXPECT_EQ(r.num_outputs(), 5);
  EXPECT_EQ(r.label_columns(), 1);
  EXPECT_EQ(r.file(28).md5, "bd4c0672f1bba3e3a89f0e4e876791e4");

  const auto& c = find_dataset("chestmnist");
  EXPECT_EQ(c.task, Task::MultiLabel);
  EXPECT_EQ(c.num_outputs(), 14);
  EXPECT_EQ(c.label_columns(), 14);
  EXPECT_EQ(task_name(c.task), "multi-label, binary-class");
}

TEST(Catalog, TaskNamesParseBackAndNameTheirOutputs) {
  for (Task t : {Task::BinaryClass, Task::MultiClass, Task::OrdinalRegression, Task::MultiLabel})
    EXPECT_EQ(parse_task(task_name(t), "x.json"), t);
  EXPECT_EQ(output_noun(find_dataset("breastmnist").task), "class");
  EXPECT_EQ(output_noun(find_dataset("pathmnist").task, true), "classes");
  EXPECT_EQ(output_noun(find_dataset("retinamnist").task), "grade");
  EXPECT_EQ(output_noun(find_dataset("retinamnist").task, true), "grades");
  EXPECT_EQ(output_noun(find_dataset("chestmnist").task, true), "findings");
  try {
    parse_task("multi-label", "runs/a/trust.json");
    FAIL() << "no error";
  } catch (const mednet::Error& e) {
    EXPECT_EQ(e.kind(), mednet::ErrorKind::Runtime);
    EXPECT_NE(std::string(e.what()).find("runs/a/trust.json: unknown task \"multi-label\""),
              std::string::npos);
  }
}

TEST(Catalog, UnknownFlagListsValidOnes) {
  try {
    find_dataset("adrenal");
    FAIL() << "no error";
  } catch (const mednet::Error& e) {
    EXPECT_EQ(e.kind(), mednet::ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("unknown dataset 'adrenal'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("nodulemnist3d"), std::string::npos);
  }
}

TEST(Catalog, UnknownSizeIsAnError) {
  EXPECT_THROW(find_dataset("nodulemnist3d").file(128), mednet::Error);
  EXPECT_THROW(parse_split("training"), mednet::Error);
  EXPECT_EQ(parse_split("val"), Split::Val);
}
