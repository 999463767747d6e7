#include "mednet/metrics/t_interval.h"

#include <cmath>

#include "mednet/core/error.h"

namespace mednet::metrics {

double student_t_975(int df) {
  static const double table[] = {12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581837,
                                 2.446911851,  2.364624252, 2.306004135, 2.262157163, 2.228138852};
  if (df <= 0) return std::nan("");
  if (df <= 10) return table[df - 1];
  const double z = 1.959963984540054, z2 = z * z, n = df;
  const double g1 = (z2 + 1) * z / 4;
  const double g2 = ((5 * z2 + 16) * z2 + 3) * z / 96;
  const double g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384;
  return z + g1 / n + g2 / (n * n) + g3 / (n * n * n);
}

bool MeanInterval::excludes_zero() const {
  return std::isfinite(low) && (low > 0 || high < 0);
}

MeanInterval t_interval_95(const std::vector<double>& values) {
  MN_CHECK(!values.empty(), "a t interval needs at least one value");
  const auto n = static_cast<double>(values.size());
  MeanInterval r;
  for (double v : values) r.mean += v / n;
  if (values.size() < 2) {
    r.low = r.high = std::nan("");
    return r;
  }
  double var = 0;
  for (double v : values) var += (v - r.mean) * (v - r.mean) / (n - 1);
  const double half = student_t_975(static_cast<int>(values.size()) - 1) * std::sqrt(var / n);
  r.low = r.mean - half;
  r.high = r.mean + half;
  return r;
}

}  // namespace mednet::metrics
