// certmgr/util/handle.hpp: unique_ptr deleters for C library handles, so every resource belongs
// to an object. Aliases for a library's types live in the module that owns that library.
#pragma once

#include <memory>

namespace certmgr::util {

template <auto Free> struct FreeWith {
  template <class T> void operator()(T* p) const noexcept { Free(p); }
};

} // namespace certmgr::util
