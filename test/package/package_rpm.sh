#!/usr/bin/env bash
# package_rpm: builds the RPM with CPack (into build/package-test/rpm) and checks it without installing:
# name and version, the files it holds with their modes, every file under /etc marked %config, no system
# directory claimed, and its scriptlets (the Debian maintainer scripts behind an argument prelude).
# Needs rpmbuild (Debian package rpm); skipped (77) without it.
set -euo pipefail
here=$(dirname -- "$0")
# shellcheck source=common.sh
source "$here/common.sh"
require_env MTCE_BUILD_DIR MTCE_SOURCE_DIR MTCE_VERSION MTCE_CPACK MTCE_UNITDIR MTCE_INSTALL_BINDIR MTCE_BINARY
command -v rpmbuild >/dev/null || skip "rpmbuild is not installed (apt-get install rpm)"
# shellcheck source=expected_files.sh
source "$here/expected_files.sh"

# CPack with Ninja packages what is built and builds nothing itself: build first (cmake --build --preset ...).
[[ -x $MTCE_BINARY ]] || fail "$MTCE_BINARY is not built; build the project before packaging"
out_dir=$MTCE_BUILD_DIR/package-test/rpm
rm -rf -- "$out_dir"
mkdir -p -- "$out_dir"
note "cpack -G RPM (log: $out_dir/cpack.log)"
if ! "$MTCE_CPACK" -G RPM --config "$MTCE_BUILD_DIR/CPackConfig.cmake" -B "$out_dir" >"$out_dir/cpack.log" 2>&1; then
  cat "$out_dir/cpack.log" >&2
  fail "cpack -G RPM failed"
fi
mapfile -t rpms < <(find "$out_dir" -maxdepth 1 -name '*.rpm')
((${#rpms[@]} == 1)) || fail "expected one .rpm in $out_dir, found ${#rpms[@]}: ${rpms[*]}"
rpm=${rpms[0]}
note "built ${rpm##*/}"

nv=$(rpm -qp --qf '%{NAME} %{VERSION}' "$rpm" 2>/dev/null)
[[ $nv == "mtce $MTCE_VERSION" ]] || fail "the RPM is '$nv', expected 'mtce $MTCE_VERSION'"

listing=$(rpm -qlp "$rpm" 2>/dev/null)
declare -A mode=()
while read -r perms _ _ _ _ _ _ _ path _; do
  mode[$path]=$perms
done < <(rpm -qlvp "$rpm" 2>/dev/null)
for file in "${expected_files[@]}"; do
  grep -q -x -F -e "$file" <<<"$listing" || fail "the RPM lacks $file"
done
for file in "${executables[@]}"; do
  [[ ${mode[$file]} == -rwxr-xr-x ]] || fail "$file is ${mode[$file]} in the RPM, expected -rwxr-xr-x"
done
for page in "${man_pages[@]}"; do
  has_man_page "$listing" "$page" || fail "the RPM lacks the man page $page(.gz)"
done
for dir in /etc /usr /usr/bin /usr/lib /usr/lib/systemd /usr/lib/tmpfiles.d "$MTCE_UNITDIR" /usr/share/man \
  /usr/share/man/man8 /usr/share/doc /usr/share/polkit-1 /usr/share/polkit-1/rules.d; do
  ! grep -q -x -F -e "$dir" <<<"$listing" || fail "the RPM claims the system directory $dir"
done
note "contents: $(wc -l <<<"$listing") entries, all expected files present with the right modes"

config=$(rpm -qcp "$rpm" 2>/dev/null)
grep -q -x /etc/mtce/mtce.toml <<<"$config" || fail "rpm -qcp does not list /etc/mtce/mtce.toml as config"
diff <(sort <<<"$config") <(printf '%s\n' "${etc_files[@]}" | sort) >&2 ||
  fail "the RPM's %config files differ from the files under /etc (diff above: < %config, > expected)"
note "config: $(wc -l <<<"$config") files marked %config"

scripts=$(rpm -qp --scripts "$rpm" 2>/dev/null)
for scriptlet in 'postinstall scriptlet' 'preuninstall scriptlet' 'postuninstall scriptlet'; do
  grep -q "^$scriptlet" <<<"$scripts" || fail "the RPM has no $scriptlet"
done
grep -q 'cluster.key' <<<"$scripts" || fail "the RPM's %post does not create the cluster key"
note "scriptlets: %post, %preun, %postun present"

requires=$(rpm -qp --requires "$rpm" 2>/dev/null)
grep -q '^libcurl\.so\.4' <<<"$requires" || fail "the RPM does not require libcurl.so.4 (loaded at run time for Redfish)"
grep -q '^libsqlite3\.so\.0' <<<"$requires" || fail "the RPM does not require libsqlite3.so.0 (loaded at run time for the inventory)"
grep -q '^polkit$' <<<"$requires" || fail "the RPM does not require polkit (authorizes the daemon's script units)"
grep -q '^/usr/sbin/useradd$' <<<"$requires" || fail "the RPM does not require useradd (%post creates the user mtce)"
note "requires: libcurl.so.4, libsqlite3.so.0, polkit, useradd"

echo "PASS: ${rpm##*/} holds the expected files, %config entries and scriptlets"
