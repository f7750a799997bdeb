# Install rules and packaging (one package, `mtce`, holding every role; the role is the unit's instance).
#
# Layout on a host (prefix /usr, sysconfdir /etc from the presets):
#   /usr/bin/mtce                                  the daemon and CLI
#   ${MTCE_SYSTEMD_UNITDIR}/mtce@.service          template unit, instance = role
#   /usr/lib/tmpfiles.d/mtce.conf                  /run/mtce (0755), /var/lib/mtce (0700), owned by mtce
#   /usr/share/polkit-1/rules.d/50-mtce.rules      what the daemon's user may ask systemd to do
#   /etc/mtce/mtce.toml, goenabled.conf            configuration (conffiles)
#   /etc/mtce/goenabled.d/*                        self-tests of every role; each gates itself on MTCE_FUNCTION
#   /etc/mtce/services.d/<function>/*              host-services scripts per function
#   /etc/mtce/units.d/<function>.list              units that services.d/<function>/50-units starts and stops
#   /usr/share/man/man{5,7,8}/*, /usr/share/doc/mtce/README.md
# Everything under /etc is a conffile (DEB) or %config(noreplace) (RPM): operators edit and add scripts there.

include(GNUInstallDirs)

set(_mtce_component mtce_Runtime)
# Configuration lives in /etc even though the prefix is /usr (GNUInstallDirs maps prefix /usr to /etc).
set(_mtce_etc "${CMAKE_INSTALL_FULL_SYSCONFDIR}/mtce")
set(_mtce_conffiles "")   # absolute paths of every file installed under ${_mtce_etc}

# _mtce_install_etc(PROGRAMS|FILES <dir-below-etc/mtce> <files...>): installs and records them as conffiles.
function(_mtce_install_etc kind subdir)
  set(dest "${_mtce_etc}")
  if(NOT subdir STREQUAL ".")
    string(APPEND dest "/${subdir}")
  endif()
  install(${kind} ${ARGN} DESTINATION "${dest}" COMPONENT ${_mtce_component})
  set(list "${_mtce_conffiles}")
  foreach(file IN LISTS ARGN)
    get_filename_component(base "${file}" NAME)
    list(APPEND list "${dest}/${base}")
  endforeach()
  set(_mtce_conffiles "${list}" PARENT_SCOPE)
endfunction()

# _mtce_write_if_changed(<file> <content>): writes content verbatim (no @VAR@ substitution), touching the file
# only when the content changed.
function(_mtce_write_if_changed file content)
  file(WRITE "${file}.tmp" "${content}")
  configure_file("${file}.tmp" "${file}" COPYONLY)
  file(REMOVE "${file}.tmp")
endfunction()

# --- the binary -------------------------------------------------------------------------------------------
install(TARGETS mtce_exe RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT ${_mtce_component})

# --- systemd: unit and tmpfiles -----------------------------------------------------------------------------
# A unit dir under the prefix is installed relative to it, so that CPack stages it like every other file.
set(_mtce_unitdir "${MTCE_SYSTEMD_UNITDIR}")
cmake_path(IS_PREFIX CMAKE_INSTALL_PREFIX "${MTCE_SYSTEMD_UNITDIR}" NORMALIZE _mtce_unitdir_in_prefix)
if(_mtce_unitdir_in_prefix)
  file(RELATIVE_PATH _mtce_unitdir "${CMAKE_INSTALL_PREFIX}" "${MTCE_SYSTEMD_UNITDIR}")
endif()
# The unit names /usr/bin/mtce; another bindir (e.g. prefix /usr/local) gets its own path written in.
file(READ "${PROJECT_SOURCE_DIR}/packaging/mtce@.service" _unit)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/packaging/mtce@.service")
string(REPLACE "=/usr/bin/mtce " "=${CMAKE_INSTALL_FULL_BINDIR}/mtce " _unit "${_unit}")
_mtce_write_if_changed("${PROJECT_BINARY_DIR}/packaging/mtce@.service" "${_unit}")
install(FILES "${PROJECT_BINARY_DIR}/packaging/mtce@.service"
        DESTINATION "${_mtce_unitdir}" COMPONENT ${_mtce_component})
install(FILES "${PROJECT_SOURCE_DIR}/packaging/mtce.tmpfiles"
        DESTINATION lib/tmpfiles.d RENAME mtce.conf COMPONENT ${_mtce_component})
# The daemon runs as the user mtce; polkit lets it start its script units and reboot.target (mtce(8)).
install(FILES "${PROJECT_SOURCE_DIR}/packaging/polkit/50-mtce.rules"
        DESTINATION "${CMAKE_INSTALL_DATAROOTDIR}/polkit-1/rules.d" COMPONENT ${_mtce_component})

# --- configuration ------------------------------------------------------------------------------------------
if(EXISTS "${PROJECT_SOURCE_DIR}/etc/mtce/mtce.toml")
  _mtce_install_etc(FILES . "${PROJECT_SOURCE_DIR}/etc/mtce/mtce.toml")
else()
  message(WARNING "etc/mtce/mtce.toml is missing: the package will have no configuration file")
endif()
_mtce_install_etc(FILES . "${PROJECT_SOURCE_DIR}/roles/common/goenabled.conf")

# --- role scripts -------------------------------------------------------------------------------------------
# Every role's self-tests go into the one goenabled.d (one package serves every role), so their names must
# not collide; roles/common/ holds what all roles share.
set(_mtce_functions controller worker storage)
file(GLOB _mtce_goenabled LIST_DIRECTORIES false CONFIGURE_DEPENDS
     "${PROJECT_SOURCE_DIR}/roles/common/goenabled.d/*"
     "${PROJECT_SOURCE_DIR}/roles/controller/goenabled.d/*"
     "${PROJECT_SOURCE_DIR}/roles/worker/goenabled.d/*"
     "${PROJECT_SOURCE_DIR}/roles/storage/goenabled.d/*")
set(_mtce_names "")
foreach(script IN LISTS _mtce_goenabled)
  get_filename_component(base "${script}" NAME)
  if(base IN_LIST _mtce_names)
    message(FATAL_ERROR "two goenabled tests are named '${base}'; they would overwrite each other in "
                        "${_mtce_etc}/goenabled.d (found again as ${script})")
  endif()
  list(APPEND _mtce_names "${base}")
endforeach()
_mtce_install_etc(PROGRAMS goenabled.d ${_mtce_goenabled})

foreach(function IN LISTS _mtce_functions)
  file(GLOB _mtce_services LIST_DIRECTORIES false CONFIGURE_DEPENDS
       "${PROJECT_SOURCE_DIR}/roles/common/services.d/*"
       "${PROJECT_SOURCE_DIR}/roles/${function}/services.d/*")
  _mtce_install_etc(PROGRAMS "services.d/${function}" ${_mtce_services})

  set(MTCE_FUNCTION "${function}")
  configure_file("${PROJECT_SOURCE_DIR}/roles/common/units.list.in"
                 "${PROJECT_BINARY_DIR}/packaging/units.d/${function}.list" @ONLY)
  _mtce_install_etc(FILES units.d "${PROJECT_BINARY_DIR}/packaging/units.d/${function}.list")
endforeach()

# --- documentation ------------------------------------------------------------------------------------------
# Man pages are installed gzipped (Debian policy) when gzip exists, and only those already written.
find_program(MTCE_GZIP gzip)
set(_mtce_man_outputs "")
foreach(page mtce.8 mtce.toml.5 mtce-protocol.7)
  set(source "${PROJECT_SOURCE_DIR}/man/${page}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/man")
  if(NOT EXISTS "${source}")
    continue()
  endif()
  string(REGEX MATCH "[0-9]$" section "${page}")
  set(dest "${CMAKE_INSTALL_MANDIR}/man${section}")
  if(MTCE_GZIP)
    set(gz "${PROJECT_BINARY_DIR}/man/${page}.gz")
    add_custom_command(OUTPUT "${gz}"
      COMMAND "${CMAKE_COMMAND}" -E make_directory "${PROJECT_BINARY_DIR}/man"
      COMMAND "${MTCE_GZIP}" -9 -n -c "${source}" > "${gz}"
      DEPENDS "${source}"
      COMMENT "Compressing man page ${page}"
      VERBATIM)
    list(APPEND _mtce_man_outputs "${gz}")
    install(FILES "${gz}" DESTINATION "${dest}" COMPONENT ${_mtce_component})
  else()
    install(FILES "${source}" DESTINATION "${dest}" COMPONENT ${_mtce_component})
  endif()
endforeach()
if(_mtce_man_outputs)
  add_custom_target(mtce_man ALL DEPENDS ${_mtce_man_outputs})
endif()
foreach(doc README.md LICENSE)
  if(EXISTS "${PROJECT_SOURCE_DIR}/${doc}")
    install(FILES "${PROJECT_SOURCE_DIR}/${doc}" DESTINATION "${CMAKE_INSTALL_DOCDIR}"
            COMPONENT ${_mtce_component})
  endif()
endforeach()

# --- packaging ----------------------------------------------------------------------------------------------
if(NOT PROJECT_IS_TOP_LEVEL)
  return()
endif()

set(_mtce_pkg "${PROJECT_BINARY_DIR}/packaging")
list(JOIN _mtce_conffiles "\n" _conffiles_text)
_mtce_write_if_changed("${_mtce_pkg}/deb/conffiles" "${_conffiles_text}\n")

# RPM runs the Debian maintainer scripts too, with its numeric $1 turned into Debian's arguments. RPM has no
# purge: erasing the package acts as a Debian "remove" and keeps the generated key and /var/lib/mtce.
set(_rpm_post   [=[# RPM %post: $1 is 1 on a first install, 2 or more on an upgrade.
if [ "${1:-1}" -ge 2 ]; then set -- configure upgrade; else set -- configure ""; fi]=])
set(_rpm_preun  [=[# RPM %preun: $1 is 0 when the package is erased, 1 or more on an upgrade.
if [ "${1:-0}" -eq 0 ]; then set -- remove; else set -- upgrade; fi]=])
set(_rpm_postun [=[# RPM %postun: $1 is 0 when the package is erased, 1 or more on an upgrade.
if [ "${1:-0}" -eq 0 ]; then set -- remove; else set -- upgrade; fi]=])
foreach(pair post:postinst preun:prerm postun:postrm)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 rpm_name)
  list(GET pair 1 deb_name)
  set(deb_script "${PROJECT_SOURCE_DIR}/packaging/deb/${deb_name}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${deb_script}")
  file(READ "${deb_script}" body)
  string(REGEX REPLACE "^#![^\n]*\n" "" body "${body}")
  _mtce_write_if_changed("${_mtce_pkg}/rpm/${rpm_name}" "${_rpm_${rpm_name}}\n${body}")
endforeach()

set(CPACK_PACKAGE_NAME mtce)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "mtce")
set(CPACK_PACKAGE_CONTACT "mtce maintainers <mtce@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
  "mtce keeps a cluster of bare-metal hosts in service. One executable runs on every host as controller,\n"
  "worker or storage (the instance of the mtce@ systemd unit): it answers heartbeats on every network, runs\n"
  "the host's self-tests after boot and its host services, and carries out lock, unlock, reboot and reset.\n"
  "On controllers it also manages the fleet: inventory, per-host lifecycle, failure detection and recovery,\n"
  "BMC power control over Redfish and IPMI, alarms, events and a REST API.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_PACKAGE_HOMEPAGE_URL "${PROJECT_HOMEPAGE_URL}")
set(CPACK_PACKAGE_FILE_NAME "mtce-${PROJECT_VERSION}-${MTCE_GIT_REVISION}-${CMAKE_SYSTEM_PROCESSOR}")
set(CPACK_GENERATOR DEB RPM)
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build/" "/\\\\.cache/")

# DEB
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Shared libraries (libssl3, libsystemd0, ...) come from dpkg-shlibdeps here and from RPM's automatic
# requirements below, computed from what the binary links; the lists name only the programs it runs.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# systemctl and systemd-tmpfiles in the maintainer scripts; libcurl4 for Redfish, which loads libcurl.so.4 with
# dlopen() (src/bmc/curl.cpp), and libsqlite3-0 for the controller's inventory, which loads libsqlite3.so.0
# the same way (src/fleet/sqlite_loader.cpp), both out of dpkg-shlibdeps' sight; adduser creates the daemon's
# user in postinst; polkitd authorizes that user's requests to systemd (scripts, reboot): without it no script
# can run.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd, libcurl4, libsqlite3-0, adduser, polkitd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ipmitool")    # BMC control of IPMI hosts
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "smartmontools") # SMART health in the storage-disks self-test
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${_mtce_pkg}/deb/conffiles"
  "${PROJECT_SOURCE_DIR}/packaging/deb/postinst"
  "${PROJECT_SOURCE_DIR}/packaging/deb/prerm"
  "${PROJECT_SOURCE_DIR}/packaging/deb/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# RPM
set(CPACK_RPM_PACKAGE_GROUP "Applications/System")
set(CPACK_RPM_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_PACKAGE_RELOCATABLE OFF)   # /etc/mtce and the unit path are fixed (RPM "Prefix:")
set(CPACK_RPM_PACKAGE_URL "${PROJECT_HOMEPAGE_URL}")
# libcurl and SQLite by their sonames, which every RPM distribution's packages provide (libcurl and sqlite-libs
# on Fedora and RHEL, libcurl4 and libsqlite3-0 on openSUSE); RPM's automatic requirements cannot see a
# dlopen()ed library.
# useradd/groupadd create the daemon's user in %post; polkit authorizes its requests to systemd.
if(CMAKE_SIZEOF_VOID_P EQUAL 8)
  set(CPACK_RPM_PACKAGE_REQUIRES
      "systemd, libcurl.so.4()(64bit), libsqlite3.so.0()(64bit), polkit, /usr/sbin/useradd, /usr/sbin/groupadd")
else()
  set(CPACK_RPM_PACKAGE_REQUIRES
      "systemd, libcurl.so.4, libsqlite3.so.0, polkit, /usr/sbin/useradd, /usr/sbin/groupadd")
endif()
set(CPACK_RPM_PACKAGE_SUGGESTS "ipmitool, smartmontools")
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE "${_mtce_pkg}/rpm/post")
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE "${_mtce_pkg}/rpm/preun")
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE "${_mtce_pkg}/rpm/postun")
list(TRANSFORM _mtce_conffiles PREPEND "%config(noreplace) " OUTPUT_VARIABLE CPACK_RPM_USER_FILELIST)
# Directories owned by the system (filesystem, systemd, man-db packages) must not be claimed by mtce.
set(_mtce_system_dirs
  "${CMAKE_INSTALL_FULL_SYSCONFDIR}"
  "${CMAKE_INSTALL_PREFIX}/lib/systemd"
  "${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d"
  "${CMAKE_INSTALL_FULL_MANDIR}"
  "${CMAKE_INSTALL_FULL_DATAROOTDIR}/polkit-1"
  "${CMAKE_INSTALL_FULL_DATAROOTDIR}/polkit-1/rules.d")
foreach(section 5 7 8)
  list(APPEND _mtce_system_dirs "${CMAKE_INSTALL_FULL_MANDIR}/man${section}")
endforeach()
set(_dir "${MTCE_SYSTEMD_UNITDIR}")
while(NOT _dir STREQUAL "/" AND NOT _dir STREQUAL "")
  list(APPEND _mtce_system_dirs "${_dir}")
  get_filename_component(_dir "${_dir}" DIRECTORY)
endwhile()
list(REMOVE_DUPLICATES _mtce_system_dirs)
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION ${_mtce_system_dirs})

include(CPack)
