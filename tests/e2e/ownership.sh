#!/usr/bin/env bash
# tests/e2e/ownership.sh CERTMGR: file_user / file_group (behaviour §3.3, [B25]) apply to every
# file and directory of a certificate's generation; keys are never readable by others; a
# certificate without them keeps the process's ids. Needs root (it is run as root in CI).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"

[[ $(id -u) == 0 ]] || fail "ownership.sh needs root (chown)"
getent passwd nobody >/dev/null && getent group nogroup >/dev/null || fail "no nobody/nogroup"
lab_start stable || fail "lab did not start"
D=$LAB/data
CFG=$LAB/certmgr.json
write_config "$CFG" '[
    {"name": "owned.test", "file_user": "nobody", "file_group": "nogroup"},
    {"name": "grouponly.test", "key_types": "ecdsa", "file_group": "nogroup"},
    {"name": "plain.test", "key_types": ["rsa"]}
  ]'
run_certmgr first -c "$CFG" update
check "update with file_user/file_group: exit 0" rc_is 0
check "update with file_user/file_group: stderr empty" is_empty "$ERR"

# owners_are NAME USER:GROUP: every entry below the live generation belongs to USER:GROUP
owners_are() {
  local bad
  bad=$(find -L "$D/$1/" -mindepth 0 ! -user "${2%%:*}" -printf '%p %u:%g\n' -o ! -group "${2##*:}" -printf '%p %u:%g\n' | head -5)
  [[ -z $bad ]] || { printf '  not %s: %s\n' "$2" "$(oneline "$bad")" >&2; return 1; }
}
# no_other_access NAME: no key file or keys/ directory grants anything to others
no_other_access() {
  local bad
  bad=$(find -L "$D/$1/" \( -path '*/keys' -o -path '*/keys/*' -o -name params.pem \) -perm /o=rwx -printf '%p %m\n' | head -5)
  [[ -z $bad ]] || { printf '  readable by others: %s\n' "$(oneline "$bad")" >&2; return 1; }
}
check "owned.test: every file and directory nobody:nogroup" owners_are owned.test nobody:nogroup
check "owned.test: keys not accessible to others" no_other_access owned.test
check "owned.test: rsa key 0640" mode_is 640 "$D/owned.test/rsa/keys/key.pem"
check "owned.test: keys/ 0750" mode_is 750 "$D/owned.test/rsa/keys"
check "grouponly.test: owner root, group nogroup" owners_are grouponly.test root:nogroup
check "grouponly.test: keys not accessible to others" no_other_access grouponly.test
check "plain.test: owner root:root" owners_are plain.test root:root
check "data_dir itself stays root's" test "$(stat -c %U "$D")" = root
chmod 711 "$LAB" # mktemp -d made it 0700: let nobody traverse to data_dir as a server would
check "nobody can read its key (group/owner access works through the tree)" \
  runuser -u nobody -- cat "$D/owned.test/ecdsa/keys/key.pem" >/dev/null
check "nobody cannot read plain.test's key" bash -c "! runuser -u nobody -- cat '$D/plain.test/rsa/keys/key.pem' 2>/dev/null"

run_certmgr force -c "$CFG" update --force owned.test
check "update --force keeps the owners" owners_are owned.test nobody:nogroup

echo "== a changed file_group is applied by the next update, without re-issuing"
serial0=$(openssl x509 -in "$D/plain.test/rsa/cert.pem" -noout -serial)
write_config "$CFG" '[
    {"name": "owned.test", "file_user": "nobody", "file_group": "nogroup"},
    {"name": "grouponly.test", "key_types": "ecdsa", "file_group": "nogroup"},
    {"name": "plain.test", "key_types": ["rsa"], "file_group": "nogroup"}
  ]'
run_certmgr regroup -c "$CFG" update
check "group change: exit 0" rc_is 0
check "group change: one summary line for plain.test" grep -q 'plain\.test' "$OUT"
check "group change: every file of plain.test now root:nogroup" owners_are plain.test root:nogroup
check "group change: no re-issue" test "$(openssl x509 -in "$D/plain.test/rsa/cert.pem" -noout -serial)" = "$serial0"
run_certmgr regroup2 -c "$CFG" update
check "group change: next run silent" is_empty "$OUT"

((T_FAIL == 0)) || lab_dump_logs
t_summary
