# shellcheck shell=bash
# Sourced by package_deb.sh and package_rpm.sh: the files the package must contain, derived from the source
# tree independently of the install rules (so a script or page the rules forget is caught). Sets:
#   expected_files  absolute paths of every file that must be in the package
#   executables     those that must be executable
#   etc_files       those under /etc (conffiles / %config)
# Needs MTCE_SOURCE_DIR, MTCE_UNITDIR, MTCE_INSTALL_BINDIR.

expected_files=("$MTCE_INSTALL_BINDIR/mtce" "$MTCE_UNITDIR/mtce@.service" /usr/lib/tmpfiles.d/mtce.conf
  /usr/share/polkit-1/rules.d/50-mtce.rules)
executables=("$MTCE_INSTALL_BINDIR/mtce")
etc_files=(/etc/mtce/goenabled.conf)
if [[ -f $MTCE_SOURCE_DIR/etc/mtce/mtce.toml ]]; then
  etc_files+=(/etc/mtce/mtce.toml)
else
  fail "etc/mtce/mtce.toml is missing from the source tree"
fi
for script in "$MTCE_SOURCE_DIR"/roles/*/goenabled.d/*; do
  [[ -f $script ]] || continue
  etc_files+=("/etc/mtce/goenabled.d/${script##*/}")
  executables+=("/etc/mtce/goenabled.d/${script##*/}")
done
for function in controller worker storage; do
  etc_files+=("/etc/mtce/units.d/$function.list")
  for script in "$MTCE_SOURCE_DIR"/roles/common/services.d/* "$MTCE_SOURCE_DIR/roles/$function"/services.d/*; do
    [[ -f $script ]] || continue
    etc_files+=("/etc/mtce/services.d/$function/${script##*/}")
    executables+=("/etc/mtce/services.d/$function/${script##*/}")
  done
done
expected_files+=("${etc_files[@]}")
man_pages=()
for page in mtce.8 mtce.toml.5 mtce-protocol.7; do
  if [[ -f $MTCE_SOURCE_DIR/man/$page ]]; then
    man_pages+=("/usr/share/man/man${page##*.}/$page")
  else
    note "man/$page is not written yet: not expected in the package"
  fi
done
if [[ -f $MTCE_SOURCE_DIR/README.md ]]; then
  expected_files+=(/usr/share/doc/mtce/README.md)
fi

# has_man_page LISTING PAGE-PATH: the page is in the listing, gzipped or not.
has_man_page() {
  grep -q -x -E "${2//./[.]}([.]gz)?" <<<"$1"
}
