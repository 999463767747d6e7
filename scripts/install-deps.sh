#!/usr/bin/env bash
# Installs the Debian 12 packages mednet needs to build, test and run. Idempotent: packages already
# present are left alone and apt is not touched at all when nothing is missing.
# With --test it adds what only the tests need (torchvision, to check the weight loader against it);
# with --fuzz, clang and its libFuzzer and sanitizer runtimes (make fuzz).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config clang-format
  libtorch-dev              # LibTorch 1.13 (CPU)
  libopenblas0-openmp       # fast BLAS for linear layers; registers itself as libblas.so.3
  zlib1g-dev                # deflate entries of .npz archives
  libpng-dev libjpeg-dev    # mednet predict on PNG and JPEG files
  libonnx-dev               # mednet export --format onnx
  libgloo-dev               # gloo's headers for LibTorch's c10d process group (mednet train --nproc)
  libnifti2-dev             # mednet predict on NIfTI volumes
  libssl-dev                # MD5 of downloaded files
  libcurl4-openssl-dev      # mednet fetch
  libcairo2-dev             # learning-curve plots
  libcpp-httplib-dev        # mednet serve (HTTP server)
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3                   # loopback HTTP server in the download test
)

if [ "${1:-}" = "--test" ]; then
  packages+=(python3-torchvision)  # reference outputs for the VGG16 loader test (/usr/bin/python3)
  packages+=(python3-torch python3-numpy)  # PyTorch references in the tests; bench/compare.sh's other side
  packages+=(python3-sklearn)      # cross-checks the AUC of a standard result file
  packages+=(chromium)             # opens the study report headless (browser-labelled test)
  packages+=(python3-pil)          # writes JPEG files with an independent encoder for the reader's test
  packages+=(python3-onnx python3-opencv)  # checks exported ONNX files (onnx.checker) and runs them (OpenCV dnn)
  packages+=(python3-nibabel)      # an independent NIfTI reader and writer for the volume tests
  packages+=(python3-wand python3-scipy)  # ImageMagick's motion blur and SciPy's filters: references for the corruption tests
fi

if [ "${1:-}" = "--fuzz" ]; then
  packages+=(clang libclang-rt-14-dev)  # libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
