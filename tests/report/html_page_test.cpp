#include "mednet/report/html_page.h"

#include <gtest/gtest.h>

#include "support/fixtures.h"

namespace rp = mednet::report;

TEST(HtmlPage, EscapesAndEncodes) {
  EXPECT_EQ(rp::html_escape("a<b>&\"c\""), "a&lt;b&gt;&amp;&quot;c&quot;");
  EXPECT_EQ(rp::base64(""), "");
  EXPECT_EQ(rp::base64("f"), "Zg==");
  EXPECT_EQ(rp::base64("fo"), "Zm8=");
  EXPECT_EQ(rp::base64("foo"), "Zm9v");
  EXPECT_EQ(rp::base64("foobar"), "Zm9vYmFy");
}

TEST(HtmlPage, IsSelfContainedWithItsChartsAndTheLibraryLicence) {
  rp::HtmlPage page("T <1>");
  page.heading(2, "Section", "s1");
  page.table({"a", "b"}, {{"1", "<x>"}, {"2", "3"}}, {false, true});
  page.chart({{"type", "scatter"},
              {"data", {{"datasets", nlohmann::json::array()}}},
              {"options", {{"note", "</script>"}}}});
  page.image("/nonexistent/x.png", "caption");
  EXPECT_EQ(page.chart_count(), 1u);
  const std::string html = page.render();
  EXPECT_NE(html.find("<title>T &lt;1&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("<h2 id=\"s1\">Section</h2>"), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"gap\"><td>2</td>"), std::string::npos);
  EXPECT_NE(html.find("&lt;x&gt;"), std::string::npos);
  EXPECT_NE(html.find("missing image /nonexistent/x.png"), std::string::npos);
  EXPECT_NE(html.find("Chart.js v4"), std::string::npos);  // the library is inside the page
  EXPECT_NE(html.find("MIT License"), std::string::npos);  // with its licence
  EXPECT_NE(html.find("<canvas id=\"chart0\">"), std::string::npos);
  EXPECT_EQ(html.find("\"</script>\""), std::string::npos);  // a string in the data cannot end the script
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
}
