#include "mednet/report/html_page.h"

#include <fstream>

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

TEST(HtmlPage, ContentsListEverySectionAndFiguresAndLongTablesHaveTheirPlace) {
  rp::HtmlPage page("T");
  page.heading(2, "Summary", "summary");
  page.heading(3, "Inside");  // not a section of the contents, and no id
  page.heading(2, "Second & last");
  page.chart({{"type", "line"}, {"data", {{"datasets", nlohmann::json::array()}}}});
  const std::string png = mednet::testing::temp_dir("html-page") + "/one.png";
  { std::ofstream(png, std::ios::binary) << "PNGBYTES"; }
  page.image(png, "an image");
  page.open_details("Twelve rows <of> data");
  page.table({"a"}, {{"1"}});
  page.close_details();
  EXPECT_EQ(page.figure_count(), 2u);
  const std::string html = page.render();
  const size_t nav = html.find("<nav class=\"toc\"");
  ASSERT_NE(nav, std::string::npos);
  const std::string contents = html.substr(nav, html.find("</nav>", nav) - nav);
  EXPECT_NE(contents.find("<a href=\"#summary\">Summary</a><a href=\"#section-2\">Second &amp; last</a>"),
            std::string::npos)
      << contents;
  EXPECT_EQ(contents.find("Inside"), std::string::npos);
  EXPECT_LT(nav, html.find("<h2 id=\"summary\">"));  // the contents come before the first section
  EXPECT_NE(html.find("<h2 id=\"section-2\">Second &amp; last</h2>"), std::string::npos);
  EXPECT_NE(html.find("<h3>Inside</h3>"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"figure\" id=\"figure-1\"><a class=\"figlink\" href=\"#figure-1\""),
            std::string::npos);
  EXPECT_NE(html.find("<figure id=\"figure-2\"><a class=\"figlink\" href=\"#figure-2\""), std::string::npos);
  EXPECT_NE(html.find("base64,UE5HQllURVM="), std::string::npos);
  EXPECT_NE(html.find("<details class=\"long\"><summary>Twelve rows &lt;of&gt; data</summary>\n<table>"),
            std::string::npos);
  EXPECT_NE(html.find("</table>\n</details>"), std::string::npos);
  EXPECT_NE(html.find("nav.toc{position:fixed"), std::string::npos);  // beside the page on wide screens
}
