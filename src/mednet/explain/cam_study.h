#pragma once
// A CAM study of a trained run: the samples chosen (first, correct, wrong or round robin over the true
// classes), their maps (any method of explain/methods.h) as pictures and raw arrays, and how faithful the
// maps are (model randomisation, deletion with three fills, insertion on a blurred copy, where the maps put
// their mass per class). Writes heatmaps.npy, indices.npy, the pictures, deletion.png and cam.json into
// `out`.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mednet/explain/cam.h"

namespace mednet::explain {

struct CamStudyOptions {
  std::string run;                   ///< run directory (best.pt)
  std::string out;                   ///< folder for the results
  std::string method = "gradcam";    ///< a method of cam_methods()
  std::string layer;                 ///< feature map; empty: the last convolutional stage
  std::string target = "predicted";  ///< predicted | true | a class index
  std::string select = "per-class";  ///< first | correct | wrong | per-class
  std::string split = "test";
  std::string fill = "black";  ///< the deletion fill shown in full: black | blur | mean
  int samples = 16;
  std::vector<int64_t> indices;  ///< the samples by index in the split (then select and samples are unused)
  int display = 224;             ///< pixels per picture
  int64_t seed = 0;              ///< of the re-initialised model and the random deletion order
  std::string root;              ///< empty: the run's own
  std::string device = "auto";
  bool check_md5 = true;
  AttributionOptions attribution;  ///< the many-pass methods' settings
  bool progress = false;           ///< a progress bar on stderr while a many-pass method runs
};

struct CamStudyResult {
  nlohmann::json summary;            ///< cam.json
  std::string text;                  ///< the report for a console
  std::vector<std::string> written;  ///< file names in out
  at::Tensor images;                 ///< the chosen samples as stored, uint8 [N, C, *s]
  at::Tensor maps;                   ///< their maps, [N, *s] in [0, 1]
  std::string display_name;          ///< the dataset's
};

CamStudyResult run_cam_study(const CamStudyOptions& options);

}  // namespace mednet::explain
