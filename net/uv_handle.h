#pragma once

#include <uv.h>

#include <utility>

namespace medrelay::net {

// Owns one libuv handle. The handle's memory is freed in its close callback, so the owner can be
// destroyed at any time (the loop finishes the close). The only place in the code base that uses
// new/delete: libuv needs the handle's memory until its close callback, after the owner is gone.
template <typename T>
class UvHandle {
 public:
  UvHandle() : h_(new T{}) {}
  ~UvHandle() { reset(); }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  UvHandle(UvHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  UvHandle& operator=(UvHandle&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }

  T* get() const { return h_; }
  uv_handle_t* handle() const { return reinterpret_cast<uv_handle_t*>(h_); }
  explicit operator bool() const { return h_ != nullptr; }

  // Closes the handle (if a uv_*_init ran on it) and releases it; its callbacks never run again
  // because handle->data is cleared first.
  void reset() {
    if (h_ == nullptr) return;
    auto* h = handle();
    h->data = nullptr;
    if (h->loop != nullptr) {
      if (!uv_is_closing(h)) uv_close(h, [](uv_handle_t* x) { delete reinterpret_cast<T*>(x); });
      // A handle already closing by someone else's uv_close: that callback frees it.
    } else {
      delete h_;
    }
    h_ = nullptr;
  }

 private:
  T* h_;
};

}  // namespace medrelay::net
