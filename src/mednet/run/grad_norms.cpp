#include "mednet/run/grad_norms.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "mednet/core/error.h"

namespace mednet::run {

namespace {
constexpr const char* kGradNormsHeader = "epoch,depth,layer,grad_norm";
}

std::string grad_norms_rows(int epoch, const GradNorms& g, bool header) {
  MN_CHECK(g.layers.size() == g.norms.size(), "grad norms: ", g.layers.size(), " layers but ", g.norms.size(),
           " values");
  std::ostringstream os;
  os.precision(8);
  if (header) os << kGradNormsHeader << '\n';
  for (size_t i = 0; i < g.norms.size(); ++i)
    os << epoch << ',' << i + 1 << ',' << g.layers[i] << ',' << g.norms[i] << '\n';
  return os.str();
}

void append_grad_norms(const std::string& path, int epoch, const GradNorms& g) {
  const bool fresh = !std::filesystem::exists(path);
  std::ofstream out(path, std::ios::app);
  MN_CHECK(out, "cannot write ", path);
  out << grad_norms_rows(epoch, g, fresh);
  MN_CHECK(out.flush(), "cannot write ", path, " (disk full?)");
}

GradNorms read_grad_norms(const std::string& path, int epoch) {
  std::ifstream in(path);
  MN_CHECK(in, "cannot read ", path);
  GradNorms g;
  std::string line;
  std::getline(in, line);
  MN_CHECK(line == kGradNormsHeader, path, " is not a grad_norms.csv file");
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string e, depth, layer, norm;
    if (!std::getline(ls, e, ',') || !std::getline(ls, depth, ',') || !std::getline(ls, layer, ',') ||
        !std::getline(ls, norm))
      continue;
    try {
      if (std::stoi(e) != epoch) continue;
      g.norms.push_back(std::stod(norm));
    } catch (const std::exception&) {
      MN_CHECK(false, path, ": the row '", line, "' is not epoch,depth,layer,norm");
    }
    g.layers.push_back(layer);
  }
  return g;
}

}  // namespace mednet::run
