# Writes one man page from cexec's own --help with help2man (cmake -P, at build time).
# Inputs: HELP2MAN, CEXEC (the binary), VERB ("" for cexec itself, "exec", "mpi check"...), PAGE
# (cexec, cexec-exec, cexec-mpi-check...), NAME (the one-line description), SEE_ALSO (the other
# pages, comma-separated), VERSION, OUT. The version is given rather than read from
# `cexec --version`, whose commit and feature lines help2man would print as prose.
if(VERB STREQUAL "")
  set(help_option "--help")
else()
  set(help_option "${VERB} --help")
endif()
string(TOUPPER "${PAGE}" title)
string(REPLACE "," ";" see_also_pages "${SEE_ALSO}")
list(TRANSFORM see_also_pages APPEND " (1)")
list(TRANSFORM see_also_pages PREPEND ".BR ")
list(JOIN see_also_pages ",\n" see_also)
set(include_file "${OUT}.include")
file(WRITE "${include_file}" "[ENVIRONMENT]\nCEXEC_CONFIG, CEXEC_BIND, CEXEC_ENV_\\fINAME\\fR, CEXEC_LINGER, CEXEC_TOPOLOGY, CEXEC_MPI_CONF: see\n.BR cexec (1)\nand the README in share/doc/cexec/ under the install prefix.\n[FILES]\n/etc/cexec/cexec.conf, /etc/cexec/mpi.conf, /etc/cexec/gpu-nvidia.conf, /etc/cexec/gpu-rocm.conf:\nthe site's configuration; commented samples in share/doc/cexec/examples/config/.\n[SEE ALSO]\n${see_also}\n")
execute_process(
  COMMAND "${HELP2MAN}" --no-info --no-discard-stderr --section=1 --source=cexec "--manual=User Commands"
          "--name=${NAME}" "--help-option=${help_option}" "--version-string=${VERSION}"
          "--include=${include_file}" "${CEXEC}"
  OUTPUT_VARIABLE page RESULT_VARIABLE status ERROR_VARIABLE errors)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "help2man for `cexec ${VERB}` failed: ${errors}")
endif()
# help2man names the page after the program; a verb's page is cexec-VERB(1), like git's.
string(REPLACE ".TH CEXEC \"1\"" ".TH ${title} \"1\"" page "${page}")
string(REPLACE ".SH NAME\ncexec \\-" ".SH NAME\n${PAGE} \\-" page "${page}")
# The examples are one command per line: keep their line breaks (no filling).
string(FIND "${page}" ".SH EXAMPLES\n.IP\n" examples_at)
if(examples_at GREATER -1)
  string(SUBSTRING "${page}" 0 ${examples_at} head)
  string(SUBSTRING "${page}" ${examples_at} -1 tail)
  string(REPLACE ".SH EXAMPLES\n.IP\n" ".SH EXAMPLES\n.IP\n.nf\n" tail "${tail}")
  string(REGEX REPLACE "\n(\\.PP|\\.SH )" "\n.fi\n\\1" tail "${tail}")
  set(page "${head}${tail}")
endif()
file(WRITE "${OUT}" "${page}")
file(REMOVE "${include_file}")
