// Byte compatibility with model_signing: the upstream golden manifests and statements
// (tests/_serialization, tests/_signing in model-transparency) are reproduced from the
// test models upstream generates (testdata README §4.1), plus the §4.4 vectors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "test_util.h"

namespace modelsign::testing {
namespace {

const fs::path kUpstream = fs::path(MODELSIGN_TESTDATA_DIR) / "model-transparency";
const fs::path kManifestGoldens = kUpstream / "tests/_serialization/testdata";
const fs::path kStatementGoldens = kUpstream / "tests/_signing/testdata/signing/TestPayload";

// Builds the upstream pytest models (README §4.1) under `dir`; returns the model path.
fs::path make_upstream_model(const fs::path& dir, const std::string& fixture) {
  if (fixture == "sample_model_file") {
    write_file(dir / "file_model", "This is a simple model");
    return dir / "file_model";
  }
  if (fixture == "empty_model_file") {
    write_file(dir / "empty_file_model", "");
    return dir / "empty_file_model";
  }
  if (fixture == "sample_model_folder") {
    fs::path m = dir / "sample_model";
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        write_file(m / ("d" + std::to_string(i)) / ("f" + std::to_string(i) + std::to_string(j)),
                   "This is file f" + std::to_string(i) + std::to_string(j) + " in d" +
                       std::to_string(i) + ".");
    for (int i = 0; i < 4; ++i)
      write_file(m / ("f" + std::to_string(i)), "This is file f" + std::to_string(i) + " in root.");
    return m;
  }
  if (fixture == "deep_model_folder") {
    fs::path m = dir / "deep_model";
    for (int i = 0; i < 4; ++i)
      write_file(m / "d0/d1/d2/d3/d4" / ("f" + std::to_string(i)),
                 "This is file f" + std::to_string(i) + ".");
    return m;
  }
  if (fixture == "empty_model_folder") {
    fs::create_directories(dir / "empty_folder_model");
    return dir / "empty_folder_model";
  }
  if (fixture == "model_folder_with_empty_file") {
    write_file(dir / "empty_file_inside_model/empty_file", "");
    return dir / "empty_file_inside_model";
  }
  if (fixture == "symlink_model_folder") {
    // Absolute link to a file outside the model, as upstream's fixture.
    write_file(dir / "outside/target", "This is a simple model");
    fs::create_directories(dir / "symlink_model");
    fs::create_symlink(fs::absolute(dir / "outside/target"), dir / "symlink_model/symlink_file");
    return dir / "symlink_model";
  }
  throw std::invalid_argument("unknown fixture " + fixture);
}

enum class Mode { kFiles, kShards, kSmallShards };

struct GoldenCase {
  std::string fixture;
  Mode mode;
};

std::string case_name(const ::testing::TestParamInfo<GoldenCase>& info) {
  static const char* suffix[] = {"files", "shards", "small_shards"};
  return info.param.fixture + "_" + suffix[static_cast<int>(info.param.mode)];
}

// Upstream ran its serializers with allow_symlinks=True, no ignore paths, SHA-256.
Result<Manifest> compute_like_upstream(const fs::path& model, Mode mode) {
  SerializationOptions ser;
  ser.symlinks = SymlinkPolicy::kFollowAnywhere;
  ser.ignore_git_paths = false;
  if (mode != Mode::kFiles) {
    ser.method = Method::kShards;
    ser.shard_size = mode == Mode::kSmallShards ? 8 : kDefaultShardSize;
  }
  HashingOptions h;
  h.allow_empty_model = true;
  return compute_manifest(model.string(), ser, h);
}

class UpstreamGolden : public ::testing::TestWithParam<GoldenCase> {
 protected:
  TempDir tmp_;
};

TEST_P(UpstreamGolden, ManifestLinesEqualUpstreamGoldenFile) {
  const auto& c = GetParam();
  fs::path model = make_upstream_model(tmp_.path(), c.fixture);
  auto m = compute_like_upstream(model, c.mode);
  ASSERT_TRUE(m.has_value()) << m.error().message;

  fs::path golden = c.mode == Mode::kFiles ? kManifestGoldens / "file/TestSerializer" / c.fixture
                    : c.mode == Mode::kShards
                        ? kManifestGoldens / "file_shard/TestSerializer" / c.fixture
                        : kManifestGoldens / "file_shard/TestSerializer" / (c.fixture + "_small_shards");
  ASSERT_TRUE(fs::exists(golden)) << golden;
  EXPECT_EQ(manifest_lines(*m), split_lines(read_file(golden)));
}

TEST_P(UpstreamGolden, StatementSubjectAndResourcesEqualUpstreamPayload) {
  const auto& c = GetParam();
  fs::path model = make_upstream_model(tmp_.path(), c.fixture);
  auto m = compute_like_upstream(model, c.mode);
  ASSERT_TRUE(m.has_value()) << m.error().message;

  static const char* suffix[] = {"", "_shard", "_small_shards"};
  fs::path golden = kStatementGoldens / (c.fixture + suffix[static_cast<int>(c.mode)]);
  ASSERT_TRUE(fs::exists(golden)) << golden;
  auto st = nlohmann::json::parse(read_file(golden));

  EXPECT_EQ(to_hex(m->root_digest()), st["subject"][0]["digest"]["sha256"].get<std::string>());
  EXPECT_EQ(m->model_name, st["subject"][0]["name"].get<std::string>());

  const auto& ser = st["predicate"]["serialization"];
  EXPECT_EQ(std::string(to_string(m->serialization.method)), ser["method"].get<std::string>());
  EXPECT_EQ(std::string(to_string(m->serialization.hash)), ser["hash_type"].get<std::string>());
  EXPECT_EQ(m->serialization.allow_symlinks, ser["allow_symlinks"].get<bool>());
  if (ser.contains("shard_size")) {
    ASSERT_TRUE(m->serialization.shard_size.has_value());
    EXPECT_EQ(static_cast<double>(*m->serialization.shard_size), ser["shard_size"].get<double>());
  } else {
    EXPECT_FALSE(m->serialization.shard_size.has_value());
  }

  const auto& res = st["predicate"]["resources"];
  ASSERT_EQ(m->resources.size(), res.size());
  for (std::size_t i = 0; i < res.size(); ++i) {
    EXPECT_EQ(m->resources[i].name, res[i]["name"].get<std::string>()) << i;
    EXPECT_EQ(m->resources[i].algorithm, res[i]["algorithm"].get<std::string>()) << i;
    EXPECT_EQ(to_hex(m->resources[i].digest), res[i]["digest"].get<std::string>()) << i;
  }
}

std::vector<GoldenCase> all_cases() {
  std::vector<GoldenCase> out;
  for (const char* f : {"sample_model_file", "empty_model_file", "sample_model_folder",
                        "deep_model_folder", "empty_model_folder", "model_folder_with_empty_file",
                        "symlink_model_folder"})
    for (Mode mode : {Mode::kFiles, Mode::kShards, Mode::kSmallShards}) out.push_back({f, mode});
  return out;
}

INSTANTIATE_TEST_SUITE_P(ModelTransparency, UpstreamGolden, ::testing::ValuesIn(all_cases()),
                         case_name);

// Every golden file present in the data has a test case above (none silently skipped).
TEST(UpstreamGoldenCoverage, EveryGoldenFileIsExercised) {
  std::vector<std::string> expected;
  for (const auto& c : all_cases()) {
    static const char* dir[] = {"file", "file_shard", "file_shard"};
    static const char* sfx[] = {"", "", "_small_shards"};
    static const char* st_sfx[] = {"", "_shard", "_small_shards"};
    auto k = static_cast<int>(c.mode);
    expected.push_back(std::string("manifest/") + dir[k] + "/" + c.fixture + sfx[k]);
    expected.push_back("statement/" + c.fixture + st_sfx[k]);
  }
  std::vector<std::string> found;
  for (const char* d : {"file", "file_shard"})
    for (const auto& e : fs::directory_iterator(kManifestGoldens / d / "TestSerializer"))
      found.push_back(std::string("manifest/") + d + "/" + e.path().filename().string());
  for (const auto& e : fs::directory_iterator(kStatementGoldens))
    found.push_back("statement/" + e.path().filename().string());
  std::sort(expected.begin(), expected.end());
  std::sort(found.begin(), found.end());
  EXPECT_EQ(expected, found);
}

// README §4.4: BLAKE2b-512 vectors (the root stays SHA-256 over the 64-byte digests).
TEST(Blake2bVectors, SingleFileModelsMatchReadmeVectors) {
  TempDir tmp;
  SerializationOptions ser;
  ser.hash = HashAlgorithm::kBlake2b;
  HashingOptions h;
  h.allow_empty_model = true;

  auto m = compute_manifest(make_upstream_model(tmp.path(), "sample_model_file").string(), ser, h);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  ASSERT_EQ(m->resources.size(), 1u);
  EXPECT_EQ(m->resources[0].name, ".");
  EXPECT_EQ(m->resources[0].algorithm, "blake2b");
  EXPECT_EQ(to_hex(m->resources[0].digest),
            "20e68afc59075f50f66f399d2cc590f2a93f58349dd6626c0f93bfa19d142b1741029b102cbc7ec0b36ad8"
            "dc771d66e904ca9a874c76fcc242fee0bea557463f");
  EXPECT_EQ(root_hex(*m), "145cbf762bd716dcbf86e41c19f30dab169850fd750e28bb6591bf85b0b1324d");

  auto e = compute_manifest(make_upstream_model(tmp.path(), "empty_model_file").string(), ser, h);
  ASSERT_TRUE(e.has_value()) << e.error().message;
  ASSERT_EQ(e->resources.size(), 1u);
  EXPECT_EQ(to_hex(e->resources[0].digest),
            "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee58531389"
            "6444934eb04b903a685b1448b755d56f701afe9be2ce");
  EXPECT_EQ(root_hex(*e), "3a28da97ec66911e5796144fbc6558548c275c3710680d430f54dc6c2d56e40d");
}

TEST(Blake2bVectors, SampleFolderRootMatchesReadmeVectorAndPerFileReference) {
  TempDir tmp;
  fs::path model = make_upstream_model(tmp.path(), "sample_model_folder");
  SerializationOptions ser;
  ser.hash = HashAlgorithm::kBlake2b;
  auto m = compute_manifest(model.string(), ser);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(root_hex(*m), "4544f014961f76d34f138ec7e0d04d6070a048a8068662f1744b8b0e3dde38f5");
  ASSERT_EQ(m->resources.size(), 10u);
  for (const auto& r : m->resources)
    EXPECT_EQ(to_hex(r.digest), ref_digest_hex(read_file(model / r.path), "BLAKE2B-512")) << r.name;
}

TEST(Blake2bVectors, ShardedAlgorithmNameCarriesShardSize) {
  TempDir tmp;
  SerializationOptions ser;
  ser.hash = HashAlgorithm::kBlake2b;
  ser.method = Method::kShards;
  ser.shard_size = 8;
  auto m = compute_manifest(make_upstream_model(tmp.path(), "sample_model_file").string(), ser);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  ASSERT_EQ(m->resources.size(), 3u);
  const std::string content = "This is a simple model";
  const std::size_t bounds[][2] = {{0, 8}, {8, 16}, {16, 22}};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(m->resources[i].algorithm, "blake2b-sharded-8");
    EXPECT_EQ(to_hex(m->resources[i].digest),
              ref_digest_hex(content.substr(bounds[i][0], bounds[i][1] - bounds[i][0]), "BLAKE2B-512"));
  }
}

// README §4.4 sort-order vector: component-wise order, not byte-wise.
TEST(SortOrderVector, ComponentWiseOrderGivesReadmeRootNotBytewiseRoot) {
  TempDir tmp;
  fs::path model = tmp / "order";
  for (const char* p : {"A", "a b", "a-b", "a.b", "a0", "ab", "a/b", "a/b0"}) write_file(model / p, p);
  write_file(model / "a.d/z", "x");

  auto m = compute_manifest(model.string(), SerializationOptions{});
  ASSERT_TRUE(m.has_value()) << m.error().message;
  std::vector<std::string> names;
  for (const auto& r : m->resources) names.push_back(r.name);
  EXPECT_EQ(names, (std::vector<std::string>{"A", "a/b", "a/b0", "a b", "a-b", "a.b", "a.d/z",
                                             "a0", "ab"}));
  EXPECT_EQ(root_hex(*m), "949ca8b907789ae60570ff3755509412b1f370895344b0409ce025444b6c5f05");

  // The vector discriminates: byte-wise order of the same digests gives the other root.
  auto bytewise = m->resources;
  std::sort(bytewise.begin(), bytewise.end(),
            [](const Resource& a, const Resource& b) { return a.name < b.name; });
  std::vector<std::string> digests;
  for (const auto& r : bytewise) digests.push_back(to_hex(r.digest));
  EXPECT_EQ(ref_root_hex(digests), "759297db6f1265918cb185610ee336a883d98869712422fb4ca503e910d8aaed");
}

TEST(SortOrderVector, PathLessIsComponentWise) {
  EXPECT_TRUE(path_less("a/b", "a b"));
  EXPECT_FALSE(path_less("a b", "a/b"));
  EXPECT_TRUE(path_less("a/b", "a/b0"));
  EXPECT_TRUE(path_less("a", "a/b"));
  EXPECT_TRUE(path_less("a.d/z", "a0"));
  EXPECT_FALSE(path_less("a/b", "a/b"));
  // Bytes compare unsigned (UTF-8 code point order): U+00E9 sorts after 'z'.
  EXPECT_TRUE(path_less("z", "\xc3\xa9"));
}

TEST(SortOrderVector, ShardsSortNumericallyNotAsStrings) {
  TempDir tmp;
  write_file(tmp / "m/f", pattern_bytes(100, 7));
  SerializationOptions ser;
  ser.method = Method::kShards;
  ser.shard_size = 8;
  auto m = compute_manifest((tmp / "m").string(), ser);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  ASSERT_EQ(m->resources.size(), 13u);
  EXPECT_EQ(m->resources[1].name, "f:8:16");
  EXPECT_EQ(m->resources[2].name, "f:16:24");
  EXPECT_EQ(m->resources[12].name, "f:96:100");
}

}  // namespace
}  // namespace modelsign::testing
