#pragma once
// A file sent to `mednet serve`, read by the same readers as `mednet predict`. Its format is told by its
// first bytes, never by a name the request gives; the bytes go to a private folder (mode 0700) under a
// name the server makes, are read, and are removed at once. Errors name the upload as the client called
// it, never the private path.
#include <atomic>
#include <string>

#include "mednet/data/user_input.h"

namespace mednet::serve {

/// ".png", ".jpg", ".npy", ".nii.gz" (gzip: the one compressed format the readers take) or ".nii"
/// (NIfTI-1 or -2 header size in either byte order) from the bytes; "" for anything else.
std::string sniff_extension(const std::string& bytes);

/// A name fit for messages and answers: the client's file name without folders, control characters,
/// quotes or angle brackets, at most 100 characters; "upload" when nothing is left.
std::string shown_name(const std::string& client_name);

class UploadFolder {
 public:
  /// A fresh private folder under parent (default $TMPDIR or /tmp), removed with everything in it when
  /// this object goes.
  explicit UploadFolder(const std::string& parent = "");
  ~UploadFolder();
  UploadFolder(const UploadFolder&) = delete;
  UploadFolder& operator=(const UploadFolder&) = delete;
  const std::string& path() const { return path_; }

  /// The upload read as mednet predict reads a file of its format. An unknown format, a damaged file or
  /// one of the other dimensionality is an Error naming `shown`.
  data::InputFile read(const std::string& bytes, const std::string& shown, int spatial_dims);

 private:
  std::string path_;
  std::atomic<uint64_t> next_{0};
};

}  // namespace mednet::serve
