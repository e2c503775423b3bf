#pragma once
namespace cexec {
inline constexpr const char* version_string = "0.1.0";
}
