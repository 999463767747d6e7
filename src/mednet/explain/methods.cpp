#include "mednet/explain/methods.h"

#include <algorithm>

#include "mednet/core/error.h"
#include "mednet/core/strings.h"
#include "mednet/explain/attribution.h"

namespace mednet::explain {

namespace {
template <class T>
std::unique_ptr<Attribution> cam(models::ClassifierImpl& model, const std::string& layer) {
  return std::make_unique<T>(model, layer);
}
template <class T>
std::unique_ptr<Attribution> input(models::ClassifierImpl& model, const std::string& /*layer*/) {
  return std::make_unique<T>(model);
}
template <IntegratedGradients::Baseline B>
std::unique_ptr<Attribution> ig(models::ClassifierImpl& model, const std::string& /*layer*/) {
  return std::make_unique<IntegratedGradients>(model, B);
}
}  // namespace

const std::vector<CamMethod>& cam_methods() {
  using IG = IntegratedGradients;
  static const std::vector<CamMethod> k = {
      {"gradcam", "Selvaraju et al., Grad-CAM, ICCV 2017", "cam", cam<GradCam>},
      {"gradcampp", "Chattopadhyay et al., Grad-CAM++, WACV 2018", "cam", cam<GradCamPlusPlus>},
      {"xgradcam", "Fu et al., Axiom-based Grad-CAM, BMVC 2020", "cam", cam<XGradCam>},
      {"scorecam", "Wang et al., Score-CAM, CVPR Workshops 2020", "cam", cam<ScoreCam>},
      {"ablationcam", "Desai and Ramaswamy, Ablation-CAM, WACV 2020", "cam", cam<AblationCam>},
      {"hirescam", "Draelos and Carin, HiResCAM, arXiv 2011.08891, 2020", "cam", cam<HiResCam>},
      {"gradcamelementwise", "Grad-CAM with the product taken element-wise (pytorch-grad-cam)", "cam",
       cam<GradCamElementWise>},
      {"layercam", "Jiang et al., LayerCAM, IEEE TIP 2021", "cam", cam<LayerCam>},
      {"eigencam", "Muhammad and Yeasin, Eigen-CAM, IJCNN 2020", "cam", cam<EigenCam>},
      {"smoothgrad", "Smilkov et al., SmoothGrad, arXiv 1706.03825, 2017", "gradient", input<SmoothGrad>},
      {"ig-black", "Sundararajan et al., Integrated Gradients, ICML 2017 (black baseline)", "gradient",
       ig<IG::Baseline::Black>},
      {"ig-blur", "Sundararajan et al., Integrated Gradients, ICML 2017 (blurred baseline)", "gradient",
       ig<IG::Baseline::Blur>},
      {"occlusion", "Zeiler and Fergus, ECCV 2014 (MONAI's OcclusionSensitivity)", "perturbation",
       input<Occlusion>},
  };
  return k;
}

std::vector<std::string> cam_method_names() {
  std::vector<std::string> out;
  for (const auto& m : cam_methods()) out.push_back(m.name);
  return out;
}

const CamMethod& find_cam_method(const std::string& name) {
  for (const auto& m : cam_methods())
    if (name == m.name) return m;
  MN_CHECK_USAGE(false, "--method: unknown CAM method '", name, "' (valid: all, ",
                 core::join(cam_method_names(), ", "), ")");
  return cam_methods().front();
}

std::vector<std::string> parse_cam_methods(const std::string& spec) {
  if (spec == "all") return cam_method_names();
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t end = std::min(spec.find(',', start), spec.size());
    const std::string name = find_cam_method(spec.substr(start, end - start)).name;
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    start = end + 1;
  }
  return out;
}

std::unique_ptr<Attribution> make_cam(const std::string& method, models::ClassifierImpl& model,
                                      const std::string& layer, const AttributionOptions& options) {
  std::unique_ptr<Attribution> a = find_cam_method(method).make(model, layer);
  a->set_options(options);
  return a;
}

}  // namespace mednet::explain
