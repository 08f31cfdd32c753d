#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "cli/commands.h"
#include "cli/output.h"
#include "crypto/encoding.h"
#include "modelsign/log.h"
#include "modelsign/manifest.h"

namespace modelsign::cli {

namespace {
struct DigestArgs {
  ModelOptions model;
  std::string hash = "sha256";
  std::string serialization = "files";
  std::uint64_t shard_size = kDefaultShardSize;
  unsigned threads = 0;
  unsigned io_depth = 0;
  bool json = false;
};

// "<hash>:<hex>": the root is always SHA-256 (spec §2.13), but the prefix names the
// resource hash so a blake2b manifest's root is never mistaken for a signed sha256 one.
std::string root_digest_text(const Manifest& m) {
  return std::string(to_string(m.serialization.hash)) + ":" + to_hex(m.root_digest());
}

nlohmann::ordered_json manifest_json(const Manifest& m) {
  nlohmann::ordered_json ser = {{"method", to_string(m.serialization.method)},
                                {"hash_type", to_string(m.serialization.hash)},
                                {"allow_symlinks", m.serialization.allow_symlinks}};
  if (m.serialization.shard_size) ser["shard_size"] = *m.serialization.shard_size;
  if (!m.serialization.ignore_paths.empty()) ser["ignore_paths"] = m.serialization.ignore_paths;
  auto res = nlohmann::ordered_json::array();
  for (const auto& r : m.resources)
    res.push_back({{"name", r.name}, {"algorithm", r.algorithm}, {"digest", to_hex(r.digest)}});
  return {{"model_name", m.model_name},
          {"serialization", ser},
          {"resources", res},
          {"root_digest", root_digest_text(m)}};
}

int run(const DigestArgs& a) {
  auto fail_digest = [](const Error& e) {
    std::string line = "Computing digest failed: " + log::printable(e.describe()) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
    emit_failure_json(e, {});
    return 1;
  };
  auto method = parse_method(a.serialization);
  if (!method) return fail_digest(method.error());
  auto hash = parse_hash(a.hash);
  if (!hash) return fail_digest(hash.error());
  // Like upstream, digest does not add any signature file to the ignore set.
  SerializationOptions ser = serialization_from(a.model, {});
  ser.method = *method;
  ser.hash = *hash;
  ser.shard_size = a.shard_size;
  auto m = compute_manifest(a.model.model_path, ser, hashing_defaults(a.threads, a.io_depth));
  if (!m) return fail_digest(m.error());
  log::debug("hashed {} files of '{}' with {} thread(s)", m->resources.size(), a.model.model_path,
             a.threads);
  if (json_mode(a.json)) {
    auto j = json_header(true, kExitOk);
    const auto manifest = manifest_json(*m);
    for (const auto& [k, v] : manifest.items()) j[k] = v;
    return emit_json(j);
  }
  return emit_text(root_digest_text(*m) + "\n");
}
}  // namespace

void register_digest(CLI::App& app, GlobalOptions&, int* rc) {
  auto* args = make_args<DigestArgs>();
  CLI::App* cmd = app.add_subcommand("digest", "Print the root digest of a model's manifest");
  add_model_options(cmd, args->model);
  cmd->add_option(flag("hash"), args->hash, "sha256 (default) or blake2b")
      ->check(CLI::IsMember({"sha256", "blake2b", "blake2"}))
      ->option_text("ALG")
      ->group(kGroupAdvanced);
  cmd->add_option(flag("serialization"), args->serialization, "files (default) or shards")
      ->check(CLI::IsMember({"files", "shards"}))
      ->option_text("METHOD")
      ->group(kGroupAdvanced);
  cmd->add_option(flag("shard-size"), args->shard_size, "Shard size in bytes (default: 1000000000)")
      ->check(CLI::PositiveNumber)
      ->option_text("BYTES")
      ->group(kGroupAdvanced);
  add_threads_option(cmd, args->threads);
  add_io_depth_option(cmd, args->io_depth);
  add_json_flag(cmd, args->json, "Print the whole manifest as JSON (schema: docs/cli.md)");
  set_footer(cmd, "Examples:\n"
              "  modelsign digest models/bert\n"
              "  modelsign digest --ignore-paths models/bert/README.md models/bert\n"
              "  modelsign digest --json models/bert");
  cmd->callback([args, rc] { *rc = run(*args); });
}

}  // namespace modelsign::cli
