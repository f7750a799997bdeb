#!/usr/bin/env bash
# package_deb_install: installs the DEB built by package_deb on this machine and checks the result, then
# purges it (also when a check fails). Runs only as root and only when asked to (CI set, or
# MTCE_PACKAGE_INSTALL=1), since it changes the machine; otherwise it is skipped (77). Refuses to run where
# mtce is already installed or /etc/mtce exists, rather than overwrite and purge someone's installation.
# Checks: `mtce version` prints the project version; `mtce config check` accepts the installed
# /etc/mtce/mtce.toml; the system user and group mtce exist (no login); a cluster key was created (64 hex
# digits, owned by mtce, 0600); /run/mtce 0755 and /var/lib/mtce 0700 exist, owned by mtce; the polkit rule
# is installed; the man pages render; `systemd-analyze verify` is clean for
# mtce@worker.service; a reinstall keeps the key; remove keeps key and state; purge removes everything but
# the user (Debian keeps system users).
set -euo pipefail
here=$(dirname -- "$0")
# shellcheck source=common.sh
source "$here/common.sh"
require_env MTCE_BUILD_DIR MTCE_SOURCE_DIR MTCE_VERSION MTCE_UNITDIR MTCE_INSTALL_BINDIR

[[ $(id -u) == 0 ]] || skip "installing the DEB needs root"
[[ -n ${CI:-} || ${MTCE_PACKAGE_INSTALL:-} == 1 ]] ||
  skip "installing the DEB changes this machine: set MTCE_PACKAGE_INSTALL=1 (CI does) to run it"
command -v dpkg >/dev/null || fail "dpkg is not installed"

mapfile -t debs < <(find "$MTCE_BUILD_DIR/package-test/deb" -maxdepth 1 -name '*.deb' 2>/dev/null)
((${#debs[@]} == 1)) || fail "expected the one .deb built by package_deb in $MTCE_BUILD_DIR/package-test/deb"
deb=${debs[0]}

if dpkg-query -W -f='${db:Status-Status}' mtce 2>/dev/null | grep -q -v '^not-installed$'; then
  fail "mtce is already installed here ($(dpkg-query -W -f='${Version} ${db:Status-Abbrev}' mtce)); purge it first (dpkg --purge mtce)"
fi
[[ ! -e /etc/mtce ]] || fail "/etc/mtce already exists on this machine; move it away first"

purge() {
  if dpkg-query -W mtce >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive dpkg --purge mtce >/dev/null 2>&1 || true
  fi
}
tmp=$(mktemp -d)
trap 'purge; rm -rf -- "$tmp"' EXIT

note "dpkg -i ${deb##*/}"
if ! DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$tmp/install.log" 2>&1; then
  if grep -q 'dependency problems' "$tmp/install.log"; then
    note "installing missing dependencies with apt-get install -f"
    DEBIAN_FRONTEND=noninteractive apt-get install -f -y -q >>"$tmp/install.log" 2>&1 ||
      { cat "$tmp/install.log" >&2; fail "apt-get install -f could not complete the installation"; }
  else
    cat "$tmp/install.log" >&2
    fail "dpkg -i failed"
  fi
fi
cat "$tmp/install.log"
[[ $(dpkg-query -W -f='${db:Status-Abbrev}' mtce) == "ii " ]] || fail "mtce is not fully installed after dpkg -i"
grep -q 'created a new cluster key' "$tmp/install.log" || fail "postinst did not tell the operator about the new key"

version=$("$MTCE_INSTALL_BINDIR/mtce" version) || fail "$MTCE_INSTALL_BINDIR/mtce version failed"
[[ $version == "mtce $MTCE_VERSION"* ]] || fail "mtce version printed '$version', expected 'mtce $MTCE_VERSION ...'"
note "mtce version: $version"

check=$("$MTCE_INSTALL_BINDIR/mtce" config check --config /etc/mtce/mtce.toml 2>&1) ||
  fail "the installed binary rejects the installed /etc/mtce/mtce.toml: $check"
note "mtce config check: $check"

passwd=$(getent passwd mtce) || fail "postinst did not create the user mtce"
getent group mtce >/dev/null || fail "postinst did not create the group mtce"
IFS=: read -r _ _ uid _ _ home shell <<<"$passwd"
((uid < 1000)) || fail "mtce is not a system user (uid $uid)"
[[ $home == /var/lib/mtce && $shell == */nologin ]] || fail "mtce has home '$home' and shell '$shell'"
note "user mtce: uid $uid, home $home, shell $shell"

key=/etc/mtce/cluster.key
[[ -f $key ]] || fail "postinst did not create $key"
[[ $(stat -c '%a %U %G %s' "$key") == "600 mtce mtce 65" ]] ||
  fail "$key is '$(stat -c '%a %U %G %s' "$key")', expected mode 600, mtce:mtce, 65 bytes"
grep -q -x -E '[0-9a-f]{64}' "$key" || fail "$key is not 64 hex digits"
[[ $(stat -c '%a %U' /var/lib/mtce) == "700 mtce" ]] ||
  fail "/var/lib/mtce is $(stat -c '%a %U' /var/lib/mtce 2>&1), expected 700 mtce"
[[ $(stat -c '%a %U' /run/mtce) == "755 mtce" ]] || fail "/run/mtce is $(stat -c '%a %U' /run/mtce 2>&1), expected 755 mtce"
[[ -f /usr/share/polkit-1/rules.d/50-mtce.rules ]] || fail "the polkit rule is not installed"
note "cluster key, /var/lib/mtce, /run/mtce and the polkit rule are in place"

all_pages=1
for page in mtce.8 mtce.toml.5 mtce-protocol.7; do
  mapfile -t installed < <(find "/usr/share/man/man${page##*.}" -name "$page" -o -name "$page.gz")
  if ((${#installed[@]} == 0)); then
    [[ ! -f $MTCE_SOURCE_DIR/man/$page ]] || fail "man/$page exists but was not installed"
    all_pages=0
    continue
  fi
  MANPAGER=cat MANWIDTH=80 man -l "${installed[0]}" >/dev/null 2>"$tmp/man.err" ||
    fail "man -l ${installed[0]} failed: $(cat "$tmp/man.err")"
  if [[ -s $tmp/man.err ]]; then
    note "warnings rendering ${installed[0]}: $(cat "$tmp/man.err")"
  fi
  note "${installed[0]} renders"
done

if command -v systemd-analyze >/dev/null; then
  # Documentation= names mtce(8) and mtce.toml(5): let verify look them up once both are installed.
  man_check=no
  [[ -f $MTCE_SOURCE_DIR/man/mtce.8 && -f $MTCE_SOURCE_DIR/man/mtce.toml.5 ]] && man_check=yes
  [[ -f $MTCE_UNITDIR/mtce@.service ]] || fail "$MTCE_UNITDIR/mtce@.service is not installed"
  output=$(systemd-analyze verify --man="$man_check" mtce@worker.service 2>&1) ||
    fail "systemd-analyze verify mtce@worker.service failed: $output"
  if grep -i -E 'mtce' <<<"$output"; then
    fail "systemd-analyze verify printed warnings about our unit (above)"
  fi
  note "systemd-analyze verify --man=$man_check mtce@worker.service: clean${output:+ (about other units: $output)}"
else
  note "systemd-analyze is not installed: unit verification skipped"
fi
((all_pages)) || note "some man pages are not written yet"

# Reinstall (dpkg runs postinst configure with the old version): the key must survive.
key_sum=$(sha256sum "$key")
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$tmp/reinstall.log" 2>&1 ||
  { cat "$tmp/reinstall.log" >&2; fail "reinstalling the DEB failed"; }
[[ $(sha256sum "$key") == "$key_sum" ]] || fail "reinstalling the DEB replaced $key"
! grep -q 'created a new cluster key' "$tmp/reinstall.log" || fail "the reinstall claims to have created a key"
note "reinstall kept the cluster key"

# Remove keeps configuration, key and state; purge removes them.
touch /var/lib/mtce/state-marker
DEBIAN_FRONTEND=noninteractive dpkg -r mtce >"$tmp/remove.log" 2>&1 ||
  { cat "$tmp/remove.log" >&2; fail "dpkg -r mtce failed"; }
[[ ! -e $MTCE_INSTALL_BINDIR/mtce ]] || fail "dpkg -r left $MTCE_INSTALL_BINDIR/mtce"
[[ -f $key && -f /var/lib/mtce/state-marker && -f /etc/mtce/mtce.toml ]] ||
  fail "dpkg -r removed the key, the state or the configuration (only purge may)"
note "remove kept configuration, key and state"
DEBIAN_FRONTEND=noninteractive dpkg --purge mtce >"$tmp/purge.log" 2>&1 ||
  { cat "$tmp/purge.log" >&2; fail "dpkg --purge mtce failed"; }
for gone in /etc/mtce /var/lib/mtce /run/mtce "$MTCE_UNITDIR/mtce@.service" /usr/lib/tmpfiles.d/mtce.conf; do
  [[ ! -e $gone ]] || fail "dpkg --purge left $gone behind"
done
note "purge removed /etc/mtce, /var/lib/mtce, /run/mtce and the package's files"

echo "PASS: the DEB installs, works, keeps its key across a reinstall, and purges cleanly"
