#include "elf_file.hpp"

#include "base/environment.hpp"

#include <gelf.h>
#include <libelf.h>

namespace cexec::mpi_bridge {

namespace {

struct ElfHandle {
  Elf* elf = nullptr;
  ~ElfHandle() {
    if (elf) {
      elf_end(elf);
    }
  }
};

}  // namespace

Result<ElfFacts> read_elf(int fd, const std::string& origin) {
  auto bad = [&](const std::string& why) { return Failure{ErrorKind::image_invalid, "`" + origin + "`: " + why}; };
  if (elf_version(EV_CURRENT) == EV_NONE) {
    return Failure{ErrorKind::internal, "libelf: " + std::string(elf_errmsg(-1))};
  }
  ElfHandle h;
  h.elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (h.elf == nullptr || elf_kind(h.elf) != ELF_K_ELF) {
    return bad("not an ELF file");
  }
  GElf_Ehdr ehdr;
  if (gelf_getehdr(h.elf, &ehdr) == nullptr) {
    return bad(std::string("ELF header: ") + elf_errmsg(-1));
  }
  ElfFacts f;
  f.is_64 = gelf_getclass(h.elf) == ELFCLASS64;
  f.machine = ehdr.e_machine;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(h.elf, scn)) != nullptr) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) {
      return bad(std::string("section header: ") + elf_errmsg(-1));
    }
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (data == nullptr) {
      continue;
    }
    auto str = [&](size_t offset) -> std::string {
      const char* s = elf_strptr(h.elf, shdr.sh_link, offset);
      return s ? s : "";
    };
    if (shdr.sh_type == SHT_DYNAMIC) {
      size_t n = shdr.sh_entsize ? shdr.sh_size / shdr.sh_entsize : 0;
      for (size_t i = 0; i < n; ++i) {
        GElf_Dyn dyn;
        if (gelf_getdyn(data, static_cast<int>(i), &dyn) == nullptr) {
          break;
        }
        switch (dyn.d_tag) {
          case DT_NEEDED:
            f.needed.push_back(str(dyn.d_un.d_val));
            break;
          case DT_SONAME:
            f.soname = str(dyn.d_un.d_val);
            break;
          case DT_RPATH:
            f.rpath = split_nonempty(str(dyn.d_un.d_val), ':');
            break;
          case DT_RUNPATH:
            f.runpath = split_nonempty(str(dyn.d_un.d_val), ':');
            break;
          default:
            break;
        }
      }
    } else if (shdr.sh_type == SHT_GNU_verneed) {
      size_t offset = 0;
      for (size_t i = 0; i < shdr.sh_info; ++i) {
        GElf_Verneed vn;
        if (gelf_getverneed(data, static_cast<int>(offset), &vn) == nullptr) {
          return bad("malformed .gnu.version_r");
        }
        std::string file = str(vn.vn_file);
        size_t aux_offset = offset + vn.vn_aux;
        for (size_t k = 0; k < vn.vn_cnt; ++k) {
          GElf_Vernaux aux;
          if (gelf_getvernaux(data, static_cast<int>(aux_offset), &aux) == nullptr) {
            return bad("malformed .gnu.version_r");
          }
          f.needs.push_back(VersionNeed{file, str(aux.vna_name)});
          if (aux.vna_next == 0) {
            break;
          }
          aux_offset += aux.vna_next;
        }
        if (vn.vn_next == 0) {
          break;
        }
        offset += vn.vn_next;
      }
    } else if (shdr.sh_type == SHT_GNU_verdef) {
      size_t offset = 0;
      for (size_t i = 0; i < shdr.sh_info; ++i) {
        GElf_Verdef vd;
        if (gelf_getverdef(data, static_cast<int>(offset), &vd) == nullptr) {
          return bad("malformed .gnu.version_d");
        }
        GElf_Verdaux aux;
        if (gelf_getverdaux(data, static_cast<int>(offset + vd.vd_aux), &aux) == nullptr) {
          return bad("malformed .gnu.version_d");
        }
        if ((vd.vd_flags & VER_FLG_BASE) == 0) {
          f.defs.insert(str(aux.vda_name));
        }
        if (vd.vd_next == 0) {
          break;
        }
        offset += vd.vd_next;
      }
    }
  }
  return f;
}

}  // namespace cexec::mpi_bridge
