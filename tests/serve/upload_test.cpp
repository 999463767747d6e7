// Uploads to mednet serve: the format told by the bytes alone, names cleaned for answers, the private
// folder empty after each read and gone with its owner, and errors naming the upload, not the path.
#include "mednet/serve/upload.h"

#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/image_file.h"
#include "mednet/data/npy.h"

using namespace mednet;
namespace fs = std::filesystem;

TEST(Upload, SniffsFormatsFromTheirFirstBytes) {
  const at::Tensor img = torch::randint(0, 256, {3, 5, 7}, torch::kUInt8);
  EXPECT_EQ(serve::sniff_extension(data::encode_png(img)), ".png");
  EXPECT_EQ(serve::sniff_extension("\xff\xd8\xff\xe0" + std::string(20, 'x')), ".jpg");
  EXPECT_EQ(serve::sniff_extension(data::npy_bytes(torch::zeros({2, 2}))), ".npy");
  EXPECT_EQ(serve::sniff_extension(std::string("\x1f\x8b\x08\x00", 4)), ".nii.gz");
  std::string nifti1(352, '\0'), nifti1_be(352, '\0'), nifti2(544, '\0');
  nifti1[0] = static_cast<char>(348 & 0xff);
  nifti1[1] = static_cast<char>(348 >> 8);
  nifti1_be[3] = static_cast<char>(348 & 0xff);
  nifti1_be[2] = static_cast<char>(348 >> 8);
  nifti2[0] = static_cast<char>(540 & 0xff);
  nifti2[1] = static_cast<char>(540 >> 8);
  EXPECT_EQ(serve::sniff_extension(nifti1), ".nii");
  EXPECT_EQ(serve::sniff_extension(nifti1_be), ".nii");
  EXPECT_EQ(serve::sniff_extension(nifti2), ".nii");
  EXPECT_EQ(serve::sniff_extension(nifti1.substr(0, 100)), "");  // too short to hold a header
  EXPECT_EQ(serve::sniff_extension("hello"), "");
  EXPECT_EQ(serve::sniff_extension(""), "");
  EXPECT_EQ(serve::sniff_extension("\x89PN"), "");
}

TEST(Upload, ShownNamesLoseFoldersAndMarkup) {
  EXPECT_EQ(serve::shown_name("scan.nii.gz"), "scan.nii.gz");
  EXPECT_EQ(serve::shown_name("../../etc/passwd"), "passwd");
  EXPECT_EQ(serve::shown_name("C:\\Users\\a\\eye.png"), "eye.png");
  EXPECT_EQ(serve::shown_name("<script>x\".png"), "scriptx.png");
  EXPECT_EQ(serve::shown_name(std::string("a\nb\r\x01.png")), "ab.png");
  EXPECT_EQ(serve::shown_name(""), "upload");
  EXPECT_EQ(serve::shown_name("dir/"), "upload");
  EXPECT_EQ(serve::shown_name(".."), "upload");
  EXPECT_EQ(serve::shown_name(std::string(300, 'a')).size(), 100u);
}

TEST(Upload, ReadsEachFormatPrivatelyAndLeavesNothing) {
  const fs::path parent = fs::temp_directory_path() / "mednet_upload_test";
  fs::remove_all(parent);
  fs::create_directories(parent);
  std::string folder;
  {
    serve::UploadFolder uploads(parent.string());
    folder = uploads.path();
    struct stat st {};
    ASSERT_EQ(::stat(folder.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_EQ(fs::path(folder).parent_path(), parent);

    const at::Tensor img = torch::randint(0, 256, {3, 6, 9}, torch::kUInt8);
    const data::InputFile a = uploads.read(data::encode_png(img), "eye.png", 2);
    EXPECT_TRUE(torch::equal(a.data, img));
    const at::Tensor vol = torch::randint(0, 256, {4, 5, 6}, torch::kUInt8);
    const data::InputFile b = uploads.read(data::npy_bytes(vol), "vol.npy", 3);
    EXPECT_TRUE(torch::equal(b.data, vol.unsqueeze(0)));
    EXPECT_TRUE(fs::is_empty(folder));

    // Errors name the upload as the client called it; the private path never shows.
    const std::string png = data::encode_png(img);
    for (const auto& [bytes, dims, fragment] : std::vector<std::tuple<std::string, int, std::string>>{
             {png.substr(0, 60), 2, "damaged PNG"},
             {"plain text", 2, "not a PNG, JPEG"},
             {png, 3, "3D model"},
             {data::npy_bytes(vol), 2, "not a 2D input"}}) {
      try {
        uploads.read(bytes, "mine.png", dims);
        ADD_FAILURE() << "no error for " << fragment;
      } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("mine.png"), std::string::npos) << what;
        EXPECT_NE(what.find(fragment), std::string::npos) << what;
        EXPECT_EQ(what.find(folder), std::string::npos) << what;
      }
    }
    EXPECT_TRUE(fs::is_empty(folder));
  }
  EXPECT_FALSE(fs::exists(folder));
  fs::remove_all(parent);
}
