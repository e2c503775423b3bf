// Unit tests for sif/sif.hpp (the SIF global header and descriptor table, on files built here
// byte by byte with the layout of sylabs' SIF library, spec version 01) and sif/apptainer.hpp (what
// cexec takes from Apptainer's env scripts and labels.json). The e2e suite checks the same reader
// against SIF files written by sylabs' library itself (tests/sif/make_sif.go).
#include "apptainer.hpp"
#include "sif.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>

namespace cexec::sif {
namespace {

void put64(std::string& b, size_t at, uint64_t v) {
  for (size_t i = 0; i < 8; ++i) {
    b[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
}

void put32(std::string& b, size_t at, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) {
    b[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
}

struct Object {
  DataType type;
  uint64_t offset;
  uint64_t size;
  FsType fs = FsType::squashfs;
  PartType part = PartType::primary_system;
  std::string arch = "02";
  bool used = true;
};

constexpr uint64_t table_offset = 4096;
constexpr uint64_t slots = 4;

// A SIF file of `file_size` bytes whose table has `slots` descriptors, the given ones first.
std::string make_sif(const std::vector<Object>& objects, uint64_t file_size = 1 << 20) {
  std::string b(file_size, '\0');
  b.replace(0, 31, "#!/usr/bin/env run-singularity\n");
  b.replace(32, 10, std::string("SIF_MAGIC\0", 10));
  b.replace(42, 2, "01");
  b.replace(45, 2, "02");
  put64(b, 80, slots - objects.size());
  put64(b, 88, slots);
  put64(b, 96, table_offset);
  put64(b, 104, slots * descriptor_size);
  for (size_t i = 0; i < objects.size(); ++i) {
    size_t at = table_offset + i * descriptor_size;
    const Object& o = objects[i];
    put32(b, at, static_cast<uint32_t>(o.type));
    b[at + 4] = o.used ? 1 : 0;
    put32(b, at + 5, static_cast<uint32_t>(i + 1));
    put64(b, at + 17, o.offset);
    put64(b, at + 25, o.size);
    if (o.type == DataType::partition) {
      put32(b, at + 201, static_cast<uint32_t>(o.fs));
      put32(b, at + 205, static_cast<uint32_t>(o.part));
      b.replace(at + 209, 2, o.arch);
    }
  }
  return b;
}

std::vector<Object> apptainer_layout() {
  return {{DataType::deffile, 32176, 114}, {DataType::labels, 32290, 98}, {DataType::partition, 32768, 500000}};
}

Result<Descriptor> primary_of(const std::string& file) {
  auto header = parse_header(std::string_view(file).substr(0, header_size), file.size(), "t.sif");
  BOOST_REQUIRE(header);
  auto table = std::string_view(file).substr(header.value().descriptors_offset);
  auto descriptors = parse_descriptors(table, header.value(), file.size(), "t.sif");
  if (!descriptors) {
    return descriptors.failure();
  }
  return primary_partition(descriptors.value(), "amd64", "t.sif");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sif)

BOOST_AUTO_TEST_CASE(apptainer_layout_finds_the_primary_partition_and_objects) {
  std::string file = make_sif(apptainer_layout());
  BOOST_CHECK(has_magic(file));
  auto header = parse_header(std::string_view(file).substr(0, header_size), file.size(), "t.sif");
  BOOST_REQUIRE(header);
  BOOST_CHECK_EQUAL(header.value().launch_script, "#!/usr/bin/env run-singularity\n");
  BOOST_CHECK_EQUAL(header.value().arch, "amd64");
  BOOST_CHECK_EQUAL(header.value().descriptors_total, slots);
  auto descriptors = parse_descriptors(std::string_view(file).substr(table_offset), header.value(), file.size(), "t.sif");
  BOOST_REQUIRE(descriptors);
  BOOST_CHECK_EQUAL(descriptors.value().size(), 3u);  // unused slots are left out
  auto primary = primary_partition(descriptors.value(), "amd64", "t.sif");
  BOOST_REQUIRE(primary);
  BOOST_CHECK_EQUAL(primary.value().offset, 32768u);
  BOOST_CHECK_EQUAL(primary.value().size, 500000u);
  BOOST_CHECK_EQUAL(primary.value().arch, "amd64");
  const Descriptor* def = find_object(descriptors.value(), DataType::deffile);
  BOOST_REQUIRE(def != nullptr);
  BOOST_CHECK_EQUAL(def->offset, 32176u);
  BOOST_CHECK(find_object(descriptors.value(), DataType::signature) == nullptr);
}

BOOST_AUTO_TEST_CASE(other_files_are_not_sif) {
  BOOST_CHECK(!has_magic("hsqs"));
  BOOST_CHECK(!has_magic(std::string(128, '\0')));
  auto r = parse_header(std::string(128, 'x'), 128, "a.sqfs");
  BOOST_REQUIRE(!r);
  BOOST_CHECK_EQUAL(r.failure().message, "image `a.sqfs`: not a SIF file");
}

BOOST_AUTO_TEST_CASE(unusable_partitions_get_one_line_reasons) {
  struct Case {
    FsType fs;
    std::string arch;
    std::string expected;
  };
  const Case cases[] = {
      {FsType::ext3, "02", "image `t.sif`: the SIF's primary partition is ext3, not SquashFS (cexec runs SquashFS partitions only)"},
      {FsType::encrypted_squashfs, "02", "image `t.sif`: the SIF's primary partition is encrypted (cexec cannot decrypt SIF partitions)"},
      {FsType::squashfs, "04", "image `t.sif`: the SIF is built for arm64, this host runs amd64"},
      {FsType::squashfs, "99", "image `t.sif`: the SIF is built for unknown, this host runs amd64"},
  };
  for (const auto& c : cases) {
    auto objects = apptainer_layout();
    objects[2].fs = c.fs;
    objects[2].arch = c.arch;
    auto r = primary_of(make_sif(objects));
    BOOST_REQUIRE(!r);
    BOOST_CHECK(r.failure().kind == ErrorKind::image_invalid);
    BOOST_CHECK_EQUAL(r.failure().message, c.expected);
  }
}

BOOST_AUTO_TEST_CASE(only_a_used_primary_system_partition_counts) {
  auto objects = apptainer_layout();
  objects[2].part = PartType::data;
  auto r = primary_of(make_sif(objects));
  BOOST_REQUIRE(!r);
  BOOST_CHECK_EQUAL(r.failure().message, "image `t.sif`: the SIF has no primary system partition");
  objects[2].part = PartType::primary_system;
  objects[2].used = false;
  BOOST_CHECK(!primary_of(make_sif(objects)));
}

BOOST_AUTO_TEST_CASE(truncated_and_corrupt_files_are_refused) {
  std::string file = make_sif(apptainer_layout());
  auto short_header = parse_header(std::string_view(file).substr(0, 100), 100, "t.sif");
  BOOST_REQUIRE(!short_header);
  BOOST_CHECK_EQUAL(short_header.failure().message, "image `t.sif`: truncated SIF (global header incomplete)");

  // The partition (32768 + 500000) past the end of a file cut at 100000 bytes.
  auto cut = primary_of(std::string(file, 0, 100000));
  BOOST_REQUIRE(!cut);
  BOOST_CHECK_EQUAL(cut.failure().message, "image `t.sif`: truncated SIF (object 3 ends past the end of the file)");

  // The table itself past the end.
  auto no_table = parse_header(std::string_view(file).substr(0, header_size), 5000, "t.sif");
  BOOST_REQUIRE(!no_table);
  BOOST_CHECK_EQUAL(no_table.failure().message, "image `t.sif`: truncated SIF (descriptor table past the end of the file)");

  for (uint64_t total : {uint64_t{0}, uint64_t{max_descriptors + 1}, ~uint64_t{0}}) {
    std::string bad = file;
    put64(bad, 88, total);
    auto r = parse_header(std::string_view(bad).substr(0, header_size), bad.size(), "t.sif");
    BOOST_REQUIRE(!r);
    BOOST_CHECK_EQUAL(r.failure().message, "image `t.sif`: corrupt SIF global header (descriptor table)");
  }

  std::string version = file;
  version.replace(42, 2, "02");
  auto v = parse_header(std::string_view(version).substr(0, header_size), version.size(), "t.sif");
  BOOST_REQUIRE(!v);
  BOOST_CHECK_EQUAL(v.failure().message, "image `t.sif`: unsupported SIF version `02` (cexec reads version 01)");

  // An object whose offset + size overflows 64 bits.
  auto objects = apptainer_layout();
  objects[0].offset = ~uint64_t{0} - 10;
  auto overflow = primary_of(make_sif(objects));
  BOOST_REQUIRE(!overflow);
  BOOST_CHECK_EQUAL(overflow.failure().message, "image `t.sif`: truncated SIF (object 1 ends past the end of the file)");
}

BOOST_AUTO_TEST_CASE(architecture_and_file_system_names) {
  BOOST_CHECK_EQUAL(arch_name("02"), "amd64");
  BOOST_CHECK_EQUAL(arch_name("04"), "arm64");
  BOOST_CHECK_EQUAL(arch_name("12"), "riscv64");
  BOOST_CHECK_EQUAL(arch_name("13"), "unknown");
  BOOST_CHECK_EQUAL(arch_name("x2"), "unknown");
  BOOST_CHECK_EQUAL(arch_name(""), "unknown");
  BOOST_CHECK_EQUAL(fs_type_name(2), "ext3");
  BOOST_CHECK_EQUAL(fs_type_name(77), "an unknown file system");
}

// --- Apptainer metadata ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(env_scripts_keep_top_level_simple_assignments) {
  std::string script =
      "#!/bin/sh\n"
      "# comment\n"
      "export PATH=\"/usr/local/bin:/usr/bin:/bin\"\n"
      "export A=plain\n"
      "B=\"$A/ref ${A}\"\n"
      "C='literal $HOME'\n"
      "  export   D=indented\n";
  BOOST_CHECK_EQUAL(assignments_from_script(script),
                    "PATH=\"/usr/local/bin:/usr/bin:/bin\"\n"
                    "A=plain\n"
                    "B=\"$A/ref ${A}\"\n"
                    "C=\"literal \\$HOME\"\n"
                    "D=indented\n");
  auto env = parse_env_text(assignments_from_script(script), "env");
  BOOST_REQUIRE(env);
  BOOST_CHECK_EQUAL(expand_env_value(env.value()[3].second, {{"HOME", "/root"}}), "literal $HOME");
}

BOOST_AUTO_TEST_CASE(env_scripts_skip_what_cexec_does_not_evaluate) {
  std::string script =
      "if [ -z \"$LD_LIBRARY_PATH\" ]; then\n"
      "    LD_LIBRARY_PATH=\"/.singularity.d/libs\"\n"
      "else\n"
      "    LD_LIBRARY_PATH=\"$LD_LIBRARY_PATH:/.singularity.d/libs\"\n"
      "fi\n"
      "f() {\n"
      "  INSIDE=1\n"
      "}\n"
      "for x in a b; do\n"
      "  LOOP=$x\n"
      "done\n"
      "export DEFAULTED=\"${X:-default}\"\n"
      "export SUBST=$(hostname)\n"
      "export TICKS=\"`id -u`\"\n"
      "TWO=words here\n"
      "CHAIN=a; OTHER=b\n"
      "export LD_LIBRARY_PATH PS1\n"
      "PS1=\"Apptainer> \"\n"
      "if true; then ONELINE=1; fi\n"
      "AFTER=yes\n";
  BOOST_CHECK_EQUAL(assignments_from_script(script), "PS1=\"Apptainer> \"\nAFTER=yes\n");
}

BOOST_AUTO_TEST_CASE(only_sh_files_are_env_scripts) {
  BOOST_CHECK(is_env_script("90-environment.sh"));
  BOOST_CHECK(!is_env_script("README"));
  BOOST_CHECK(!is_env_script(".sh"));
  BOOST_CHECK(!is_env_script("x.sh.orig"));
}

BOOST_AUTO_TEST_CASE(json_labels_become_label_lines) {
  auto r = labels_from_json(R"({"org.label-schema.build-date": "Monday", "MAINTAINER": "a\nb", "bad name": "x",
                                 "number": 3})",
                            "labels.json");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r.value(), "MAINTAINER=a b\norg.label-schema.build-date=Monday\n");
  auto bad = labels_from_json("[1, 2]", "labels.json");
  BOOST_REQUIRE(!bad);
  BOOST_CHECK_EQUAL(bad.failure().message, "labels.json: not a JSON object of labels");
  BOOST_CHECK(!labels_from_json("{", "labels.json"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace cexec::sif
