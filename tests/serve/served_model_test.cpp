// mednet serve's start-up rules: model names from --run, the exposure rule, and the token comparison.
#include <gtest/gtest.h>

#include "mednet/core/error.h"
#include "mednet/serve/http_server.h"
#include "mednet/serve/served_model.h"

using namespace mednet;

TEST(ServeArgs, ModelNamesFromRunFlags) {
  EXPECT_EQ(serve::parse_model_arg("retina=/runs/a"),
            (std::pair<std::string, std::string>{"retina", "/runs/a"}));
  EXPECT_EQ(serve::parse_model_arg("/runs/seed0/"),
            (std::pair<std::string, std::string>{"seed0", "/runs/seed0/"}));
  EXPECT_EQ(serve::parse_model_arg("runs/my run"),
            (std::pair<std::string, std::string>{"my-run", "runs/my run"}));
  EXPECT_EQ(serve::parse_model_arg("a=b=c").second, "b=c");
  for (const char* bad : {"=dir", "name=", "a/b=dir", "a b=dir"}) {
    try {
      serve::parse_model_arg(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage);
      EXPECT_NE(std::string(e.what()).find("--run"), std::string::npos) << e.what();
    }
  }
}

TEST(ServeArgs, OnlyLoopbackWithoutAToken) {
  EXPECT_TRUE(serve::is_loopback("127.0.0.1"));
  EXPECT_TRUE(serve::is_loopback("127.1.2.3"));
  EXPECT_TRUE(serve::is_loopback("localhost"));
  EXPECT_TRUE(serve::is_loopback("::1"));
  EXPECT_FALSE(serve::is_loopback("0.0.0.0"));
  EXPECT_FALSE(serve::is_loopback("192.168.1.4"));
  EXPECT_FALSE(serve::is_loopback("::"));
  EXPECT_FALSE(serve::is_loopback("128.0.0.1"));
  serve::ServeOptions o;
  o.host = "0.0.0.0";
  try {
    serve::check_exposure(o);
    ADD_FAILURE() << "0.0.0.0 without a token was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("--token"), std::string::npos);
  }
  o.token = "t";
  EXPECT_NO_THROW(serve::check_exposure(o));
  o.token.clear();
  o.insecure = true;
  EXPECT_NO_THROW(serve::check_exposure(o));
}

TEST(ServeArgs, SecretsCompareWhole) {
  EXPECT_TRUE(serve::same_secret("s3cret", "s3cret"));
  EXPECT_FALSE(serve::same_secret("s3cret", "s3creT"));
  EXPECT_FALSE(serve::same_secret("s3cret", "s3cret!"));
  EXPECT_FALSE(serve::same_secret("s3cret", "s3cre"));
  EXPECT_FALSE(serve::same_secret("", "x"));
  EXPECT_TRUE(serve::same_secret("", ""));
}
