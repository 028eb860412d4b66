#!/usr/bin/env bash
# tests/e2e/verify.sh CERTMGR: `certmgr verify` compares what servers send with the installed files:
# nginx serving <data_dir>/<name>/rsa and /ecdsa matches; after `update --force` without a reload
# it serves the old certificates (one line per mismatch, exit 1); after a reload it matches again.
# Then the STARTTLS dialogs against tests/lab/starttls_peer.py for each protocol: the installed
# certificates match, other certificates do not, a server that does not offer STARTTLS is one
# line, a server that never answers fails within the timeout.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/e2e.sh
source "$HERE/../lab/e2e.sh" "$@"
PEER_PY="$HERE/../lab/starttls_peer.py"

"$CERTMGR" --help 2>&1 | grep -qE '^ +verify' || fail "$CERTMGR has no verify subcommand"

e2e_lab stable
export CHECK_RSA_BITS=2048 CHECK_EC_CURVE=prime256v1
# the certificate name must resolve to 127.0.0.1 for verify (/etc/hosts); Pebble's validation goes
# through challtestsrv, which answers 127.0.0.1 for every name
NAME=localhost
DIR=$D/$NAME

# config TARGETS_JSON: one certificate "localhost" whose "verify" is TARGETS_JSON
config() { write_config "$CFG" "[$(cert_json "$NAME" '' '' "\"verify\": $1")]"; }
# serial KT: serial of the installed leaf
serial() { openssl x509 -in "$DIR/$1/cert.pem" -noout -serial | cut -d= -f2; }
# err_lines_all TEXT: stderr of the last run has at least one line, and every line holds TEXT
err_lines_all() {
  [[ -s $ERR ]] || { show_run; return 1; }
  if grep -qvF -- "$1" "$ERR"; then show_run; return 1; fi
}
# line_count_is N: stderr of the last run has N lines
line_count_is() { [[ $(line_count "$ERR") == "$1" ]] || { show_run; return 1; }; }
# err_count TEXT N: N lines of stderr hold TEXT
err_count() {
  local n
  n=$(grep -cF -- "$1" "$ERR")
  [[ $n == "$2" ]] || { printf '  %s lines with "%s", expected %s\n' "$n" "$1" "$2" >&2; show_run; return 1; }
}

# ------------------------------------------------------------------ nginx on the installed files
mkdir -p "$LAB/vnginx/tmp"
NGINX_PID=""
VPORT=""
start_nginx() {
  local try i
  for try in 1 2 3; do
    VPORT=$(free_port) || return 1
    cat >"$LAB/vnginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
user root;
pid $LAB/vnginx/nginx.pid;
error_log $LAB/vnginx/error.log;
events {}
http {
  client_body_temp_path $LAB/vnginx/tmp;
  proxy_temp_path $LAB/vnginx/tmp;
  fastcgi_temp_path $LAB/vnginx/tmp;
  uwsgi_temp_path $LAB/vnginx/tmp;
  scgi_temp_path $LAB/vnginx/tmp;
  access_log off;
  server {
    listen 127.0.0.1:$VPORT ssl;
    server_name $NAME;
    ssl_certificate $DIR/rsa/${CERT_FILE:-cert.pem};
    ssl_certificate_key $DIR/rsa/keys/key.pem;
    ssl_certificate $DIR/ecdsa/${CERT_FILE:-cert.pem};
    ssl_certificate_key $DIR/ecdsa/keys/key.pem;
    ${NGINX_EXTRA:-}
    location / { return 200 "ok\n"; }
  }
}
EOF
    nginx -p "$LAB/vnginx" -e "$LAB/vnginx/error.log" -c "$LAB/vnginx/nginx.conf" \
      >"$LAB/vnginx/stdout.log" 2>&1 &
    NGINX_PID=$!
    lab_track_pid "$NGINX_PID"
    for ((i = 0; i < 100; i++)); do
      kill -0 "$NGINX_PID" 2>/dev/null || break
      curl -ksS -o /dev/null --max-time 2 "https://127.0.0.1:$VPORT/" 2>/dev/null && return 0
      sleep 0.1
    done
    tail -n 5 "$LAB/vnginx/error.log" >&2
    kill "$NGINX_PID" 2>/dev/null
    wait "$NGINX_PID" 2>/dev/null
    lab_untrack_pid "$NGINX_PID"
  done
  return 1
}
# served_serial KT: serial of the certificate nginx sends for key type KT
served_serial() {
  local sigalgs=rsa_pss_rsae_sha256:RSA+SHA256
  [[ $1 == ecdsa ]] && sigalgs=ECDSA+SHA256
  openssl s_client -connect "127.0.0.1:$VPORT" -servername "$NAME" -sigalgs "$sigalgs" </dev/null 2>/dev/null |
    openssl x509 -noout -serial 2>/dev/null | cut -d= -f2
}

config "[{\"port\": 1, \"hosts\": \"$NAME\"}]" # port replaced once nginx has one
run_certmgr issue -c "$CFG" update
check "update issues $NAME: exit 0" rc_is 0
check "rsa files consistent" check_cert "$D" "$NAME" rsa "$LAB/root.pem" "$NAME"
check "ecdsa files consistent" check_cert "$D" "$NAME" ecdsa "$LAB/root.pem" "$NAME"
start_nginx || fail "nginx did not start on the issued certificates"
config "[{\"port\": $VPORT, \"hosts\": \"$NAME\"}]"

run_certmgr v-match -c "$CFG" verify
check "verify against nginx serving the installed files: exit 0" rc_is 0
check "verify on a match: stdout silent" is_empty "$OUT"
check "verify on a match: stderr silent" is_empty "$ERR"
check "oracle: nginx sends the installed rsa leaf" test "$(served_serial rsa)" = "$(serial rsa)"
check "oracle: nginx sends the installed ecdsa leaf" test "$(served_serial ecdsa)" = "$(serial ecdsa)"

old_rsa=$(serial rsa) old_ec=$(serial ecdsa)
run_certmgr force -c "$CFG" update --force
check "update --force: exit 0" rc_is 0
check "update --force: rsa re-issued" test "$(serial rsa)" != "$old_rsa"
check "update --force: ecdsa re-issued" test "$(serial ecdsa)" != "$old_ec"
run_certmgr v-stale -c "$CFG" verify
check "verify while nginx serves the old certificates: exit 1" rc_is 1
check "verify: one line per stale key type" err_count "is not the installed" 2
check "verify: the rsa line names the served and installed serials" \
  grep -qF "served certificate $old_rsa is not the installed $(serial rsa)" "$ERR"
check "verify: the ecdsa line names the served and installed serials" \
  grep -qF "served certificate $old_ec is not the installed $(serial ecdsa)" "$ERR"
check "verify on a mismatch: stdout silent" is_empty "$OUT"

kill -HUP "$NGINX_PID"
for ((i = 0; i < 50; i++)); do
  [[ $(served_serial rsa) == "$(serial rsa)" && $(served_serial ecdsa) == "$(serial ecdsa)" ]] && break
  sleep 0.2
done
run_certmgr v-reloaded -c "$CFG" verify
check "verify after the nginx reload: exit 0" rc_is 0
check "verify after the reload: silent" is_empty "$ERR"

# wait_served: nginx (after a HUP) serves the installed leaf of both key types
wait_served() {
  for ((i = 0; i < 50; i++)); do
    [[ $(served_serial rsa) == "$(serial rsa)" && $(served_serial ecdsa) == "$(serial ecdsa)" ]] && return 0
    sleep 0.2
  done
  return 1
}
# with_rollback_hook: the config gets a rollback hook that creates $LAB/rolled-back-<name>
with_rollback_hook() {
  "$LAB_PYTHON" - "$CFG" "$LAB/rolled-back" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["hooks"] = {"rollback": {"args": ["touch", sys.argv[2] + "-{certificate_name}"]}}
json.dump(c, open(sys.argv[1], "w"))
EOF
}

echo "== update --verify and the rollback hook"
with_rollback_hook
old_rsa=$(serial rsa)
run_certmgr u-verify-stale -c "$CFG" update --force --verify
check "update --force --verify, server not reloaded: exit 1" rc_is 1
check "update --force --verify: the certificates were renewed" test "$(serial rsa)" != "$old_rsa"
check "update --force --verify: mismatch lines name the new serial" \
  grep -qF "is not the installed $(serial rsa)" "$ERR"
check "update --force --verify: the rollback hook ran" test -e "$LAB/rolled-back-$NAME"
rm -f "$LAB/rolled-back-$NAME"
kill -HUP "$NGINX_PID"
wait_served || t_fail "nginx did not pick up the renewed certificates"
run_certmgr u-verify-ok -c "$CFG" update --verify
check "update --verify with nothing due and a matching server: exit 0" rc_is 0
check "update --verify on a match: stderr silent" is_empty "$ERR"
check "update --verify on a match: no rollback" test ! -e "$LAB/rolled-back-$NAME"

echo "== an installed OCSP response must be stapled"
config "{\"targets\": [{\"port\": $VPORT, \"hosts\": \"$NAME\", \"key_types\": \"rsa\"}], \"ocsp_max_attempts\": 2, \"ocsp_retry_delay\": 0}"
printf 'not stapled by nginx' >"$DIR/rsa/ocsp.der"
run_certmgr v-nostaple -c "$CFG" verify
check "ocsp.der installed but no staple served: exit 1" rc_is 1
check "no staple: one line saying so" err_count "no OCSP response stapled" 1
rm -f "$DIR/rsa/ocsp.der"
run_certmgr v-nostaple-none -c "$CFG" verify
check "no ocsp.der installed: no staple expected, exit 0" rc_is 0

echo "== a valid stapled OCSP response"
# a real response for the rsa leaf, signed with Pebble's intermediate key by `openssl ocsp`
lab_intermediate_pem "$LAB/int.pem" || fail "cannot fetch /intermediates/0"
curl -fsS --cacert "$CA_BUNDLE" -o "$LAB/int.key" "$MGMT_URL/intermediate-keys/0" ||
  fail "cannot fetch /intermediate-keys/0"
openssl x509 -in "$DIR/rsa/cert.pem" -out "$LAB/leaf.pem"
lab_ocsp_index_line V "$(serial rsa)" >"$LAB/index.txt"
openssl ocsp -issuer "$LAB/int.pem" -cert "$LAB/leaf.pem" -no_nonce -reqout "$LAB/req.der" \
  >/dev/null 2>&1 || fail "cannot make an OCSP request"
openssl ocsp -index "$LAB/index.txt" -rsigner "$LAB/int.pem" -rkey "$LAB/int.key" \
  -CA "$LAB/int.pem" -reqin "$LAB/req.der" -respout "$LAB/resp.der" -nmin 60 >/dev/null 2>&1 ||
  fail "cannot sign an OCSP response"
cp "$LAB/resp.der" "$DIR/rsa/ocsp.der"
kill "$NGINX_PID"
wait "$NGINX_PID" 2>/dev/null
lab_untrack_pid "$NGINX_PID"
NGINX_EXTRA="ssl_stapling on; ssl_stapling_file $DIR/rsa/ocsp.der;" start_nginx ||
  fail "nginx with stapling did not start"
config "{\"targets\": [{\"port\": $VPORT, \"hosts\": \"$NAME\", \"key_types\": \"rsa\"}], \"ocsp_max_attempts\": 2, \"ocsp_retry_delay\": 0}"
run_certmgr v-staple -c "$CFG" verify
check "a valid staple for the installed certificate: exit 0" rc_is 0
check "a valid staple: silent" is_empty "$ERR"
# the staple of another certificate: the ecdsa leaf's key type served with the rsa response
lab_ocsp_index_line V "$(serial ecdsa)" >"$LAB/index.txt"
openssl x509 -in "$DIR/ecdsa/cert.pem" -out "$LAB/leaf-ec.pem"
cp "$LAB/resp.der" "$DIR/ecdsa/ocsp.der"
config "{\"targets\": [{\"port\": $VPORT, \"hosts\": \"$NAME\", \"key_types\": \"ecdsa\"}], \"ocsp_max_attempts\": 2, \"ocsp_retry_delay\": 0}"
run_certmgr v-staple-other -c "$CFG" verify
check "a staple for another certificate: exit 1" rc_is 1
check "a staple for another certificate: one line" line_count_is 1
rm -f "$DIR/rsa/ocsp.der" "$DIR/ecdsa/ocsp.der"
kill "$NGINX_PID"
wait "$NGINX_PID" 2>/dev/null
lab_untrack_pid "$NGINX_PID"
echo "== nginx serving cert+root.pem (the root after the chain)"
for kt in rsa ecdsa; do cp "$LAB/root.pem" "$(dirname "$CFG")/root_cert.$kt.pem"; done
run_certmgr with-root -c "$CFG" update
check "update with root_cert.<kt>.pem: exit 0" rc_is 0
check "update wrote cert+root.pem for both key types" test -s "$DIR/rsa/cert+root.pem" -a -s "$DIR/ecdsa/cert+root.pem"
CERT_FILE=cert+root.pem start_nginx || fail "nginx on cert+root.pem did not start"
config "[{\"port\": $VPORT, \"hosts\": \"$NAME\"}]"
served_count() {
  openssl s_client -connect "127.0.0.1:$VPORT" -servername "$NAME" -showcerts </dev/null 2>/dev/null |
    grep -c -- '-----BEGIN CERTIFICATE-----'
}
check "oracle: nginx sends leaf, intermediate and root ($(served_count) certificates)" \
  test "$(served_count)" = "$(($(grep -c -- '-----BEGIN CERTIFICATE-----' "$DIR/rsa/cert.pem") + 1))"
run_certmgr v-root -c "$CFG" verify
check "verify against a server sending the root too: exit 0" rc_is 0
check "verify against a server sending the root too: silent" is_empty "$ERR"
rm -f "$(dirname "$CFG")"/root_cert.*.pem
kill "$NGINX_PID"
wait "$NGINX_PID" 2>/dev/null
lab_untrack_pid "$NGINX_PID"
start_nginx || fail "nginx did not start again"
config "[{\"port\": $VPORT, \"hosts\": \"$NAME\"}]"

kill "$NGINX_PID"
wait "$NGINX_PID" 2>/dev/null
lab_untrack_pid "$NGINX_PID"
run_certmgr v-refused -c "$CFG" verify
check "verify with nothing listening: exit 1" rc_is 1
check "verify with nothing listening: 'cannot connect' lines only" err_lines_all "cannot connect"

# ------------------------------------------------------------------ STARTTLS peers
# other certificates (self-signed) for the mismatch case
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$NAME" -keyout "$LAB/other-rsa.key" \
  -out "$LAB/other-rsa.pem" >/dev/null 2>&1 || fail "cannot make the other RSA certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$NAME" \
  -keyout "$LAB/other-ec.key" -out "$LAB/other-ec.pem" >/dev/null 2>&1 || fail "cannot make the other EC certificate"
INSTALLED=("$DIR/rsa/cert.pem,$DIR/ecdsa/cert.pem" "$DIR/rsa/keys/key.pem,$DIR/ecdsa/keys/key.pem"
  "$DIR/rsa/chain.pem,$DIR/ecdsa/chain.pem")
OTHER=("$LAB/other-rsa.pem,$LAB/other-ec.pem" "$LAB/other-rsa.key,$LAB/other-ec.key" "-,-")

PEER_PID="" PEER_PORT="" npeer=0
# start_peer PROTOCOL CERTS KEYS CHAINS [FAULT]: sets PEER_PID and PEER_PORT
start_peer() {
  local out=$LAB/peer.$npeer.out i
  npeer=$((npeer + 1))
  "$LAB_PYTHON" "$PEER_PY" "$1" 0 "${@:2}" >"$out" 2>"$out.err" &
  PEER_PID=$!
  lab_track_pid "$PEER_PID"
  for ((i = 0; i < 100; i++)); do
    PEER_PORT=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$out")
    [[ -n $PEER_PORT ]] && return 0
    kill -0 "$PEER_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$out.err" >&2
  fail "starttls_peer $1 did not start"
}
stop_peer() {
  kill "$PEER_PID" 2>/dev/null
  wait "$PEER_PID" 2>/dev/null
  lab_untrack_pid "$PEER_PID"
}
target() { config "[{\"port\": $PEER_PORT, \"hosts\": \"$NAME\", \"starttls\": \"$1\"}]"; }

for proto in smtp imap pop3 ftp xmpp sieve; do
  start_peer "$proto" "${INSTALLED[@]}"
  target "$proto"
  run_certmgr "$proto-match" -c "$CFG" verify
  check "$proto: installed certificates served: exit 0" rc_is 0
  check "$proto: installed certificates served: silent" is_empty "$ERR"
  stop_peer

  start_peer "$proto" "${OTHER[@]}"
  target "$proto"
  run_certmgr "$proto-other" -c "$CFG" verify
  check "$proto: other certificates served: exit 1" rc_is 1
  check "$proto: other certificates: one line per key type" err_count "is not the installed" 2
  stop_peer

  start_peer "$proto" "${INSTALLED[@]}" no-starttls-offer
  target "$proto"
  run_certmgr "$proto-nooffer" -c "$CFG" verify
  check "$proto: STARTTLS not offered: exit 1" rc_is 1
  check "$proto: STARTTLS not offered: that line only" err_lines_all "did not offer STARTTLS"
  stop_peer

  start_peer "$proto" "${INSTALLED[@]}" bad-reply
  target "$proto"
  run_certmgr "$proto-refused" -c "$CFG" verify
  check "$proto: STARTTLS refused: exit 1" rc_is 1
  check "$proto: STARTTLS refused: one 'unexpected reply' line per key type" \
    err_count "STARTTLS: unexpected reply to" 2
  stop_peer
done

start_peer smtp "${INSTALLED[@]}" hang
target smtp
t0=$SECONDS
run_certmgr hang -c "$CFG" verify
elapsed=$((SECONDS - t0))
check "a server that never answers: exit 1" rc_is 1
check "a server that never answers: 'timed out' lines only" err_lines_all "timed out after"
check "a server that never answers: verify ends in bounded time (${elapsed}s for two key types)" \
  test "$elapsed" -le 30
stop_peer

((T_FAIL == 0)) || lab_dump_logs
t_summary
