# shellcheck shell=bash
# tests/lab/check.sh: assertion helpers for the e2e judge of testing.md §5.
#
# Every check is an independent oracle (openssl, stat, cmp), never certmgr's own output.
#
#   check_cert D NAME KT ROOT [NAMES...]   §5 items 1-5 for <D>/<NAME>/<KT>; with NAMES, the SAN set
#                                          must equal NAMES lower-cased (order-insensitive)
#   check_link D ALT NAME                  §5 item 6
#   fail MSG                               print to stderr, exit 1
#   run_certmgr TAG ARGS...                run $CERTMGR, sets RC OUT ERR (files under $RUN_DIR)
#   check WHAT CMD...  / t_pass / t_fail / t_summary   PASS:/FAIL: lines and the final count
#
# Knobs for check_cert: CHECK_RSA_BITS (2048), CHECK_EC_CURVE (prime256v1), CHECK_EC_BITS (256),
# CHECK_INTERMEDIATE (a PEM file; when set, the first certificate of chain.pem must equal it).
# check_cert and check_link print what is wrong on stderr and return 1; they never exit.

fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------- PASS/FAIL bookkeeping
T_PASS=0
T_FAIL=0
t_pass() { T_PASS=$((T_PASS + 1)); printf 'PASS: %s\n' "$*"; }
t_fail() { T_FAIL=$((T_FAIL + 1)); printf 'FAIL: %s\n' "$*"; }
# check WHAT CMD...: PASS or FAIL line depending on CMD's status
check() {
  local what=$1
  shift
  if "$@"; then t_pass "$what"; else t_fail "$what"; fi
}
# t_summary: "N passed, M failed"; status 0 only without failures (and with at least one pass)
t_summary() {
  printf '%d passed, %d failed\n' "$T_PASS" "$T_FAIL"
  ((T_FAIL == 0 && T_PASS > 0))
}

# ---------------------------------------------------------------- small predicates
# oneline TEXT: TEXT with every run of white space (newlines included) turned into one space
oneline() { printf '%s' "$*" | tr -s '[:space:]' ' ' | sed 's/^ //; s/ $//'; }
# is_empty FILE: FILE exists and has 0 bytes (prints its head otherwise)
is_empty() {
  [[ -e $1 ]] || { printf '  %s: missing\n' "$1" >&2; return 1; }
  [[ -s $1 ]] || return 0
  printf '  %s is not empty:\n' "$1" >&2
  head -c 2000 "$1" | sed 's/^/    | /' >&2
  return 1
}
# line_count FILE: number of lines (a last line without newline counts)
line_count() { awk 'END { print NR }' "$1"; }
# stdout_lines N: stdout of the last run_certmgr has N lines (shows the run otherwise)
stdout_lines() { [[ $(line_count "$OUT") == "$1" ]] || { show_run; return 1; }; }
# requests_delta_is BEFORE N: the CA (lab_requests of lab.sh) got N requests since BEFORE
requests_delta_is() {
  local now
  now=$(lab_requests)
  [[ $((now - $1)) == "$2" ]] || { printf '  %s CA requests, expected %s\n' "$((now - $1))" "$2" >&2; return 1; }
}
# dir_empty DIR: DIR exists and holds no entry
dir_empty() {
  [[ -d $1 ]] || { printf '  %s: not a directory\n' "$1" >&2; return 1; }
  local left
  left=$(find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -n 5)
  [[ -z $left ]] || { printf '  %s not empty: %s\n' "$1" "$(oneline "$left")" >&2; return 1; }
}
# rc_is WANT: $RC (from run_certmgr) equals WANT; shows stderr otherwise
rc_is() {
  [[ ${RC:-x} == "$1" ]] && return 0
  printf '  exit status %s, expected %s\n' "${RC:-?}" "$1" >&2
  show_run
  return 1
}
# show_run: stdout and stderr of the last run_certmgr, for failure reports
show_run() {
  local f
  for f in "${OUT:-}" "${ERR:-}"; do
    [[ -n $f && -s $f ]] || continue
    printf '  --- %s\n' "$f" >&2
    head -n 20 "$f" | sed 's/^/    | /' >&2
  done
}
# mode_is WANT PATH...: octal permission bits (stat %a) of each PATH (not following symlinks)
mode_is() {
  local want=$1 p m rc=0
  shift
  for p in "$@"; do
    m=$(stat -c %a -- "$p" 2>/dev/null) || { printf '  %s: missing\n' "$p" >&2; rc=1; continue; }
    [[ $m == "$want" ]] || { printf '  %s: mode %s, expected %s\n' "$p" "$m" "$want" >&2; rc=1; }
  done
  return $rc
}
# pubkey_of CERT_OR_KEY_PEM: the public key PEM of a certificate (first block) or private key
pubkey_of() {
  if grep -q -- '-----BEGIN CERTIFICATE-----' "$1" 2>/dev/null; then
    openssl x509 -in "$1" -noout -pubkey 2>/dev/null
  else
    openssl pkey -in "$1" -pubout 2>/dev/null
  fi
}
# tree_hash DIR: one hash over names, types, modes, link targets and file contents under DIR
tree_hash() {
  [[ -e $1 ]] || { echo absent; return 0; }
  (
    cd "$1" || exit 1
    find . -printf '%p %y %m %U:%G %l\n' | LC_ALL=C sort
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
  ) | sha256sum | cut -d' ' -f1
}

# ---------------------------------------------------------------- running certmgr
# run_certmgr TAG ARGS...: runs "$CERTMGR" ARGS with stdin from /dev/null, a hang deadline
# ($CERTMGR_TIMEOUT, default 300 s), stdout/stderr/status into $RUN_DIR/TAG.{out,err,rc}
# (RUN_DIR defaults to $LAB/runs).  Sets RC, OUT, ERR.  Never fails itself.
run_certmgr() {
  local tag=$1
  shift
  local dir=${RUN_DIR:-$LAB/runs}
  mkdir -p "$dir"
  OUT=$dir/$tag.out
  ERR=$dir/$tag.err
  RC=0
  timeout -k 5 "${CERTMGR_TIMEOUT:-300}" "$CERTMGR" "$@" >"$OUT" 2>"$ERR" </dev/null || RC=$?
  printf '%s\n' "$RC" >"$dir/$tag.rc"
  if [[ $RC == 124 ]]; then printf '  certmgr %s: killed after %ss (hang)\n' "$*" "${CERTMGR_TIMEOUT:-300}" >&2; fi
  return 0
}

# ---------------------------------------------------------------- §5 judge
_ck_rc=0
_ck() { printf '  %s: %s\n' "$_ck_where" "$*" >&2; _ck_rc=1; }

# check_cert D NAME KT ROOT [NAMES...]
# (written for few process starts: it runs inside loops of the crash test)
check_cert() {
  local d=$1 name=$2 kt=$3 root=$4
  shift 4
  local dir="$d/$name/$kt" out f
  _ck_where="$name/$kt"
  _ck_rc=0
  for f in "$dir/cert.pem" "$dir/chain.pem" "$dir/keys/key.pem" "$dir/keys/key+cert.pem" "$d/$name/params.pem"; do
    [[ -f $f ]] || _ck "missing ${f#"$d"/}"
  done
  ((_ck_rc)) && return 1

  # 1. chain of trust
  out=$(openssl verify -purpose sslserver -CAfile "$root" -untrusted "$dir/chain.pem" "$dir/cert.pem" 2>&1)
  [[ $out == *": OK" ]] || _ck "openssl verify: $(oneline "$out")"

  # 2. key match and key type
  local cinfo kinfo certpub keypub
  cinfo=$(openssl x509 -in "$dir/cert.pem" -noout -pubkey -subject -startdate \
    -nameopt sep_multiline,sname -ext subjectAltName 2>&1)
  kinfo=$(openssl pkey -in "$dir/keys/key.pem" -pubout -text 2>&1)
  certpub=$(sed -n '/-----BEGIN PUBLIC KEY-----/,/-----END PUBLIC KEY-----/p' <<<"$cinfo")
  keypub=$(sed -n '/-----BEGIN PUBLIC KEY-----/,/-----END PUBLIC KEY-----/p' <<<"$kinfo")
  [[ -n $certpub && $certpub == "$keypub" ]] || _ck "keys/key.pem does not match cert.pem"
  local firstline
  IFS= read -r firstline <"$dir/keys/key.pem"
  [[ $firstline == "-----BEGIN PRIVATE KEY-----" ]] || _ck "keys/key.pem is not an unencrypted PKCS#8 PEM"
  case $kt in
    rsa)
      [[ $kinfo == *"Public-Key: (${CHECK_RSA_BITS:-2048} bit)"* && $kinfo == *"Exponent: 65537"* ]] ||
        _ck "not an RSA ${CHECK_RSA_BITS:-2048} key (exponent 65537)" ;;
    ecdsa)
      [[ $kinfo == *"Public-Key: (${CHECK_EC_BITS:-256} bit)"* &&
        $kinfo == *"ASN1 OID: ${CHECK_EC_CURVE:-prime256v1}"* ]] ||
        _ck "not an EC ${CHECK_EC_CURVE:-prime256v1} key" ;;
    *) _ck "unknown key type $kt" ;;
  esac

  # 3. names: CN = NAME, SAN set = NAMES (lower case, any order)
  local cn="" line sans="" notbefore="" in_san=0
  while IFS= read -r line; do
    case $line in
      "    CN="*) [[ -z $cn ]] && cn=${line#    CN=} ;;
      notBefore=*) notbefore=${line#notBefore=} ;;
      "X509v3 Subject Alternative Name:"*) in_san=1 ;;
      *) if ((in_san)); then sans=$line; in_san=0; fi ;;
    esac
  done <<<"$cinfo"
  [[ $cn == "$name" ]] || _ck "subject CN '$cn', expected '$name'"
  if (($# > 0)); then
    local got want
    got=$(tr ',' '\n' <<<"$sans" | sed 's/^ *//; s/ *$//' | grep -v '^$' | LC_ALL=C sort)
    want=$(printf '%s\n' "$@" | tr '[:upper:]' '[:lower:]' | sed 's/^/DNS:/' | LC_ALL=C sort -u)
    [[ $got == "$want" ]] || _ck "SANs [$(oneline "$got")], expected [$(oneline "$want")]"
  fi

  # 4. bytes: header, leaf, "\n" + chain.pem, "\n" + params.pem; key+cert = key "\n" cert
  local header stamp
  IFS= read -r header <"$dir/cert.pem"
  if [[ ! $header =~ ^(.+)\ issued\ at\ [0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ UTC$ ]]; then
    _ck "cert.pem header line '$header' does not match '<CN> issued at YYYY-MM-DD HH:MM:SS UTC'"
  elif [[ ${BASH_REMATCH[1]} != "$cn" ]]; then
    _ck "cert.pem header names '${BASH_REMATCH[1]}', leaf CN is '$cn'"
  else
    stamp=$(date -u -d "$notbefore" '+%Y-%m-%d %H:%M:%S')
    [[ $header == "$cn issued at $stamp UTC" ]] ||
      _ck "cert.pem header '$header' is not the leaf notBefore ($stamp UTC)"
  fi
  if ! cmp -s "$dir/cert.pem" <(
    printf '%s\n' "$header"
    openssl x509 -in "$dir/cert.pem" 2>/dev/null
    printf '\n'
    cat "$dir/chain.pem"
    if [[ -s $d/$name/params.pem ]]; then printf '\n'; cat "$d/$name/params.pem"; fi
  ); then
    _ck "cert.pem is not header + leaf + \"\\n\" + chain.pem + \"\\n\" + params.pem"
  fi
  # chain.pem: entries (label line = subject CN, PEM) separated by exactly one empty line
  local labels subjects
  labels=$(awk '
    BEGIN { state = "label" }
    state == "label" { if ($0 == "" || $0 ~ /^-----/) { print "BAD line " NR; exit } print; state = "begin"; next }
    state == "begin" { if ($0 != "-----BEGIN CERTIFICATE-----") { print "BAD line " NR; exit } state = "body"; next }
    state == "body" { if ($0 == "-----END CERTIFICATE-----") state = "sep"; else if ($0 !~ /^[A-Za-z0-9+\/=]+$/) { print "BAD line " NR; exit } next }
    state == "sep" { if ($0 != "") { print "BAD line " NR; exit } state = "label"; next }
    END { if (state != "sep" && state != "") print "BAD end" }' "$dir/chain.pem")
  subjects=$(openssl crl2pkcs7 -nocrl -certfile "$dir/chain.pem" 2>/dev/null |
    openssl pkcs7 -print_certs -noout 2>/dev/null | sed -n 's/^subject=.*CN = \([^,]*\).*/\1/p')
  if [[ $labels == *BAD* || -z $labels ]]; then
    _ck "chain.pem is not label+PEM entries separated by one empty line (${labels##*$'\n'})"
  elif [[ $labels != "$subjects" ]]; then
    _ck "chain.pem labels [$(oneline "$labels")] are not the subject CNs [$(oneline "$subjects")]"
  fi
  if [[ -n ${CHECK_INTERMEDIATE:-} ]]; then
    cmp -s <(openssl x509 -in "$dir/chain.pem" -outform DER 2>/dev/null) \
      <(openssl x509 -in "$CHECK_INTERMEDIATE" -outform DER 2>/dev/null) ||
      _ck "first certificate of chain.pem is not Pebble's /intermediates/0"
  fi
  cmp -s "$dir/keys/key+cert.pem" <(cat "$dir/keys/key.pem"; printf '\n'; cat "$dir/cert.pem") ||
    _ck "keys/key+cert.pem != keys/key.pem + \"\\n\" + cert.pem"
  local params
  params=$(<"$d/$name/params.pem")
  [[ $params == *"-----BEGIN DH PARAMETERS-----"* || $params == *"-----BEGIN EC PARAMETERS-----"* ]] ||
    _ck "params.pem holds no DH or EC PARAMETERS block"

  # 5. modes, owners, nothing else in the tree
  local me want mode owner path
  me="$(id -u):$(id -g)"
  while read -r mode owner path; do
    case $path in
      */cert.pem | */chain.pem) want=644 ;;
      */keys) want=750 ;;
      *) want=640 ;;
    esac
    [[ $mode == "$want" ]] || _ck "${path#"$d"/}: mode $mode, expected $want"
    [[ $owner == "$me" ]] || _ck "${path#"$d"/}: owner $owner, expected $me"
  done < <(stat -c '%a %u:%g %n' -- "$dir/cert.pem" "$dir/chain.pem" "$dir/keys" "$dir/keys/key.pem" \
    "$dir/keys/key+cert.pem" "$d/$name/params.pem")
  read -r mode owner < <(stat -L -c '%a %u:%g' -- "$dir")
  [[ $mode == 755 ]] || _ck "$kt/: mode $mode, expected 755"
  read -r mode < <(stat -L -c '%a' -- "$d/$name")
  [[ $mode == 755 ]] || _ck "$name/: mode $mode, expected 755"
  [[ $owner == "$me" ]] || _ck "$kt/: owner $owner, expected $me"
  local extra
  extra=$(find "$dir/" "$dir/keys/" -mindepth 1 -maxdepth 1 ! -path "$dir/cert.pem" ! -path "$dir/chain.pem" \
    ! -path "$dir/keys" ! -path "$dir/cert+root.pem" ! -path "$dir/ocsp.der" ! -path "$dir/scts" \
    ! -path "$dir/keys/key.pem" ! -path "$dir/keys/key+cert.pem" -printf '%P ')
  [[ -z $extra ]] || _ck "unexpected entries: $extra"
  return $_ck_rc
}

# check_link D ALT NAME: <D>/<ALT> is a symlink whose target is exactly NAME, resolving inside D
check_link() {
  local d=$1 alt=$2 name=$3 t r base
  [[ -L $d/$alt ]] || { printf '  %s: not a symlink\n' "$d/$alt" >&2; return 1; }
  t=$(readlink -- "$d/$alt")
  [[ $t == "$name" ]] || { printf '  %s -> %s, expected %s\n' "$d/$alt" "$t" "$name" >&2; return 1; }
  r=$(realpath -e -- "$d/$alt" 2>/dev/null) || { printf '  %s: dangling\n' "$d/$alt" >&2; return 1; }
  base=$(realpath -e -- "$d")
  [[ $r == "$base"/* ]] || { printf '  %s resolves to %s, outside %s\n' "$d/$alt" "$r" "$base" >&2; return 1; }
}
