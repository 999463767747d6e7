#include "mednet/models/state_dict_pickle.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>
#include <string>

#include "mednet/core/error.h"
#include "support/errors.h"
#include "support/fixtures.h"

using mednet::models::StateDict;
using mednet::models::unpickle_state_dict;
using mednet::testing::error_of;
using namespace std::string_literals;

namespace {

std::string unicode(const std::string& s) {
  std::string out = "X";
  for (int k = 0; k < 4; ++k) out += static_cast<char>((s.size() >> (8 * k)) & 0xff);
  return out + s;
}

// _rebuild_tensor_v2(storage '0' of 6 floats, offset, size, stride, False, OrderedDict()) for a 1-D tensor.
std::string tensor_pickle(const std::string& offset, const std::string& size, const std::string& stride) {
  return "ctorch._utils\n_rebuild_tensor_v2\n((" + unicode("storage") + "ctorch\nFloatStorage\n" +
         unicode("0") + unicode("cpu") + "K\x06tQ" + offset + size + "\x85" + stride + "\x85" +
         "\x89"
         "ccollections\nOrderedDict\n)RtR";
}

// The storage record '0': 0, 1, ..., 5 as float32.
std::shared_ptr<const std::string> record(const std::string& key) {
  if (key != "0") throw mednet::Error("no record " + key);
  const at::Tensor t = torch::arange(6, torch::kFloat);
  return std::make_shared<const std::string>(static_cast<const char*>(t.data_ptr()), 24);
}

StateDict read(const std::string& pkl) {
  return unpickle_state_dict(pkl.data(), pkl.size(), record, "w.pt: data.pkl");
}

std::string read_error(const std::string& pkl) {
  return error_of([&] { read(pkl); });
}

}  // namespace

TEST(StateDictPickle, AnOrderedDictWithMetadataAndAStridedViewIsRead) {
  // torch.save(model.state_dict()): an OrderedDict, its items, then BUILD with {'_metadata': {...}}; one
  // entry that is not a tensor is skipped.
  const StateDict sd = read(mednet::testing::python_state_dict_pickle());
  ASSERT_EQ(sd.size(), 2u);
  EXPECT_EQ(sd[0].first, "b");
  EXPECT_TRUE(torch::equal(sd[0].second, torch::tensor({1.0f, 3.0f})));
  EXPECT_EQ(sd[1].first, "a");
  EXPECT_TRUE(torch::equal(sd[1].second, torch::arange(6, torch::kFloat)));
}

TEST(StateDictPickle, LayoutsOutsideTheStorageAreRefused) {
  auto one = [](const std::string& offset, const std::string& size, const std::string& stride) {
    return "\x80\x02}" + unicode("w") + tensor_pickle(offset, size, stride) + "s.";
  };
  EXPECT_NE(read_error(one("K\x05", "K\x02", "K\x01")).find("reads past the end of its storage record"),
            std::string::npos);
  EXPECT_NE(read_error(one("K\x00"s, "K\x04", "K\x02")).find("reads past the end of its storage record"),
            std::string::npos);
  // 2^62 elements with stride 0 would be 16 EiB once copied.
  EXPECT_NE(read_error(one(std::string("K\x00", 2), std::string("\x8a\x08\0\0\0\0\0\0\0\x40", 10),
                           std::string("K\x00", 2)))
                .find("reads past the end of its storage record"),
            std::string::npos);
  // LONG1 -1 as the offset.
  EXPECT_NE(read_error(one("\x8a\x01\xff", "K\x01", "K\x01")).find("w.pt: data.pkl has a bad tensor layout"),
            std::string::npos);
}

TEST(StateDictPickle, HostileStructuresAreRefusedBeforeTheyGrow) {
  std::string deep = "\x80\x02";
  for (int k = 0; k < 40; ++k) deep += "]";
  for (int k = 0; k < 39; ++k) deep += "a";
  EXPECT_NE(read_error(deep + ".").find("nests containers deeper than 32"), std::string::npos);
  // A dict put into itself, and a dict changed after it was put into another.
  EXPECT_NE(read_error("\x80\x02}q\x00"s + unicode("k") + "h\x00s."s).find("puts a container into itself"),
            std::string::npos);
  EXPECT_NE(
      read_error("\x80\x02}q\x00}q\x01"s + unicode("a") + "h\x00s"s + "h\x00"s + unicode("c") + "K\x01s.")
          .find("changes a container after it was used"),
      std::string::npos);
  EXPECT_NE(read_error("\x80\x02R.").find("pops past a MARK or an empty stack"), std::string::npos);
  EXPECT_NE(read_error("\x80\x02h\x05.").find("reads a memo slot nothing was stored in"), std::string::npos);
  EXPECT_NE(read_error("\x80\x02}r\xff\xff\xff\x7f.").find("stores into a memo slot past its own size"),
            std::string::npos);
  EXPECT_NE(read_error("\x80\x02}\x82\x01.").find("uses pickle opcode 0x82"), std::string::npos);
  EXPECT_NE(read_error("\x80\x02"
                       "cos\nsystem\n.")
                .find("names os.system"),
            std::string::npos);
  EXPECT_NE(read_error("\x80\x02"
                       "ctorch\nFloatStorage\n)R.")
                .find("calls torch.FloatStorage"),
            std::string::npos);
  EXPECT_NE(read_error("\x80\x02}X\x10\0\0\0ab"s).find("is truncated"), std::string::npos);
  EXPECT_NE(read_error("\x80\x02}").find("ends without STOP"), std::string::npos);
  EXPECT_NE(read_error("\x80\x02].").find("does not hold a state dict"), std::string::npos);
  // A persistent id naming a record the archive lacks is the archive's error.
  EXPECT_NE(read_error("\x80\x02(" + unicode("storage") + "ctorch\nFloatStorage\n" + unicode("9") +
                       unicode("cpu") + "K\x01tQ.")
                .find("no record 9"),
            std::string::npos);
}

namespace {
mednet::models::PickleContents contents(const std::string& pkl) {
  return mednet::models::unpickle_contents(pkl.data(), pkl.size(), record, "best.pt: data.pkl");
}
std::string contents_error(const std::string& pkl) {
  return error_of([&] { contents(pkl); });
}
}  // namespace

// LibTorch's archives: objects of __torch__.Module (mangled for each further one) whose attributes are
// set by BUILD; read as names, never as code.
TEST(StateDictPickle, ArchiveObjectsAreReadAsNestedNamesAndNothingElse) {
  const std::string half = "G\x3f\xe0\0\0\0\0\0\0"s, two = "G\x40\0\0\0\0\0\0\0"s;
  const std::string pkl =
      "\x80\x02"
      "c__torch__\nModule\n)\x81}(" +
      unicode("child") + "c__torch__.___torch_mangle_3\nModule\n)\x81}(" + unicode("weight") +
      tensor_pickle("K\x00"s, "K\x03", "K\x02") + "ub" + unicode("lr") + half + unicode("betas") + half +
      two + "\x86" + "ub.";
  const auto c = contents(pkl);
  ASSERT_EQ(c.tensors.size(), 1u);
  EXPECT_EQ(c.tensors[0].first, "child.weight");
  EXPECT_TRUE(torch::equal(c.tensors[0].second, torch::tensor({0.0f, 2.0f, 4.0f})));
  EXPECT_EQ(c.values.at("lr"), 0.5);
  EXPECT_EQ(c.values.at("betas"), nlohmann::json({0.5, 2.0}));

  EXPECT_NE(contents_error("\x80\x02"
                           "c__torch__.___torch_mangle_x\nModule\n)\x81.")
                .find("names __torch__.___torch_mangle_x.Module"),
            std::string::npos);
  EXPECT_NE(contents_error("\x80\x02"
                           "c__torch__\nModule\n(K\x01t\x81.")
                .find("creates an object that is not an archive's attribute holder"),
            std::string::npos);
  EXPECT_NE(contents_error("\x80\x02"
                           "c__torch__\nModule\n)\x81}b}b.")
                .find("sets an object's attributes twice"),
            std::string::npos);
  EXPECT_NE(contents_error("\x80\x02"
                           "c__torch__\nModule\n)\x81K\x01"
                           "b.")
                .find("sets an object's attributes from something not a dict"),
            std::string::npos);
  // "a.b" as a key and b inside a: one name for two values.
  EXPECT_NE(contents_error("\x80\x02}(" + unicode("a.b") + "K\x01" + unicode("a") + "}(" + unicode("b") +
                           "K\x02uu.")
                .find("holds two values named 'a.b'"),
            std::string::npos);
  // Lists of lists that each hold the one before twice: 2^25 places from 245 bytes, refused before
  // they are visited.
  std::string shared = "\x80\x02}" + unicode("x") + "]q\x00K\x01"s + "a0";
  for (int k = 1; k <= 25; ++k)
    shared += "](h"s + static_cast<char>(k - 1) + "h" + static_cast<char>(k - 1) + "eq" +
              static_cast<char>(k) + "0";
  shared += "h\x19s.";
  EXPECT_NE(contents_error(shared).find("refers to its own values more often than its size allows"),
            std::string::npos)
      << contents_error(shared);
}
