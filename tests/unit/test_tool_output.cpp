// `cexec build`'s counting of its tools' output (pure): lines split anywhere, debootstrap's and
// apt's package events, progress-bar redraws, the tail.
#include "builder/tool_output.hpp"

#include <boost/test/unit_test.hpp>

using cexec::build::ToolOutput;

BOOST_AUTO_TEST_SUITE(tool_output)

BOOST_AUTO_TEST_CASE(debootstrap_and_apt_events_are_counted) {
  ToolOutput t;
  std::string text =
      "I: Retrieving InRelease \nI: Retrieving Packages \nI: Validating Packages \n"
      "I: Retrieving libc6 2.36-9\nI: Retrieving bash 5.2.15-2\nI: Configuring libc6...\nI: Configuring bash...\n"
      "Get:1 http://deb.debian.org/debian bookworm/main amd64 hello amd64 2.10-3 [51.7 kB]\n"
      "Unpacking hello (2.10-3) ...\nSetting up hello (2.10-3) ...\n";
  // Fed in pieces that split lines anywhere.
  for (size_t i = 0; i < text.size(); i += 7) {
    t.feed(std::string_view(text).substr(i, 7));
  }
  t.finish();
  BOOST_CHECK_EQUAL(t.lines(), 10u);
  BOOST_CHECK_EQUAL(t.retrieved(), 3u);
  BOOST_CHECK_EQUAL(t.installed(), 3u);
  BOOST_CHECK_EQUAL(t.summary(), "3 packages retrieved, 3 set up, 10 lines");
}

BOOST_AUTO_TEST_CASE(summaries_and_the_tail) {
  ToolOutput none;
  BOOST_CHECK_EQUAL(none.summary(), "no output");
  BOOST_CHECK_EQUAL(none.tail(), "");
  ToolOutput t(3);
  t.feed("Setting up a (1)\nb\nc\nd\nprogress 10%\rprogress 50%\rprogress 100%");
  t.finish();
  BOOST_CHECK_EQUAL(t.summary(), "1 package set up, 5 lines");
  BOOST_CHECK_EQUAL(t.tail(), "c\nd\nprogress 100%\n");
  ToolOutput one;
  one.feed("x\n");
  BOOST_CHECK_EQUAL(one.summary(), "1 line");
}

BOOST_AUTO_TEST_CASE(a_line_without_end_is_bounded) {
  // A tool that never ends its lines is taken a line per 64 KiB; the tail keeps 1000 bytes of each.
  ToolOutput t;
  for (int i = 0; i < 3; ++i) {
    t.feed(std::string(40 * 1024, 'x'));
  }
  BOOST_CHECK_EQUAL(t.lines(), 1u);
  t.finish();
  BOOST_CHECK_EQUAL(t.lines(), 2u);
  BOOST_CHECK_EQUAL(t.tail(), std::string(1000, 'x') + "\n" + std::string(1000, 'x') + "\n");
}

BOOST_AUTO_TEST_SUITE_END()
