#!/usr/bin/env bash
# package_deb: builds the DEB with CPack (into build/package-test/deb) and checks it without installing:
# the files it holds (binary, unit, tmpfiles, configuration, every role script with its execute bits, the
# man pages that exist in the tree), its control fields (name, version, section, shlibs-computed and extra
# dependencies), that every file under /etc is a conffile, and its maintainer scripts.
set -euo pipefail
here=$(dirname -- "$0")
# shellcheck source=common.sh
source "$here/common.sh"
require_env MTCE_BUILD_DIR MTCE_SOURCE_DIR MTCE_VERSION MTCE_CPACK MTCE_UNITDIR MTCE_INSTALL_BINDIR MTCE_BINARY
# shellcheck source=expected_files.sh
source "$here/expected_files.sh"
command -v dpkg-deb >/dev/null || fail "dpkg-deb is not installed (package dpkg)"

# CPack with Ninja packages what is built and builds nothing itself: build first (cmake --build --preset ...).
[[ -x $MTCE_BINARY ]] || fail "$MTCE_BINARY is not built; build the project before packaging"
out_dir=$MTCE_BUILD_DIR/package-test/deb
rm -rf -- "$out_dir"
mkdir -p -- "$out_dir"
note "cpack -G DEB (log: $out_dir/cpack.log)"
if ! "$MTCE_CPACK" -G DEB --config "$MTCE_BUILD_DIR/CPackConfig.cmake" -B "$out_dir" >"$out_dir/cpack.log" 2>&1; then
  cat "$out_dir/cpack.log" >&2
  fail "cpack -G DEB failed"
fi
mapfile -t debs < <(find "$out_dir" -maxdepth 1 -name '*.deb')
((${#debs[@]} == 1)) || fail "expected one .deb in $out_dir, found ${#debs[@]}: ${debs[*]}"
deb=${debs[0]}
note "built ${deb##*/}"
[[ ${deb##*/} == mtce-"$MTCE_VERSION"-* ]] || fail "package file name ${deb##*/} lacks the version $MTCE_VERSION"

# Contents: "perms owner/group size date time ./path[ -> target]".
declare -A mode=()
while read -r perms _ _ _ _ path _; do
  path=${path#.}
  [[ $path == */ ]] && continue
  mode[$path]=$perms
done < <(dpkg-deb -c "$deb")
listing=$(printf '%s\n' "${!mode[@]}" | sort)

for file in "${expected_files[@]}"; do
  [[ -n ${mode[$file]:-} ]] || fail "the DEB lacks $file"
done
for file in "${executables[@]}"; do
  [[ ${mode[$file]} == -rwxr-xr-x ]] || fail "$file is ${mode[$file]} in the DEB, expected -rwxr-xr-x"
done
for page in "${man_pages[@]}"; do
  has_man_page "$listing" "$page" || fail "the DEB lacks the man page $page(.gz)"
done
while read -r path; do
  [[ $path == /usr/* || $path == /etc/* ]] || fail "the DEB installs $path outside /usr and /etc"
  [[ $path != /usr/local/* ]] || fail "the DEB installs $path under /usr/local"
  [[ ${mode[$path]} != *w ]] || fail "$path is writable by others in the DEB (${mode[$path]})"
done <<<"$listing"
note "contents: ${#mode[@]} files, all expected ones present with the right modes"

# Control fields.
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == mtce ]] || fail "Package is '$(field Package)', expected mtce"
[[ $(field Version) == "$MTCE_VERSION"* ]] || fail "Version is '$(field Version)', expected $MTCE_VERSION"
[[ $(field Section) == admin ]] || fail "Section is '$(field Section)', expected admin"
depends=$(field Depends)
[[ $depends == *libc6* ]] || fail "Depends has no libc6 (dpkg-shlibdeps did not run?): $depends"
[[ $depends == *systemd* ]] || fail "Depends lacks systemd: $depends"
[[ $depends == *libcurl4* ]] || fail "Depends lacks libcurl4 (loaded at run time for Redfish): $depends"
[[ $depends == *libsqlite3-0* ]] || fail "Depends lacks libsqlite3-0 (loaded at run time for the inventory): $depends"
[[ $depends == *adduser* ]] || fail "Depends lacks adduser (postinst creates the user mtce): $depends"
[[ $depends == *polkitd* ]] || fail "Depends lacks polkitd (authorizes the daemon's script units): $depends"
[[ $(field Recommends) == *ipmitool* ]] || fail "Recommends lacks ipmitool: $(field Recommends)"
[[ -n $(field Maintainer) && -n $(field Description) ]] || fail "Maintainer or Description is empty"
note "control: Depends: $depends; Recommends: $(field Recommends)"

# Control archive: conffiles and maintainer scripts.
control=$out_dir/control
dpkg-deb -e "$deb" "$control"
[[ -f $control/conffiles ]] || fail "the DEB has no conffiles"
grep -q -x /etc/mtce/mtce.toml "$control/conffiles" || fail "conffiles does not list /etc/mtce/mtce.toml"
etc_in_deb=$(grep '^/etc/' <<<"$listing" || true)
diff <(sort "$control/conffiles") <(sort <<<"$etc_in_deb") >&2 ||
  fail "conffiles differs from the files under /etc in the DEB (diff above: < conffiles, > files)"
for script in postinst prerm postrm; do
  [[ -x $control/$script ]] || fail "the DEB has no executable $script"
  cmp -s "$control/$script" "$MTCE_SOURCE_DIR/packaging/deb/$script" ||
    fail "$script in the DEB differs from packaging/deb/$script"
done
note "conffiles: $(wc -l <"$control/conffiles") files, the same as the files under /etc"

echo "PASS: ${deb##*/} holds the expected files, fields, conffiles and maintainer scripts"
