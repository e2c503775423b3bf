# Runs at install time (install(CODE) in dist/CMakeLists.txt): writes the modulefiles for the
# prefix being installed to, which is `cmake --install --prefix` when given, not the configure-time
# one; file(INSTALL) adds DESTDIR. Inputs: CEXEC_VERSION, CEXEC_BINDIR, CEXEC_MANDIR, CEXEC_MODULEDIR,
# CEXEC_TEMPLATES, CEXEC_WORK.
set(CEXEC_PREFIX "${CMAKE_INSTALL_PREFIX}")
foreach(kind BIN MAN)
  if(IS_ABSOLUTE "${CEXEC_${kind}DIR}")
    set(CEXEC_${kind}_PATH "${CEXEC_${kind}DIR}")
  else()
    set(CEXEC_${kind}_PATH "${CMAKE_INSTALL_PREFIX}/${CEXEC_${kind}DIR}")
  endif()
endforeach()
if(IS_ABSOLUTE "${CEXEC_MODULEDIR}")
  set(moduledir "${CEXEC_MODULEDIR}")
else()
  set(moduledir "${CMAKE_INSTALL_PREFIX}/${CEXEC_MODULEDIR}")
endif()
configure_file("${CEXEC_TEMPLATES}/cexec.lua.in" "${CEXEC_WORK}/lmod/${CEXEC_VERSION}.lua" @ONLY)
configure_file("${CEXEC_TEMPLATES}/cexec.tcl.in" "${CEXEC_WORK}/tcl/${CEXEC_VERSION}" @ONLY)
file(INSTALL DESTINATION "${moduledir}/lmod/cexec" TYPE FILE FILES "${CEXEC_WORK}/lmod/${CEXEC_VERSION}.lua")
file(INSTALL DESTINATION "${moduledir}/tcl/cexec" TYPE FILE FILES "${CEXEC_WORK}/tcl/${CEXEC_VERSION}")
