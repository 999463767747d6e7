// train/trainer_loss: class-balanced epoch orders, and runs that train with a CORN head, balance and
// distillation from a teacher run (on a generated RetinaMNIST-format file).
#include <filesystem>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/data/dataset.h"
#include "mednet/engine/train_loss.h"
#include "mednet/train/trainer.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {

struct Heard : train::TrainObserver {
  std::vector<std::string> messages;
  void on_message(const std::string& m) override { messages.push_back(m); }
};

}  // namespace

TEST(EpochOrder, ShufflesOrDrawsEveryClassEquallyOften) {
  const std::vector<int64_t> shuffled = train::draw_epoch_order(10, {}, 4);
  std::vector<int64_t> sorted = shuffled;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
  EXPECT_EQ(shuffled, train::draw_epoch_order(10, {}, 4));  // seeded
  // 900 rows of class 0 and 100 of class 1: balanced draws take class 1 about half the time.
  std::vector<int64_t> labels(1000, 0);
  for (size_t i = 900; i < 1000; ++i) labels[i] = 1;
  const auto w = engine::balanced_row_weights(torch::tensor(labels), 2);
  const std::vector<int64_t> order = train::draw_epoch_order(1000, w, 9);
  ASSERT_EQ(order.size(), 1000u);
  int64_t minority = 0;
  for (int64_t i : order) minority += i >= 900;
  EXPECT_GT(minority, 430);  // binomial(1000, 0.5): 6 standard deviations below 500
  EXPECT_LT(minority, 570);
  EXPECT_EQ(order, train::draw_epoch_order(1000, w, 9));
  EXPECT_THROW(train::draw_epoch_order(5, w, 9), Error);
}

TEST(TrainerLoss, CornBalanceAndDistillationTrainFromATeacherRun) {
  const std::string root = mednet::testing::temp_dir("trainer_loss");
  const std::string teacher = mednet::testing::tiny_trained_run(root, "retinamnist");
  const data::MedMnist data =
      data::load_medmnist(data::find_dataset("retinamnist"), 28, root + "/retinamnist.npz");
  run::TrainConfig c = run::load_config(teacher + "/config.json");
  c.model.head = "corn";
  c.balance = "sampler";
  c.soft_ordinal = 0;
  c.distill.teachers = {teacher};
  c.distill.alpha = 0.5;
  c.epochs = 2;
  const std::string out = root + "/student";
  Heard seen;
  {
    train::Trainer t(c, data, out, c10::Device(c10::kCPU));
    const train::TrainResult r = t.run(seen);
    ASSERT_TRUE(r.has_best());
    EXPECT_EQ(r.test.probs.size(1), 5);
    EXPECT_TRUE(torch::allclose(r.test.probs.sum(1),
                                torch::ones({r.test.probs.size(0)}, r.test.probs.options()), 1e-4, 1e-5));
    EXPECT_EQ(t.model().kind(), "corn-cnn");
  }
  bool said_distill = false, said_sampling = false;
  for (const auto& m : seen.messages) {
    said_distill = said_distill || m.find("distillation from 1 teacher run") != std::string::npos;
    said_sampling = said_sampling || m.find("class-balanced sampling") != std::string::npos;
  }
  EXPECT_TRUE(said_distill);
  EXPECT_TRUE(said_sampling);
  const nlohmann::json saved = core::read_json_file(out + "/config.json", "config");
  EXPECT_EQ(saved["model"]["head"], "corn");
  EXPECT_EQ(saved["distill"]["teacher"][0], teacher);

  // Soft ordinal labels with class weights train too, and a teacher folder that is not a run is refused
  // by the setting and the folder.
  c = run::load_config(teacher + "/config.json");
  c.soft_ordinal = 1;
  c.balance = "weights";
  {
    train::Trainer t(c, data, root + "/sord", c10::Device(c10::kCPU));
    EXPECT_TRUE(t.run(seen).has_best());
  }
  c = run::load_config(teacher + "/config.json");
  c.distill.teachers = {root + "/missing"};
  try {
    train::Trainer t(c, data, root + "/no_teacher", c10::Device(c10::kCPU));
    FAIL() << "a missing teacher was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("distill.teacher"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(root + "/missing"), std::string::npos) << e.what();
  }
}
