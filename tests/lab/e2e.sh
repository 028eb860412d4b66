# shellcheck shell=bash
# tests/lab/e2e.sh: the common beginning of every e2e script.
#
#   HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   # shellcheck source=tests/lab/e2e.sh
#   source "$HERE/../lab/e2e.sh" "$@"     # CERTMGR from $1; lab.sh and check.sh sourced
#   e2e_lab [stable|chaos|edge]            # lab started; D, CFG and $LAB/root.pem set up
#
# e2e_lab must run in the main shell of the test (lab_start's rule).

_E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/lab.sh
source "$_E2E_DIR/lab.sh"
# shellcheck source=tests/lab/check.sh
source "$_E2E_DIR/check.sh"

CERTMGR=$(realpath -e "${1:?usage: $(basename "$0") /path/to/certmgr}") || exit 1

# e2e_lab [SETUP]: lab_start SETUP (default $LAB_SETUP, else stable), then D=$LAB/data,
# CFG=$LAB/certmgr.json and Pebble's root in $LAB/root.pem; a failure ends the test.
e2e_lab() {
  lab_start "${1:-${LAB_SETUP:-stable}}" || fail "lab did not start"
  # shellcheck disable=SC2034 # D and CFG are for the sourcing script
  D=$LAB/data CFG=$LAB/certmgr.json
  lab_root_pem "$LAB/root.pem" || fail "cannot fetch /roots/0"
}
