#!/usr/bin/env bash
# roles_shellcheck: shellcheck on every shipped script (role self-tests and host-services scripts, the
# maintainer scripts as POSIX sh) and on these tests. Skipped (77) when shellcheck is not installed.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname -- "$0")/common.sh"
require_env MTCE_SOURCE_DIR
command -v shellcheck >/dev/null || skip "shellcheck is not installed (apt-get install shellcheck)"

cd "$MTCE_SOURCE_DIR"
mapfile -t role_scripts < <(find roles/*/goenabled.d roles/*/services.d -type f 2>/dev/null | sort)
((${#role_scripts[@]} > 0)) || fail "no role scripts found under roles/*/goenabled.d, roles/*/services.d"
mapfile -t tests < <(find test/package -name '*.sh' -type f | sort)

shellcheck --severity=style "${role_scripts[@]}"
shellcheck --severity=style --shell=sh packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm
shellcheck --severity=style --external-sources --source-path=SCRIPTDIR "${tests[@]}"
echo "PASS: shellcheck is clean on ${#role_scripts[@]} role scripts, 3 maintainer scripts and ${#tests[@]} tests"
