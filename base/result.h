// Result<T>: a value or an Errno, and TRY() to propagate the error in one line.
#pragma once

#include <expected>
#include <utility>

#include "base/errno.h"

namespace husk {

// std::expected<T, Errno> that an Errno converts to implicitly, so handlers can
// `return Errno(EINVAL);`.
template <class T>
class [[nodiscard]] Result : public std::expected<T, Errno> {
  using Base = std::expected<T, Errno>;

 public:
  using Base::Base;
  Result(Errno e) : Base(std::unexpect, e) {}  // NOLINT: implicit by design.
};

// Evaluates a Result expression; on error returns the Errno from the enclosing
// function, otherwise yields the value.
#define TRY(expr)                                             \
  ({                                                          \
    auto _husk_try_result = (expr);                           \
    if (!_husk_try_result.has_value()) [[unlikely]]           \
      return _husk_try_result.error();                        \
    std::move(_husk_try_result).value();                      \
  })

// Result<void> success value: `return Ok();`.
inline Result<void> Ok() { return Result<void>(); }

}  // namespace husk
