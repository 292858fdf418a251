#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace medrelay::metrics {

// A closed label set: an enum whose values each have a stable label string. The strings appear
// only when a family is registered; hot code indexes pre-resolved children by the enum.
// Every set ends with kOther ("other"): a value outside the set (a bad cast, a new enumerator
// mapped by someone else) is counted there instead of producing a new series.
template <typename E>
struct LabelTraits;  // specialised by MEDRELAY_METRICS_LABEL_SET

template <typename E>
constexpr size_t labelCount() {
  return std::size(LabelTraits<E>::kValues);
}

// Index of e in its set; anything out of range maps to the last entry, "other".
template <typename E>
constexpr size_t labelIndex(E e) {
  const auto i = static_cast<size_t>(e);
  return i < labelCount<E>() ? i : labelCount<E>() - 1;
}

template <typename E>
constexpr std::string_view labelValue(E e) {
  return LabelTraits<E>::kValues[labelIndex(e)];
}

template <typename E>
constexpr std::string_view labelName() {
  return LabelTraits<E>::kName;
}

// The value whose label string is `text`; kOther (the last) when none is.
template <typename E>
constexpr E labelFromString(std::string_view text) {
  for (size_t i = 0; i + 1 < labelCount<E>(); ++i) {
    if (LabelTraits<E>::kValues[i] == text) return static_cast<E>(i);
  }
  return static_cast<E>(labelCount<E>() - 1);
}

// Children indexed by a label enum: `dropped[DropReason::kMalformed].inc()`. operator[] clamps,
// so no input can index outside the array.
template <typename E, typename T>
class ByLabel {
 public:
  static constexpr size_t kSize = labelCount<E>();

  T& operator[](E e) { return items_[labelIndex(e)]; }
  const T& operator[](E e) const { return items_[labelIndex(e)]; }
  T& at(size_t i) { return items_[i < kSize ? i : kSize - 1]; }
  const T& at(size_t i) const { return items_[i < kSize ? i : kSize - 1]; }
  static constexpr size_t size() { return kSize; }

 private:
  std::array<T, kSize> items_{};
};

}  // namespace medrelay::metrics

// Declares `enum class Enum : uint8_t` and its LabelTraits from one list
// X(kEnumerator, "label value") ... that must end with X(kOther, "other").
#define MEDRELAY_METRICS_LABEL_ENUMERATOR(id, value) id,
#define MEDRELAY_METRICS_LABEL_STRING(id, value) value,
#define MEDRELAY_METRICS_LABEL_SET(Enum, label, LIST)                                    \
  enum class Enum : uint8_t { LIST(MEDRELAY_METRICS_LABEL_ENUMERATOR) };                 \
  template <>                                                                            \
  struct LabelTraits<Enum> {                                                             \
    static constexpr std::string_view kName = label;                                     \
    static constexpr std::string_view kValues[] = {LIST(MEDRELAY_METRICS_LABEL_STRING)}; \
  };                                                                                     \
  static_assert(LabelTraits<Enum>::kValues[labelCount<Enum>() - 1] == "other",           \
                #Enum " must end with kOther")
