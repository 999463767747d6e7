#include "mednet/data/catalog.h"

#include <algorithm>
#include <cctype>

#include "mednet/core/error.h"
#include "mednet/core/strings.h"

namespace mednet::data {

namespace {

const char* kRecordUrl = "https://zenodo.org/records/10519652/files/";

std::vector<std::string> numbered(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(std::to_string(i));
  return v;
}

const std::vector<std::string> kOrganLabels = {"bladder",     "femur-left",   "femur-right", "heart",
                                               "kidney-left", "kidney-right", "liver",       "lung-left",
                                               "lung-right",  "pancreas",     "spleen"};

// Source: the MedMNIST v3 release (medmnist package INFO, Zenodo record 10519652).
std::vector<DatasetInfo> build_catalog() {
  using T = Task;
  return {
      {"pathmnist",
       "PathMNIST",
       T::MultiClass,
       3,
       false,
       {"adipose", "background", "debris", "lymphocytes", "mucus", "smooth muscle", "normal colon mucosa",
        "cancer-associated stroma", "colorectal adenocarcinoma epithelium"},
       89996,
       10004,
       7180,
       "CC BY 4.0",
       {{28, "a8b06965200029087d5bd730944a56c1"},
        {64, "55aa9c1e0525abe5a6b9d8343a507616"},
        {128, "ac42d08fb904d92c244187169d1fd1d9"},
        {224, "2c51a510bcdc9cf8ddb2af93af1eadec"}}},
      {"chestmnist",
       "ChestMNIST",
       T::MultiLabel,
       1,
       false,
       {"atelectasis", "cardiomegaly", "effusion", "infiltration", "mass", "nodule", "pneumonia",
        "pneumothorax", "consolidation", "edema", "emphysema", "fibrosis", "pleural", "hernia"},
       78468,
       11219,
       22433,
       "CC BY 4.0",
       {{28, "02c8a6516a18b556561a56cbdd36c4a8"},
        {64, "9de6cd0b934ebb5b7426cfba5efbae16"},
        {128, "db107e5590b27930b62dbaf558aebee3"},
        {224, "45bd33e6f06c3e8cdb481c74a89152aa"}}},
      {"dermamnist",
       "DermaMNIST",
       T::MultiClass,
       3,
       false,
       {"actinic keratoses and intraepithelial carcinoma", "basal cell carcinoma",
        "benign keratosis-like lesions", "dermatofibroma", "melanoma", "melanocytic nevi",
        "vascular lesions"},
       7007,
       1003,
       2005,
       "CC BY-NC 4.0",
       {{28, "0744692d530f8e62ec473284d019b0c7"},
        {64, "b70a2f5635c6199aeaa28c31d7202e1f"},
        {128, "2defd784463fa5243564e855ed717de1"},
        {224, "8974907d8e169bef5f5b96bc506ae45d"}}},
      {"octmnist",
       "OCTMNIST",
       T::MultiClass,
       1,
       false,
       {"choroidal neovascularization", "diabetic macular edema", "drusen", "normal"},
       97477,
       10832,
       1000,
       "CC BY 4.0",
       {{28, "c68d92d5b585d8d81f7112f81e2d0842"},
        {64, "e229e9440236b774d9f0dfef9d07bdaf"},
        {128, "0a97e76651ace45c5d943ee3f65b63ae"},
        {224, "abc493b6d529d5de7569faaef2773ba3"}}},
      {"pneumoniamnist",
       "PneumoniaMNIST",
       T::BinaryClass,
       1,
       false,
       {"normal", "pneumonia"},
       4708,
       524,
       624,
       "CC BY 4.0",
       {{28, "28209eda62fecd6e6a2d98b1501bb15f"},
        {64, "8f4eceb4ccffa70c672198ea285246c6"},
        {128, "05b46931834c231683c68f40c47b2971"},
        {224, "d6a3c71de1b945ea11211b03746c1fe1"}}},
      {"retinamnist",
       "RetinaMNIST",
       T::OrdinalRegression,
       3,
       false,
       numbered(5),
       1080,
       120,
       400,
       "CC BY 4.0",
       {{28, "bd4c0672f1bba3e3a89f0e4e876791e4"},
        {64, "afda852cc34dcda56f86ad2b2457dbcc"},
        {128, "e48e916a24454daf90583d4e6efb1a18"},
        {224, "eae7e3b6f3fcbda4ae613ebdcbe35348"}}},
      {"breastmnist",
       "BreastMNIST",
       T::BinaryClass,
       1,
       false,
       {"malignant", "normal, benign"},
       546,
       78,
       156,
       "CC BY 4.0",
       {{28, "750601b1f35ba3300ea97c75c52ff8f6"},
        {64, "742edef2a1fd1524b2efff4bd7ba9364"},
        {128, "363e4b3f8d712e9b5de15470a2aaadf1"},
        {224, "b56378a6eefa9fed602bb16d192d4c8b"}}},
      {"bloodmnist",
       "BloodMNIST",
       T::MultiClass,
       3,
       false,
       {"basophil", "eosinophil", "erythroblast",
        "immature granulocytes(myelocytes, metamyelocytes and promyelocytes)", "lymphocyte", "monocyte",
        "neutrophil", "platelet"},
       11959,
       1712,
       3421,
       "CC BY 4.0",
       {{28, "7053d0359d879ad8a5505303e11de1dc"},
        {64, "2b94928a2ae4916078ca51e05b6b800b"},
        {128, "adace1e0ed228fccda1f39692059dd4c"},
        {224, "b718ff6835fcbdb22ba9eacccd7b2601"}}},
      {"tissuemnist",
       "TissueMNIST",
       T::MultiClass,
       1,
       false,
       {"Collecting Duct, Connecting Tubule", "Distal Convoluted Tubule", "Glomerular endothelial cells",
        "Interstitial endothelial cells", "Leukocytes", "Podocytes", "Proximal Tubule Segments",
        "Thick Ascending Limb"},
       165466,
       23640,
       47280,
       "CC BY 4.0",
       {{28, "ebe78ee8b05294063de985d821c1c34b"},
        {64, "123ece2eba09d0aa5d698fda57103344"},
        {128, "61b955355d7425a89687b06cca3ce0c2"},
        {224, "b077128c4a949f0a4eb01517f9037b9c"}}},
      {"organamnist",
       "OrganAMNIST",
       T::MultiClass,
       1,
       false,
       kOrganLabels,
       34561,
       6491,
       17778,
       "CC BY 4.0",
       {{28, "68e3f8846a6bd62f0c9bf841c0d9eacc"},
        {64, "2dcccc29b88e6da5a01161ef20cda288"},
        {128, "eeae80d0a227a8d099027e1b3cfd3b60"},
        {224, "50747347e05c87dd3aaf92c49f9f3170"}}},
      {"organcmnist",
       "OrganCMNIST",
       T::MultiClass,
       1,
       false,
       kOrganLabels,
       12975,
       2392,
       8216,
       "CC BY 4.0",
       {{28, "b9ceb9546e10131b32923c5bbeaea2b1"},
        {64, "3ce34a8724ea6f548e6db4744d03b6a9"},
        {128, "773c1f009daa3fe5d9a2a201b2a7ed94"},
        {224, "050f5e875dc056f6768abf94ec9995d1"}}},
      {"organsmnist",
       "OrganSMNIST",
       T::MultiClass,
       1,
       false,
       kOrganLabels,
       13932,
       2452,
       8827,
       "CC BY 4.0",
       {{28, "9ab87b696fb54e2a387ebe992d6ed5f1"},
        {64, "53a6d115339d874c25e309a994ff46d3"},
        {128, "ded0c5fa01a95dc4978b956f613e9b8e"},
        {224, "b354719e553fbbb2513d5533f52a4cb1"}}},
      {"organmnist3d",
       "OrganMNIST3D",
       T::MultiClass,
       1,
       true,
       {"liver", "kidney-right", "kidney-left", "femur-right", "femur-left", "bladder", "heart", "lung-right",
        "lung-left", "spleen", "pancreas"},
       971,
       161,
       610,
       "CC BY 4.0",
       {{28, "a0c5a1ff56af4f155c46d46fbb45a2fe"}, {64, "58a2205adf14a9d0a189cb06dc78bf10"}}},
      {"nodulemnist3d",
       "NoduleMNIST3D",
       T::BinaryClass,
       1,
       true,
       {"benign", "malignant"},
       1158,
       165,
       310,
       "CC BY 4.0",
       {{28, "8755a7e9e05a4d9ce80a24c3e7a256f3"}, {64, "c47c5b7d457bf6332200d2ea6d64ecd8"}}},
      {"adrenalmnist3d",
       "AdrenalMNIST3D",
       T::BinaryClass,
       1,
       true,
       {"normal", "hyperplasia"},
       1188,
       98,
       298,
       "CC BY 4.0",
       {{28, "bbd3c5a5576322bc4cdfea780653b1ce"}, {64, "17721accfe9fb005146a47d33bc54b2f"}}},
      {"fracturemnist3d",
       "FractureMNIST3D",
       T::MultiClass,
       1,
       true,
       {"buckle rib fracture", "nondisplaced rib fracture", "displaced rib fracture"},
       1027,
       103,
       240,
       "CC BY 4.0",
       {{28, "6aa7b0143a6b42da40027a9dda61302f"}, {64, "f01d7e6316aedf4210da0da5b7437b42"}}},
      {"vesselmnist3d",
       "VesselMNIST3D",
       T::BinaryClass,
       1,
       true,
       {"vessel", "aneurysm"},
       1335,
       191,
       382,
       "CC BY 4.0",
       {{28, "b41fd4f7e7e2feedddb201585ecafa1b"}, {64, "6bb274a8846e1097066dcd64e2c4520f"}}},
      {"synapsemnist3d",
       "SynapseMNIST3D",
       T::BinaryClass,
       1,
       true,
       {"inhibitory synapse", "excitatory synapse"},
       1230,
       177,
       352,
       "CC BY 4.0",
       {{28, "1235b78a3cd6280881dd7850a78eadb6"}, {64, "43bd14ebf3af9d3dd072446fedc14d5e"}}},
  };
}

}  // namespace

std::string task_name(Task task) {
  switch (task) {
    case Task::BinaryClass:
      return "binary-class";
    case Task::MultiClass:
      return "multi-class";
    case Task::OrdinalRegression:
      return "ordinal-regression";
    case Task::MultiLabel:
      return "multi-label, binary-class";
  }
  return "?";
}

std::string output_noun(Task task, bool plural) {
  const char* noun = task == Task::OrdinalRegression ? "grade"
                     : task == Task::MultiLabel      ? "finding"
                                                     : "class";
  return std::string(noun) + (!plural                                                 ? ""
                              : task == Task::BinaryClass || task == Task::MultiClass ? "es"
                                                                                      : "s");
}

Task parse_task(const std::string& name, const std::string& what) {
  for (Task t : {Task::BinaryClass, Task::MultiClass, Task::OrdinalRegression, Task::MultiLabel})
    if (task_name(t) == name) return t;
  throw Error(
      detail::concat(what, ": unknown task \"", name,
                     "\" (binary-class, multi-class, ordinal-regression or multi-label, binary-class)"));
}

std::string split_name(Split split) {
  switch (split) {
    case Split::Train:
      return "train";
    case Split::Val:
      return "val";
    case Split::Test:
      return "test";
  }
  return "?";
}

Split parse_split(const std::string& name) {
  if (name == "train") return Split::Train;
  if (name == "val") return Split::Val;
  if (name == "test") return Split::Test;
  MN_CHECK_USAGE(false, "unknown split '", name, "': expected train, val or test");
  return Split::Test;
}

int64_t DatasetInfo::split_size(Split split) const {
  return split == Split::Train ? n_train : split == Split::Val ? n_val : n_test;
}

std::vector<int> DatasetInfo::sizes() const {
  std::vector<int> out;
  for (const auto& f : files) out.push_back(f.size);
  return out;
}

const SizeFile& DatasetInfo::file(int size) const {
  for (const auto& f : files)
    if (f.size == size) return f;
  MN_CHECK_USAGE(false, display_name, " has no size ", size, " (available: ", core::join(sizes(), ", "), ")");
  return files.front();
}

std::string DatasetInfo::file_name(int size) const {
  file(size);  // validates
  return size == 28 ? flag + ".npz" : flag + "_" + std::to_string(size) + ".npz";
}

std::string DatasetInfo::url(int size) const {
  return std::string(kRecordUrl) + file_name(size) + "?download=1";
}

const std::vector<DatasetInfo>& catalog() {
  static const std::vector<DatasetInfo> kCatalog = build_catalog();
  return kCatalog;
}

const DatasetInfo& find_dataset(const std::string& flag) {
  const std::string key = core::to_lower(flag);
  for (const auto& d : catalog())
    if (d.flag == key) return d;
  std::vector<std::string> flags;
  for (const auto& d : catalog()) flags.push_back(d.flag);
  MN_CHECK_USAGE(false, "unknown dataset '", flag, "'; valid flags: ", core::join(flags, ", "));
  return catalog().front();
}

InputShape input_shape(const DatasetInfo& info, int size) {
  return InputShape{info.channels, info.spatial_dims(), size, info.num_outputs()};
}

}  // namespace mednet::data
