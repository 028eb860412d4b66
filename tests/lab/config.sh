# shellcheck shell=bash
# tests/lab/config.sh: certmgr.json writers for the lab (sourced by lab.sh).
#
#   write_config FILE CERTS_JSON [SETTINGS_EXTRA_JSON]
#     CERTS_JSON: the JSON array of certificates, e.g. '[{"name": "a.test"}]'
#     SETTINGS_EXTRA_JSON: extra members appended to "settings", e.g. '"renewal_days": 10'
#
# Values default to the running lab and can be overridden per call through the environment:
#   CFG_DATA_DIR (default $LAB/data)      CFG_LOG_FILE  (default $LAB/certmgr.log)
#   CFG_LOCK_FILE (default $LAB/certmgr.lock)
#   CFG_ACME_URL (default $ACME_URL)      CFG_CA_BUNDLE (default $CA_BUNDLE)
#   CFG_CHALLENGE_DIR (default $WWW/.well-known/acme-challenge)
#   CFG_KEY_SIZE (default 2048)           CFG_KEY_CURVE (default secp256r1)
#   CFG_AUTH_DELAY (default 1: authorization polls at most 1 s apart instead of 10 s; empty = omit)
#
#   cert_json NAME [KEY_TYPES_JSON [ALT_NAMES_JSON [EXTRA_MEMBERS]]] prints one certificate object:
#     cert_json a.test '["rsa"]' '["a.test","www.a.test"]'

# json_str STRING: STRING as a JSON string literal (quotes and backslashes escaped).
json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

write_config() {
  local file=$1 certs=$2 extra=${3:-} delay=""
  [[ -n ${CFG_AUTH_DELAY-1} ]] && delay=", \"delay\": ${CFG_AUTH_DELAY-1}"
  [[ -n $extra ]] && extra=",
    $extra"
  cat >"$file" <<EOF
{
  "account": {"email": null},
  "settings": {
    "data_dir": $(json_str "${CFG_DATA_DIR:-$LAB/data}"),
    "log_file": $(json_str "${CFG_LOG_FILE:-$LAB/certmgr.log}"),
    "lock_file": $(json_str "${CFG_LOCK_FILE:-$LAB/certmgr.lock}"),
    "acme_directory_url": $(json_str "${CFG_ACME_URL:-$ACME_URL}"),
    "ca_bundle": $(json_str "${CFG_CA_BUNDLE:-$CA_BUNDLE}"),
    "key_size": ${CFG_KEY_SIZE:-2048},
    "key_curve": $(json_str "${CFG_KEY_CURVE:-secp256r1}"),
    "auth": {"type": "http", "challenge_dir": $(json_str "${CFG_CHALLENGE_DIR:-$WWW/.well-known/acme-challenge}")$delay}$extra
  },
  "certificates": $certs
}
EOF
}

cert_json() {
  local name=$1 kts=${2:-} alts=${3:-} extra=${4:-}
  local out
  out="{\"name\": $(json_str "$name")"
  [[ -n $alts ]] && out+=", \"alt_names\": $alts"
  [[ -n $kts ]] && out+=", \"key_types\": $kts"
  [[ -n $extra ]] && out+=", $extra"
  printf '%s}' "$out"
}
