#!/usr/bin/env bash
# polkit_rule: evaluates packaging/polkit/50-mtce.rules (JavaScript, as polkitd runs it) under node against
# the requests the daemon makes and some it must not: the user mtce may start, stop and kill its
# mtce-script-*.service units and start reboot.target; systemd 252's StartTransientUnit (no details) is
# allowed; other units, verbs, actions and users fall through (NOT_HANDLED). Skipped (77) without node.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname -- "$0")/common.sh"
require_env MTCE_SOURCE_DIR
node=$(command -v node || command -v nodejs) || skip "node is not installed (package nodejs)"

rules=$MTCE_SOURCE_DIR/packaging/polkit/50-mtce.rules
[[ -f $rules ]] || fail "$rules is missing"

"$node" - "$rules" <<'JS' || fail "the polkit rule decided a case wrongly (above)"
const fs = require("fs");
const rules = [];
const polkit = {
  Result: { YES: "yes", NO: "no", NOT_HANDLED: null },
  addRule: (f) => rules.push(f),
};
new Function("polkit", fs.readFileSync(process.argv[2], "utf8"))(polkit);
if (rules.length !== 1) { console.error(`expected one rule, got ${rules.length}`); process.exit(1); }
const decide = (id, user, details) =>
  rules[0]({ id, lookup: (k) => details[k] }, { user });
const manage = "org.freedesktop.systemd1.manage-units";
const cases = [
  [manage, "mtce", { unit: "mtce-script-60-disk-1234-7.service", verb: "start" }, "yes"],
  [manage, "mtce", { unit: "mtce-script-sh-1234-8.service", verb: "stop" }, "yes"],
  [manage, "mtce", { unit: "mtce-script-sh-1234-8.service", verb: "kill" }, "yes"],
  [manage, "mtce", { unit: "reboot.target", verb: "start" }, "yes"],
  [manage, "mtce", {}, "yes"],  // StartTransientUnit on systemd < 256: no details
  [manage, "mtce", { unit: "mtce-script-x.service", verb: "restart" }, null],
  [manage, "mtce", { unit: "mtce-script-x.socket", verb: "start" }, null],
  [manage, "mtce", { unit: "sshd.service", verb: "stop" }, null],
  [manage, "mtce", { unit: "reboot.target", verb: "stop" }, null],
  [manage, "mtce", { unit: "poweroff.target", verb: "start" }, null],
  [manage, "mtce", { unit: "mtce@worker.service", verb: "stop" }, null],
  [manage, "nobody", { unit: "mtce-script-x-1-1.service", verb: "start" }, null],
  [manage, "nobody", {}, null],
  ["org.freedesktop.systemd1.manage-unit-files", "mtce", {}, null],
  ["org.freedesktop.login1.reboot", "mtce", {}, null],
];
let failed = 0;
for (const [id, user, details, want] of cases) {
  const got = decide(id, user, details);
  if (got !== want) {
    failed++;
    console.error(`${id} by ${user} ${JSON.stringify(details)}: got ${got}, expected ${want}`);
  }
}
console.log(`${cases.length - failed}/${cases.length} cases decided as expected`);
process.exit(failed ? 1 : 0);
JS
echo "PASS: the polkit rule grants exactly the daemon's script units and reboot.target"
