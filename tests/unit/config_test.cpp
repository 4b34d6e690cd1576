#define CAF_SUITE config
#include <caf/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <unistd.h>

#include <caf/all.hpp>

#include "config/options.hpp"
#include "crust/config.hpp"

using namespace crust;

namespace {

// Parses `args` (and the INI `ini`, when given) the way an application
// would, then reads crust's options.
struct parsed {
  caf::error parse_error;
  caf::expected<service_options> opts{caf::none};
};

parsed read(std::vector<std::string> args, const std::string& ini = {}) {
  std::string path;
  if (!ini.empty()) {
    char tmpl[] = "/tmp/crust-config-test-XXXXXX";
    auto fd = mkstemp(tmpl);
    CAF_REQUIRE(fd >= 0);
    close(fd);
    path = tmpl;
    std::ofstream{path} << ini;
    args.push_back("--config-file=" + path);
  }
  crust::config cfg;
  parsed result;
  result.parse_error = cfg.parse(args);
  if (!result.parse_error)
    result.opts = read_options(cfg);
  if (!path.empty())
    std::remove(path.c_str());
  return result;
}

std::string message_of(const caf::error& err) {
  auto text = to_string(err);
  if (!err.context().empty() && err.context().match_element<std::string>(0))
    text += " " + err.context().get_as<std::string>(0);
  return text;
}

bool mentions(const caf::error& err, const std::string& what) {
  return message_of(err).find(what) != std::string::npos;
}

} // namespace

CAF_TEST(defaults are sane) {
  auto r = read({});
  CAF_REQUIRE(!r.parse_error);
  CAF_REQUIRE(r.opts);
  CAF_CHECK_EQUAL(r.opts->listen_port, 0u);
  CAF_CHECK_EQUAL(r.opts->prefer_transport, "tcp");
  CAF_CHECK(!validate(*r.opts));
}

CAF_TEST(settings come from the ini file and the command line overrides) {
  auto r = read({"--crust.listen-port=4001"},
                "[crust]\nlisten-port=4000\ndecision-timeout=3s\n"
                "listen-address=\"127.0.0.1\"\n");
  CAF_REQUIRE(r.opts);
  CAF_CHECK_EQUAL(r.opts->listen_port, 4001u);
  CAF_CHECK_EQUAL(r.opts->listen_address, "127.0.0.1");
  CAF_CHECK(r.opts->decision_timeout == std::chrono::seconds(3));
}

CAF_TEST(a port of 70000 names the key and the value) {
  auto r = read({"--crust.listen-port=70000"});
  CAF_REQUIRE(!r.opts);
  CAF_CHECK(mentions(r.opts.error(), "crust.listen-port"));
  CAF_CHECK(mentions(r.opts.error(), "70000"));
}

CAF_TEST(a negative timeout names the key) {
  auto r = read({"--crust.decision-timeout=-5s"});
  CAF_REQUIRE(!r.opts);
  CAF_CHECK(mentions(r.opts.error(), "crust.decision-timeout"));
  CAF_CHECK(mentions(r.opts.error(), "-5s"));
}

CAF_TEST(an unknown transport names the key and the value) {
  auto r = read({"--crust.prefer-transport=carrier-pigeon"});
  CAF_REQUIRE(!r.opts);
  CAF_CHECK(mentions(r.opts.error(), "crust.prefer-transport"));
  CAF_CHECK(mentions(r.opts.error(), "carrier-pigeon"));
}

CAF_TEST(a mistyped ini value names the key the value and the file) {
  auto r = read({}, "[crust]\nlisten-port=\"abc\"\n");
  CAF_REQUIRE(!r.opts);
  CAF_CHECK(mentions(r.opts.error(), "crust.listen-port"));
  CAF_CHECK(mentions(r.opts.error(), "abc"));
  CAF_CHECK(mentions(r.opts.error(), "/tmp/crust-config-test-"));
}

CAF_TEST(an out of range ini value is refused) {
  auto r = read({}, "[crust]\nlisten-port=70000\n");
  CAF_REQUIRE(!r.opts);
  CAF_CHECK(mentions(r.opts.error(), "crust.listen-port"));
  CAF_CHECK(mentions(r.opts.error(), "70000"));
}

CAF_TEST(an unknown ini key is refused rather than ignored) {
  auto r = read({}, "[crust]\nlisten-prot=4000\n");
  CAF_REQUIRE(!r.opts);
  CAF_CHECK(mentions(r.opts.error(), "crust.listen-prot"));
}

CAF_TEST(a mistyped command line value fails parsing) {
  auto r = read({"--crust.listen-port=abc"});
  CAF_CHECK(r.parse_error);
}

CAF_TEST(options built in code are checked too) {
  service_options o;
  o.heartbeat_timeout = o.heartbeat_interval;
  CAF_CHECK(mentions(validate(o), "crust.heartbeat-timeout"));
  o = service_options{};
  o.max_frame_size = 10;
  CAF_CHECK(mentions(validate(o), "crust.max-frame-size"));
}

CAF_TEST(the allow list comes from the ini file and bad entries are named) {
  auto r = read({}, "[crust]\nallow-only=[\"10.0.0.0/8\", \"192.0.2.1\"]\n");
  CAF_REQUIRE(r.opts);
  CAF_CHECK_EQUAL(r.opts->allow_only.size(), 2u);
  r = read({}, "[crust]\nallow-only=[\"10.0.0.0/8\", \"nonsense\"]\n");
  CAF_REQUIRE(!r.opts);
  CAF_CHECK(mentions(r.opts.error(), "crust.allow-only"));
  CAF_CHECK(mentions(r.opts.error(), "nonsense"));
  r = read({}, "[crust]\nallow-only=\"10.0.0.1\"\n");
  CAF_REQUIRE(!r.opts);
  CAF_CHECK(mentions(r.opts.error(), "not a list"));
}

CAF_TEST(rate limits below a useful floor are refused) {
  auto r = read({"--crust.max-bytes-per-sec=1000"});
  CAF_REQUIRE(!r.parse_error);
  CAF_REQUIRE(!r.opts);
  CAF_CHECK(mentions(r.opts.error(), "crust.max-bytes-per-sec"));
}

CAF_TEST(the shipped example names every key and holds the defaults) {
  auto path = std::string{CRUST_SOURCE_DIR} + "/configs/caf-application.ini";
  crust::config cfg;
  CAF_REQUIRE(!cfg.parse({"--config-file=" + path}));
  auto opts = read_options(cfg);
  CAF_REQUIRE(opts);
  service_options defaults;
  CAF_CHECK_EQUAL(opts->max_bytes_per_sec, defaults.max_bytes_per_sec);
  CAF_CHECK_EQUAL(opts->max_half_open, defaults.max_half_open);
  CAF_CHECK_EQUAL(opts->flood_timeout, defaults.flood_timeout);
  CAF_CHECK_EQUAL(opts->max_frame_size, defaults.max_frame_size);
  CAF_CHECK_EQUAL(opts->send_queue_size, defaults.send_queue_size);
  auto ini = caf::actor_system_config::parse_config_file(path.c_str());
  CAF_REQUIRE(ini);
  // Every key is there, set or (when its default depends on the machine)
  // shown commented out.
  std::ifstream in{path};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  for (auto& key : crust::setting_names())
    if (text.find("\n" + key + "=") == std::string::npos
        && text.find("\n; " + key + "=") == std::string::npos)
      CAF_FAIL("the example lacks crust." << key);
}

namespace {

std::string file_text(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, {}};
}

// Every [crust] key `ini` sets is a setting of the table, set to its
// default.
void check_defaults(const std::string& what, const std::string& ini) {
  std::istringstream in{ini};
  auto parsed = caf::actor_system_config::parse_config(in);
  CAF_REQUIRE(parsed);
  auto section = parsed->find("crust");
  CAF_REQUIRE(section != parsed->end());
  auto dict = caf::get_if<caf::config_value::dictionary>(&section->second);
  CAF_REQUIRE(dict);
  CAF_CHECK_GREATER(dict->size(), 10u);
  for (auto& [key, value] : *dict) {
    auto spec = crust::find_option(key);
    if (spec == nullptr) {
      CAF_ERROR(what << " names crust." << key << ", which is no setting");
      continue;
    }
    auto shown = caf::to_string(value);
    auto wanted = caf::to_string(spec->default_value());
    if (shown != wanted)
      CAF_ERROR(what << " sets crust." << key << " to " << shown
                     << " where the default is " << wanted);
    CAF_CHECK_EQUAL(shown, wanted);
  }
}

} // namespace

CAF_TEST(the shipped example and the README hold only settings at their defaults) {
  auto root = std::string{CRUST_SOURCE_DIR};
  check_defaults("configs/caf-application.ini",
                 file_text(root + "/configs/caf-application.ini"));
  auto readme = file_text(root + "/README.md");
  auto start = readme.find("```ini\n[crust]");
  CAF_REQUIRE(start != std::string::npos);
  start += 7;
  auto end = readme.find("```", start);
  CAF_REQUIRE(end != std::string::npos);
  check_defaults("README.md", readme.substr(start, end - start));
}

CAF_TEST(every setting in the table has a field of its own and help) {
  std::set<std::string> keys;
  for (auto& spec : crust::option_table()) {
    CAF_CHECK(keys.insert(spec.key).second);
    CAF_CHECK(std::string{spec.help}.size() > 10);
    // A default passes its own rule.
    CAF_CHECK(!crust::check_value(spec, spec.default_value()));
  }
  CAF_CHECK_EQUAL(keys.size(), crust::setting_names().size());
}
