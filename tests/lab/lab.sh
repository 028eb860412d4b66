# shellcheck shell=bash
# tests/lab/lab.sh: the local ACME lab of docs testing.md §2, as a bash library.
#
#   source tests/lab/lab.sh
#   lab_start [stable|chaos|edge]     # default: $LAB_SETUP, else stable
#   lab_start_second_ca               # optional: a second, independent Pebble ($ACME_URL2 ...)
#   ...                               # $LAB $ACME_URL $CA_BUNDLE $WWW ... are exported
#   (lab_stop runs from the EXIT/INT/TERM trap installed by lab_start)
#
# Processes: pebble-challtestsrv (DNS for Pebble's validator), pebble -strict (ACME + management
# API), nginx (webroot for http-01).  Every port is chosen free at run time on 127.0.0.1, every file
# lives under a fresh `mktemp -d` ($LAB), every process is a foreground child recorded by pid and
# stopped by pid.  Two copies of the suite can run at the same time.
#
# Call lab_start from the main shell of the test (not inside $(...) or a pipeline): the pids must be
# children of the shell that later runs lab_stop.
#
# Optional environment:
#   LAB_SETUP      default setup when lab_start gets no argument (stable)
#   LAB_CHAOS      1: chaos nonces and validation delays on top of any setup (testing.md §3)
#   LAB_VALIDITY   certificateValidityPeriod in seconds (default 157766400 = 5 years)
#   LAB_KEEP=1     keep $LAB after lab_stop (for debugging; its path is printed)
#   LAB_DEADLINE   readiness deadline in seconds (default 15)
#   LAB_OCSP_URL   when set, Pebble puts this OCSP URL into the AIA of every certificate
#                  (see lab_ocsp_start for a responder)

_LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/config.sh
source "$_LAB_LIB_DIR/config.sh"

_lab_pids=()       # lab servers of the current start attempt
_lab_extra_pids=() # pids registered by the test through lab_track_pid
_lab_stopped=0

# Python for the helpers: the distribution's interpreter when present (a pyenv shim costs 0.5 s
# per call), else whatever python3 is on PATH.
if [[ -x /usr/bin/python3 ]]; then LAB_PYTHON=${LAB_PYTHON:-/usr/bin/python3}; else LAB_PYTHON=${LAB_PYTHON:-python3}; fi

# free_port: a port free for TCP and UDP on 127.0.0.1 (the DNS port needs both); non-zero if the
# UDP side is taken.
free_port() {
  "$LAB_PYTHON" -c 'import socket
t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", p)); print(p)'
}

# free_ports N: N distinct ports, each free for TCP and UDP (all sockets held until all are found).
free_ports() {
  "$LAB_PYTHON" - "$1" <<'EOF'
import socket, sys
held, ports = [], []
for _ in range(200):
    if len(ports) == int(sys.argv[1]):
        break
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        t.close(); continue
    held += [t, u]; ports.append(p)
else:
    sys.exit(1)
print(" ".join(map(str, ports)))
EOF
}

_lab_log() { printf 'lab: %s\n' "$*" >&2; }

# lab_track_pid PID...: make lab_stop kill (and reap) these pids too.  Only for direct children of
# the calling shell.
lab_track_pid() { _lab_extra_pids+=("$@"); }

# lab_untrack_pid PID: forget PID again (call it once the test has reaped PID itself, so that
# lab_stop never signals a recycled pid).
lab_untrack_pid() {
  local p keep=()
  for p in "${_lab_extra_pids[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  _lab_extra_pids=("${keep[@]}")
}

# _lab_free_ports N: sets _lab_ports to N distinct free ports.
_lab_free_ports() {
  local line
  line=$(free_ports "$1") || { _lab_log "cannot find $1 free ports"; return 1; }
  read -r -a _lab_ports <<<"$line"
  ((${#_lab_ports[@]} == $1))
}

# _lab_kill PID...: TERM each pid, KILL what is still alive after 5 s, reap all.
_lab_kill() {
  local p i alive
  (($#)) || return 0
  for p in "$@"; do kill -TERM "$p" 2>/dev/null; done
  for ((i = 0; i < 50; i++)); do
    alive=0
    for p in "$@"; do
      # a zombie still answers kill -0; ps -o stat tells it apart
      if kill -0 "$p" 2>/dev/null && [[ $(ps -o stat= -p "$p" 2>/dev/null) != Z* ]]; then alive=1; fi
    done
    ((alive)) || break
    sleep 0.1
  done
  for p in "$@"; do kill -KILL "$p" 2>/dev/null; done
  for p in "$@"; do wait "$p" 2>/dev/null; done
  return 0
}

# _lab_kill_pids: stop the lab servers of the current attempt.
_lab_kill_pids() {
  _lab_kill "${_lab_pids[@]}"
  _lab_pids=()
}

# lab_stop: stop every process by pid, wait for it, remove $LAB.  Idempotent.
lab_stop() {
  ((_lab_stopped)) && return 0
  _lab_stopped=1
  _lab_kill "${_lab_extra_pids[@]}"
  _lab_extra_pids=()
  _lab_kill_pids
  if [[ -n ${LAB:-} && -d $LAB ]]; then
    if [[ ${LAB_KEEP:-0} == 1 ]]; then
      _lab_log "kept $LAB"
    else
      rm -rf -- "$LAB"
    fi
  fi
  return 0
}

_lab_on_exit() { local rc=$?; lab_stop; exit "$rc"; }

# lab_dump_logs: tail of every server log, for failure reports.
lab_dump_logs() {
  local f
  for f in "$LAB/cts.log" "$LAB/pebble.log" "$LAB/pebble2.log" "$LAB/nginx/error.log"; do
    [[ -s $f ]] || continue
    printf '%s\n' "----- $f (last 25 lines)" >&2
    tail -n 25 "$f" >&2
  done
}

# _lab_setup_env SETUP: fills _lab_env with the Pebble environment of testing.md §3. With
# LAB_CHAOS=1 every setup gets chaos's bad nonces (50 %) and validation delays (0-1 s), and
# stable also its authorization reuse (50 %); edge keeps its 100 % reuse: the whole e2e suite
# runs again that way (ctest label chaos).
_lab_setup_env() {
  local nosleep=1 nonce=0 reuse sleep="" roots=""
  case $1 in
    stable) reuse=0 ;;
    chaos) nosleep="" nonce=50 reuse=50 sleep=2 ;;
    edge) reuse=100 roots=1 ;;
    *) _lab_log "unknown setup '$1' (stable, chaos or edge)"; return 2 ;;
  esac
  if [[ ${LAB_CHAOS:-0} == 1 ]]; then
    nosleep="" nonce=50 sleep=2
    [[ $1 == edge ]] || reuse=50
  fi
  # clear every knob inherited from the caller, then set the setup's own
  _lab_env=(-u PEBBLE_VA_NOSLEEP -u PEBBLE_VA_SLEEPTIME -u PEBBLE_VA_ALWAYS_VALID
    -u PEBBLE_WFE_NONCEREJECT -u PEBBLE_AUTHZREUSE -u PEBBLE_WFE_ORDERS_PER_PAGE
    -u PEBBLE_ALTERNATE_ROOTS -u PEBBLE_CHAIN_LENGTH
    PEBBLE_WFE_NONCEREJECT=$nonce PEBBLE_AUTHZREUSE=$reuse)
  [[ -n $nosleep ]] && _lab_env+=(PEBBLE_VA_NOSLEEP=1)
  [[ -n $sleep ]] && _lab_env+=(PEBBLE_VA_SLEEPTIME=$sleep)
  [[ -n $roots ]] && _lab_env+=(PEBBLE_ALTERNATE_ROOTS=$roots)
  return 0
}

# _lab_dns_probe PORT: one DNS A query over UDP to challtestsrv; true when an answer arrives.
_lab_dns_probe() {
  "$LAB_PYTHON" - "$1" <<'EOF' 2>/dev/null
import socket, struct, sys
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(x)]) + x.encode() for x in "probe.test".split(".")) + b"\0"
q += struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.3)
s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
r = s.recv(512)
sys.exit(0 if r[:2] == b"\x12\x34" else 1)
EOF
}

# _lab_pebble_json FILE ACME_PORT MGMT_PORT HTTP_PORT TLS_PORT: a Pebble configuration.
_lab_pebble_json() {
  cat >"$1" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:$2", "managementListenAddress": "127.0.0.1:$3",
  "certificate": "$LAB/tls/cert.pem", "privateKey": "$LAB/tls/key.pem",
  "httpPort": $4, "tlsPort": $5, "ocspResponderURL": "${LAB_OCSP_URL:-}",
  "externalAccountBindingRequired": false, "certificateValidityPeriod": ${LAB_VALIDITY:-157766400}}}
EOF
}

# _lab_try_start: one attempt with fresh ports; 0 when every process is up and answering.
_lab_try_start() {
  local ACME MGMT DNS CTS HTTP TLS
  _lab_free_ports 6 || return 1
  ACME=${_lab_ports[0]} MGMT=${_lab_ports[1]} DNS=${_lab_ports[2]}
  CTS=${_lab_ports[3]} HTTP=${_lab_ports[4]} TLS=${_lab_ports[5]}

  _lab_pebble_json "$LAB/pebble.json" "$ACME" "$MGMT" "$HTTP" "$TLS"
  cat >"$LAB/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
user root;
pid $LAB/nginx/nginx.pid;
error_log $LAB/nginx/error.log;
events {}
http {
  client_body_temp_path $LAB/nginx/tmp;
  proxy_temp_path $LAB/nginx/tmp;
  fastcgi_temp_path $LAB/nginx/tmp;
  uwsgi_temp_path $LAB/nginx/tmp;
  scgi_temp_path $LAB/nginx/tmp;
  access_log $LAB/nginx/access.log;
  server {
    listen 127.0.0.1:$HTTP;
    root $LAB/www;
    location / { try_files \$uri =404; }
  }
}
EOF
  : >"$LAB/nginx/access.log"
  : >"$LAB/pebble.log"

  nginx -p "$LAB/nginx" -e "$LAB/nginx/error.log" -c "$LAB/nginx/nginx.conf" \
    >"$LAB/nginx/stdout.log" 2>&1 &
  _lab_pids+=($!)
  pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 "127.0.0.1:$DNS" \
    -management "127.0.0.1:$CTS" -http01 "" -https01 "" -tlsalpn01 "" >"$LAB/cts.log" 2>&1 &
  _lab_pids+=($!)
  env "${_lab_env[@]}" pebble -strict -config "$LAB/pebble.json" -dnsserver "127.0.0.1:$DNS" \
    >"$LAB/pebble.log" 2>&1 &
  _lab_pids+=($!)

  local probe="$WWW/.well-known/acme-challenge/probe" token
  token="probe-$$-$RANDOM$RANDOM"
  printf '%s' "$token" >"$probe"

  local deadline=$((SECONDS + ${LAB_DEADLINE:-15})) p ok_acme=0 ok_mgmt=0 ok_http=0 ok_cts=0 ok_dns=0
  while :; do
    for p in "${_lab_pids[@]}"; do
      if ! kill -0 "$p" 2>/dev/null || [[ $(ps -o stat= -p "$p" 2>/dev/null) == Z* ]]; then
        _lab_log "process $p exited during start (lost a port race?)"
        rm -f -- "$probe"
        return 1
      fi
    done
    ((ok_acme)) || { curl -fsS -o /dev/null --max-time 2 --cacert "$LAB/tls/cert.pem" \
      "https://127.0.0.1:$ACME/dir" 2>/dev/null && ok_acme=1; }
    ((ok_mgmt)) || { curl -fsS -o /dev/null --max-time 2 --cacert "$LAB/tls/cert.pem" \
      "https://127.0.0.1:$MGMT/roots/0" 2>/dev/null && ok_mgmt=1; }
    ((ok_http)) || { [[ $(curl -fsS --max-time 2 \
      "http://127.0.0.1:$HTTP/.well-known/acme-challenge/probe" 2>/dev/null) == "$token" ]] && ok_http=1; }
    ((ok_cts)) || { [[ $(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 \
      "http://127.0.0.1:$CTS/" 2>/dev/null) != 000 ]] && ok_cts=1; }
    ((ok_dns)) || { _lab_dns_probe "$DNS" && ok_dns=1; }
    if ((ok_acme && ok_mgmt && ok_http && ok_cts && ok_dns)); then break; fi
    if ((SECONDS >= deadline)); then
      _lab_log "not ready after ${LAB_DEADLINE:-15}s (acme=$ok_acme mgmt=$ok_mgmt http=$ok_http cts=$ok_cts dns=$ok_dns)"
      rm -f -- "$probe"
      return 1
    fi
    sleep 0.1
  done
  rm -f -- "$probe"
  # the challenge GETs of Pebble are counted from nginx's log: start it clean
  : >"$LAB/nginx/access.log"

  export LAB_ACME_PORT=$ACME LAB_MGMT_PORT=$MGMT LAB_DNS_PORT=$DNS LAB_CTS_PORT=$CTS LAB_TLS_PORT=$TLS
  export HTTP_PORT=$HTTP
  export ACME_URL="https://127.0.0.1:$ACME/dir"
  export MGMT_URL="https://127.0.0.1:$MGMT"
  export CTS_URL="http://127.0.0.1:$CTS"
  return 0
}

# lab_start [stable|chaos|edge]
lab_start() {
  local setup=${1:-${LAB_SETUP:-stable}} try
  _lab_setup_env "$setup" || return 2
  LAB=$(mktemp -d "${TMPDIR:-/tmp}/certmgr-lab.XXXXXXXX") || return 1
  _lab_stopped=0
  trap _lab_on_exit EXIT
  trap 'lab_stop; trap - INT; kill -INT $$' INT
  trap 'lab_stop; trap - TERM; kill -TERM $$' TERM
  export LAB LAB_SETUP=$setup
  export CA_BUNDLE="$LAB/tls/cert.pem"
  export WWW="$LAB/www"
  export CHALLENGE_DIR="$WWW/.well-known/acme-challenge"
  export PEBBLE_LOG="$LAB/pebble.log"
  export NGINX_ACCESS_LOG="$LAB/nginx/access.log"
  mkdir -p "$LAB/tls" "$LAB/nginx/tmp" "$CHALLENGE_DIR" || return 1

  if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=certmgr test pebble" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -addext "basicConstraints=critical,CA:TRUE" -keyout "$LAB/tls/key.pem" \
    -out "$LAB/tls/cert.pem" >"$LAB/tls/openssl.log" 2>&1; then
    _lab_log "cannot create the listener certificate"; cat "$LAB/tls/openssl.log" >&2
    return 1
  fi

  for try in 1 2 3; do
    if _lab_try_start; then
      return 0
    fi
    lab_dump_logs
    _lab_kill_pids
    _lab_log "start attempt $try of 3 failed"
  done
  _lab_log "giving up"
  return 1
}

# lab_root_pem FILE: Pebble's current root (/roots/0) as PEM.
lab_root_pem() { curl -fsS --cacert "$CA_BUNDLE" -o "$1" "$MGMT_URL/roots/0"; }

# lab_intermediate_pem FILE: Pebble's current intermediate (/intermediates/0) as PEM.
lab_intermediate_pem() { curl -fsS --cacert "$CA_BUNDLE" -o "$1" "$MGMT_URL/intermediates/0"; }

# lab_count FILE TEXT: number of lines of FILE holding TEXT (0 when FILE is missing).
lab_count() {
  local n
  n=$(grep -c -- "$2" "$1" 2>/dev/null) || true
  printf '%s\n' "${n:-0}"
}

# lab_requests: number of ACME requests Pebble has handled so far.
lab_requests() { lab_count "$PEBBLE_LOG" '-> calling handler'; }

# lab_challenge_gets: number of http-01 validation GETs nginx has answered so far.
lab_challenge_gets() { lab_count "$NGINX_ACCESS_LOG" '"GET /.well-known/acme-challenge/'; }

# lab_servfail HOST / lab_clear_servfail HOST: make the validator's DNS lookup of HOST fail (its
# authorization then goes invalid) or work again.
lab_servfail() {
  curl -fsS -o /dev/null -X POST -d "{\"host\":\"$1\"}" "$CTS_URL/set-servfail"
}
lab_clear_servfail() {
  curl -fsS -o /dev/null -X POST -d "{\"host\":\"$1\"}" "$CTS_URL/clear-servfail"
}

# _lab_try_start_second_ca: one attempt at the second Pebble with fresh ports; 0 when its /dir and
# management API answer.  Its pid joins _lab_pids (stopped by lab_stop) only on success.
_lab_try_start_second_ca() {
  local ACME MGMT pid
  _lab_free_ports 2 || return 1
  ACME=${_lab_ports[0]} MGMT=${_lab_ports[1]}
  _lab_pebble_json "$LAB/pebble2.json" "$ACME" "$MGMT" "$HTTP_PORT" "$LAB_TLS_PORT"
  : >"$LAB/pebble2.log"
  env "${_lab_env[@]}" pebble -strict -config "$LAB/pebble2.json" -dnsserver "127.0.0.1:$LAB_DNS_PORT" \
    >"$LAB/pebble2.log" 2>&1 &
  pid=$!
  local deadline=$((SECONDS + ${LAB_DEADLINE:-15})) ok_acme=0 ok_mgmt=0
  while :; do
    if ! kill -0 "$pid" 2>/dev/null || [[ $(ps -o stat= -p "$pid" 2>/dev/null) == Z* ]]; then
      _lab_log "second pebble ($pid) exited during start (lost a port race?)"
      _lab_kill "$pid"
      return 1
    fi
    ((ok_acme)) || { curl -fsS -o /dev/null --max-time 2 --cacert "$LAB/tls/cert.pem" \
      "https://127.0.0.1:$ACME/dir" 2>/dev/null && ok_acme=1; }
    ((ok_mgmt)) || { curl -fsS -o /dev/null --max-time 2 --cacert "$LAB/tls/cert.pem" \
      "https://127.0.0.1:$MGMT/roots/0" 2>/dev/null && ok_mgmt=1; }
    if ((ok_acme && ok_mgmt)); then break; fi
    if ((SECONDS >= deadline)); then
      _lab_log "second pebble not ready after ${LAB_DEADLINE:-15}s (acme=$ok_acme mgmt=$ok_mgmt)"
      _lab_kill "$pid"
      return 1
    fi
    sleep 0.1
  done
  _lab_pids+=("$pid")
  export LAB_ACME_PORT2=$ACME LAB_MGMT_PORT2=$MGMT
  export ACME_URL2="https://127.0.0.1:$ACME/dir"
  export MGMT_URL2="https://127.0.0.1:$MGMT"
  export PEBBLE_LOG2="$LAB/pebble2.log"
  return 0
}

# lab_start_second_ca: a second, independent `pebble -strict` (its own root, ACME and management
# ports, log $LAB/pebble2.log) with the setup of lab_start, validating through the same
# challtestsrv DNS and the same nginx ($HTTP_PORT); its listener uses the same TLS certificate, so
# $CA_BUNDLE works for both.  Exports ACME_URL2, MGMT_URL2, PEBBLE_LOG2.  Call it from the main
# shell after lab_start; lab_stop stops it.
lab_start_second_ca() {
  local try
  if [[ -z ${LAB:-} || -z ${HTTP_PORT:-} || -z ${LAB_DNS_PORT:-} || -z ${LAB_TLS_PORT:-} ]]; then
    _lab_log "lab_start_second_ca: call lab_start first"
    return 1
  fi
  for try in 1 2 3; do
    _lab_try_start_second_ca && return 0
    [[ -s $LAB/pebble2.log ]] && tail -n 25 "$LAB/pebble2.log" >&2
    _lab_log "second CA start attempt $try of 3 failed"
  done
  _lab_log "giving up on the second CA"
  return 1
}

# ---------------------------------------------------------------- OCSP responder (openssl ocsp)
# For certificates with an OCSP URL: export LAB_OCSP_URL=http://127.0.0.1:$(free_port)/ before
# lab_start, then run a responder on that port with lab_ocsp_start.

# lab_ocsp_index_line V|R SERIAL_HEX [REASON]: one line of an `openssl ca` index for SERIAL_HEX
# (as `openssl x509 -serial` prints it): V = valid, R = revoked an hour ago (with REASON, e.g.
# keyCompromise, when given).
lab_ocsp_index_line() {
  local revoked=""
  if [[ $1 == R ]]; then
    revoked=$(date -u -d '1 hour ago' '+%y%m%d%H%M%SZ')${3:+,$3}
  fi
  printf '%s\t%s\t%s\t%s\tunknown\t/CN=lab\n' "$1" 491231235959Z "$revoked" "$2"
}

# lab_ocsp_start PORT INDEX RSIGNER RKEY CA [ARGS...]: `openssl ocsp` answering on PORT from
# INDEX for certificates issued by CA, signing with RSIGNER/RKEY (PEM files); ARGS default to
# "-nmin 10" (nextUpdate 10 minutes after thisUpdate). Tracked (lab_stop ends it), pid in
# LAB_OCSP_PID, log $LAB/ocsp-PORT.log (one "Received request" line per request); returns non-zero
# when it does not answer within LAB_DEADLINE seconds. Call from the main shell; lab_ocsp_stop
# before starting another.
lab_ocsp_start() {
  local port=$1 index=$2 rsigner=$3 rkey=$4 ca=$5
  shift 5
  (($#)) || set -- -nmin 10
  local log="$LAB/ocsp-$port.log"
  [[ -e $index.attr ]] || printf 'unique_subject = no\n' >"$index.attr"
  # -port takes only a number: the responder listens on every address (the port is free on
  # 127.0.0.1, which is all the lab uses)
  openssl ocsp -index "$index" -port "$port" -rsigner "$rsigner" -rkey "$rkey" \
    -CA "$ca" "$@" >>"$log" 2>&1 &
  LAB_OCSP_PID=$!
  lab_track_pid "$LAB_OCSP_PID"
  local deadline=$((SECONDS + ${LAB_DEADLINE:-15}))
  # ready when it answers a request (any status) for serial 1 of CA
  while ! openssl ocsp -issuer "$ca" -serial 1 -url "http://127.0.0.1:$port/" -no_nonce \
    -timeout 2 -noverify >/dev/null 2>&1; do
    if ! kill -0 "$LAB_OCSP_PID" 2>/dev/null || ((SECONDS >= deadline)); then
      _lab_log "OCSP responder on port $port did not start"
      tail -n 10 "$log" >&2
      lab_ocsp_stop
      return 1
    fi
    sleep 0.1
  done
  return 0
}

# lab_ocsp_stop: stop the responder of lab_ocsp_start (and reap it).
lab_ocsp_stop() {
  [[ -n ${LAB_OCSP_PID:-} ]] || return 0
  _lab_kill "$LAB_OCSP_PID"
  lab_untrack_pid "$LAB_OCSP_PID"
  LAB_OCSP_PID=
}
