#include "mednet/models/torch_zip.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"
#include "mednet/data/npy.h"

namespace mednet::models {

namespace {

// Each record is read into memory at the size the zip directory declares: a claim the file cannot back
// (a stored record larger than the file, a deflate record past deflate's 1032:1 ratio) or more than the
// memory available is refused before anything is read.
void check_record_claims(const data::NpzReader& zip, const std::string& path) {
  const uint64_t available = core::available_memory();
  for (const auto& e : zip.entries()) {
    const bool fits = e.method == 0
                          ? e.uncompressed <= zip.file_size() && e.compressed == e.uncompressed
                          : e.compressed <= zip.file_size() && e.uncompressed / 1032 <= e.compressed;
    MN_CHECK(fits, path, ": record '", core::escape_bytes(e.name), "' claims ", e.uncompressed, " bytes (",
             e.compressed, " stored) in a ", zip.file_size(), "-byte file: the file is damaged");
    MN_CHECK(available == 0 || e.uncompressed <= available, path, ": record '", core::escape_bytes(e.name),
             "' needs ", e.uncompressed, " bytes, more than the ", available, " bytes of memory available");
  }
}

// Calls read(pickle, records) with the archive's data.pkl and a reader of its storage records.
template <typename Read>
auto read_archive(const std::string& path, const Read& read) {
  MN_CHECK_USAGE(std::filesystem::is_regular_file(path), "file ", path, " does not exist");
  data::NpzReader zip(path);
  check_record_claims(zip, path);
  // torch.save puts every record under one folder named after the file: ARCHIVE/data.pkl,
  // ARCHIVE/data/0, ...
  const data::NpzReader::Entry* pkl = nullptr;
  std::map<std::string, const data::NpzReader::Entry*> by_name;
  for (const auto& e : zip.entries()) {
    by_name[e.name] = &e;
    const size_t slash = e.name.find('/');
    if (slash != std::string::npos && e.name.substr(slash) == "/data.pkl") {
      MN_CHECK(!pkl, path, " holds two pickles (", core::escape_bytes(pkl ? pkl->name : ""), " and ",
               core::escape_bytes(e.name), ")");
      pkl = &e;
    }
  }
  MN_CHECK(pkl, path, " is not a torch.save file: it has no ARCHIVE/data.pkl record");
  const std::string prefix = pkl->name.substr(0, pkl->name.size() - std::string("data.pkl").size());
  if (const auto order = by_name.find(prefix + "byteorder"); order != by_name.end())
    MN_CHECK(zip.read_member(*order->second) == "little", path, " was written on a big-endian machine");
  std::map<std::string, std::shared_ptr<const std::string>> storages;
  const StorageRecords record = [&](const std::string& key) {
    if (const auto it = storages.find(key); it != storages.end()) return it->second;
    const auto e = by_name.find(prefix + "data/" + key);
    MN_CHECK(e != by_name.end(), path, ": data.pkl names storage record '", core::escape_bytes(key),
             "', which the file lacks");
    auto bytes = std::make_shared<const std::string>(zip.read_member(*e->second));
    storages[key] = bytes;
    return bytes;
  };
  const std::string pickle = zip.read_member(*pkl);
  return read(pickle, record);
}

}  // namespace

bool is_torch_zip(const std::string& path) {
  char magic[4] = {0, 0, 0, 0};
  std::ifstream(path, std::ios::binary).read(magic, 4);
  return std::string(magic, 4) == std::string("PK\x03\x04", 4);
}

StateDict read_torch_zip(const std::string& path) {
  return read_archive(path, [&](const std::string& pickle, const StorageRecords& records) {
    StateDict sd = unpickle_state_dict(pickle.data(), pickle.size(), records, path + ": data.pkl");
    check_finite(sd, path);
    return sd;
  });
}

PickleContents read_torch_zip_contents(const std::string& path) {
  return read_archive(path, [&](const std::string& pickle, const StorageRecords& records) {
    PickleContents contents = unpickle_contents(pickle.data(), pickle.size(), records, path + ": data.pkl");
    check_finite(contents.tensors, path);
    return contents;
  });
}

}  // namespace mednet::models
