#pragma once

#include <memory>

namespace medrelay {

// RAII for C library objects: CPtr<SSL, SSL_free> owns an SSL* and frees it with SSL_free.
template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    if (p != nullptr) Fn(p);
  }
};

template <typename T, auto Fn>
using CPtr = std::unique_ptr<T, Deleter<Fn>>;

}  // namespace medrelay
