// trust/calibration_file.h: calibration.json written and read back, and a file that lies refused by name.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/trust/calibration_file.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {

trust::CalibrationFile sample() {
  trust::CalibrationFile c;
  c.temperature = 1.7321;
  c.fitted_size = 120;
  c.nll_before = 1.2;
  c.nll_after = 1.1;
  c.conformal.method = "aps";
  c.conformal.coverage = 0.9;
  c.conformal.thresholds = {0.9123456789};
  c.conformal.calibration_size = 120;
  return c;
}

std::string error_reading(const std::string& path, data::Task task, int outputs) {
  try {
    trust::read_calibration_file(path, task, outputs);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(CalibrationFile, RoundTripAndAbsentFile) {
  const std::string dir = mednet::testing::temp_dir("calfile");
  EXPECT_FALSE(
      trust::read_calibration_file(dir + "/calibration.json", data::Task::MultiClass, 5).has_value());
  trust::write_calibration_file(dir + "/calibration.json", sample());
  const auto c = trust::read_calibration_file(dir + "/calibration.json", data::Task::OrdinalRegression, 5);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->temperature, 1.7321);
  EXPECT_EQ(c->fitted_on, "val");
  EXPECT_EQ(c->fitted_size, 120);
  EXPECT_EQ(c->conformal.thresholds, std::vector<double>{0.9123456789});
  EXPECT_EQ(c->conformal.coverage, 0.9);
}

TEST(CalibrationFile, AFileThatLiesIsRefusedNamingIt) {
  const std::string dir = mednet::testing::temp_dir("calfile_bad");
  const std::string path = dir + "/calibration.json";
  const auto write = [&](const std::function<void(nlohmann::json&)>& change) {
    trust::write_calibration_file(path, sample());
    auto j = nlohmann::json::parse(mednet::testing::read_file(path));
    change(j);
    std::ofstream(path) << j.dump();
  };
  const std::vector<std::pair<std::function<void(nlohmann::json&)>, std::string>> cases = {
      {[](auto& j) { j["temperature"] = 0.0; }, "temperature 0"},
      {[](auto& j) { j["temperature"] = -2.0; }, "temperature -2"},
      {[](auto& j) { j["temperature"] = nullptr; }, "is damaged"},  // NaN is written as null
      {[](auto& j) { j["conformal"]["coverage"] = 1.5; }, "conformal coverage 1.5 is not between 0 and 1"},
      {[](auto& j) {
         j["conformal"]["thresholds"] = {0.5, 0.6};
       },
       "holds 2 conformal thresholds"},
      {[](auto& j) { j["conformal"]["thresholds"] = {-1.0}; }, "a conformal threshold of -1"},
      {[](auto& j) { j["conformal"]["method"] = "score"; }, "holds 'score' sets"},
      {[](auto& j) { j.erase("conformal"); }, "is damaged"}};
  for (const auto& [change, part] : cases) {
    write(change);
    const std::string m = error_reading(path, data::Task::MultiClass, 5);
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find(part), std::string::npos) << m;
  }
  std::ofstream(path) << "{\"temperature\": ";
  EXPECT_NE(error_reading(path, data::Task::MultiClass, 5).find("is damaged"), std::string::npos);
}
