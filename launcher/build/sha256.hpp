// The builder's SHA-256 is the launcher's (../sha256.hpp, through nettle).
#pragma once

#include "../sha256.hpp"

namespace cexec::build {

using cexec::Sha256;

}  // namespace cexec::build
