// A secret (PIN, password, TPM authorisation) held in memory only as long as needed:
// move-only, wiped (OPENSSL_cleanse) when destroyed or moved from.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace modelsign {

// Overwrites n bytes at p with zeros in a way the compiler may not optimise away
// (OPENSSL_cleanse).
void secure_wipe(void* p, std::size_t n) noexcept;

class SecretString {
 public:
  SecretString() = default;
  // Takes the buffer of `v`; the caller wipes whatever copies it made before.
  explicit SecretString(std::string v) noexcept : value_(std::move(v)) {}
  explicit SecretString(std::string_view v) : value_(v) {}
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  SecretString(SecretString&& o) noexcept : value_(std::move(o.value_)) { o.wipe(); }
  SecretString& operator=(SecretString&& o) noexcept {
    if (this != &o) {
      wipe();
      value_ = std::move(o.value_);
      o.wipe();
    }
    return *this;
  }
  ~SecretString() { wipe(); }

  const std::string& value() const { return value_; }
  std::string_view view() const { return value_; }
  const char* data() const { return value_.data(); }
  std::size_t size() const { return value_.size(); }
  bool empty() const { return value_.empty(); }

  // Appends without leaving a copy behind when the buffer grows.
  void append(std::string_view more) {
    if (value_.size() + more.size() > value_.capacity()) {
      std::string bigger;
      bigger.reserve(2 * (value_.size() + more.size()) + 32);
      bigger.append(value_);
      wipe();
      value_ = std::move(bigger);
    }
    value_.append(more);
  }
  // Removes the last character (wiping it).
  void pop_back() {
    if (value_.empty()) return;
    value_.back() = '\0';
    value_.pop_back();
  }

  void wipe() noexcept {
    // The whole capacity: characters erased earlier may still sit beyond size().
    if (value_.capacity() != 0) secure_wipe(value_.data(), value_.capacity());
    value_.clear();
  }

 private:
  std::string value_;
};

}  // namespace modelsign
